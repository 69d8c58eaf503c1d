"""How options are written: sections' options by flat name or dotted path, flat or nested
YAML, several values after one flag, a short alias, a positional form, bounds declared on
the fields (robot_ppo/cli_config.py, cli_values.py). No command rewrites its argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_ppo.cli_config import build_parser, parse_config
from robot_ppo.commands.export import ExportConfig
from robot_ppo.errors import UserError
from robot_ppo.finetune.config import FinetuneConfig
from robot_ppo.identify.config import IdentifyConfig
from robot_ppo.train.config import TrainConfig


def _train(*argv: str) -> TrainConfig:
    return parse_config(TrainConfig, list(argv), "robot-ppo train", "")


def test_a_sections_option_by_flat_name_or_path() -> None:
    assert _train("--lr", "2e-4").ppo.lr == 2e-4
    assert _train("--set", "lr=2e-4").ppo.lr == 2e-4
    assert _train("--set", "ppo.lr=2e-4").ppo.lr == 2e-4
    with pytest.raises(UserError, match=r"unknown option 'run\.lr'"):
        _train("--set", "run.lr=2e-4")


def test_config_files_flat_or_nested(tmp_path: Path) -> None:
    flat, nested = tmp_path / "flat.yaml", tmp_path / "nested.yaml"
    flat.write_text("lr: 0.0002\nhidden: [32, 32]\nenvs: 4\n")
    nested.write_text("ppo: {lr: 0.0002}\nmodel:\n  hidden: 32,32\nrun.envs: 4\n")
    for path in (flat, nested):
        config = _train("--config", str(path))
        assert (config.ppo.lr, config.model.hidden, config.run.envs) == (2e-4, (32, 32), 4)
    # the flag wins over the file
    assert _train("--config", str(nested), "--lr", "1e-4").ppo.lr == 1e-4
    bad = tmp_path / "bad.yaml"
    bad.write_text("ppo: {lrr: 0.1}\n")
    with pytest.raises(UserError, match="unknown option 'lrr'"):
        _train("--config", str(bad))


def test_bounds_and_rules_name_the_option() -> None:
    with pytest.raises(UserError, match=r"--envs must be >= 1 \(got '0'\)"):
        _train("--envs", "0")
    with pytest.raises(UserError, match=r"--gamma must be in \(0, 1\]"):
        _train("--gamma", "1.5")
    with pytest.raises(UserError, match=r"\(in --set\)"):
        _train("--set", "epochs=0")
    with pytest.raises(UserError, match="must be below --init-std"):
        _train("--std-final", "2")
    # a rule a later layer satisfies is no error: it holds for the final config only
    assert _train("--set", "std_final=1.5", "--init-std", "2").model.std_final == 1.5


def test_help_groups_the_sections() -> None:
    text = build_parser(TrainConfig, "robot-ppo train", "").format_help()
    for title in ("environment options:", "model options:", "ppo options:", "run options:"):
        assert title in text
    assert "(must be in (0, 1]) (default: 0.99)" in " ".join(text.split())


def test_several_values_after_one_flag() -> None:
    for cls in (FinetuneConfig, IdentifyConfig):
        config = parse_config(cls, ["--rollouts", "a", "b,c", "--seed", "3"], "p", "")
        assert config.rollouts == ("a", "b", "c") and config.seed == 3
        assert parse_config(cls, ["--rollouts", "a,b"], "p", "").rollouts == ("a", "b")


def test_short_alias_and_positional() -> None:
    config = parse_config(ExportConfig, ["ck.pt", "-o", "x.onnx", "--no-sim"], "p", "")
    assert (config.checkpoint, config.output, config.no_sim) == (Path("ck.pt"),
                                                                 Path("x.onnx"), True)
    flags = parse_config(ExportConfig, ["--checkpoint", "a.pt", "--output", "y.onnx"], "p", "")
    assert (flags.checkpoint, flags.output) == (Path("a.pt"), Path("y.onnx"))
    assert parse_config(IdentifyConfig, ["-o", "d.yaml"], "p", "").output == "d.yaml"
