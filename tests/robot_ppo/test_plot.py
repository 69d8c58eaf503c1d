"""`robot-ppo plot`: the figure's data (read back from matplotlib's Agg figure, not pixels)
for training and fine-tuning runs, and clear errors for what is not a run."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from robot_ppo.cli import main as cli_main
from robot_ppo.errors import UserError
from robot_ppo.finetune.runner import METRIC_COLUMNS as FINETUNE_COLUMNS
from robot_ppo.train.logger import MetricsLogger
from robot_ppo.train.plot import build_figure, plot_run


def _train_run(out: Path, iterations: int) -> Path:
    """metrics.csv as the trainer writes it (its logger), with a value loss that starts high
    (the critic's warm-up) and falls by orders of magnitude."""
    out.mkdir(parents=True, exist_ok=True)
    logger = MetricsLogger(out, tensorboard=False)
    for i in range(1, iterations + 1):
        logger.log({"iteration": i, "env_steps": 2048 * i, "wall_s": float(i),
                    "steps_per_s": 2048.0, "episode_return": 10.0 * i,
                    "episode_length": float("nan") if i == 1 else 50.0,
                    "policy_loss": -0.01, "value_loss": 1000.0 / i ** 3, "entropy": 1.4,
                    "approx_kl": 0.01, "clip_fraction": 0.1, "explained_variance": 0.5,
                    "learning_rate": 1e-3, "updates": 80, "stopped_early": 0})
    logger.close()
    return out


def _finetune_run(out: Path, iterations: int, kl_bound: float | None) -> Path:
    """metrics.csv with the fine-tuning runner's columns (a warm-up row, then iterations) and
    its summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "metrics.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FINETUNE_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerow({"phase": "warmup", "iteration": 0, "robot_steps": 900, "sim_steps": 0,
                         "value_loss": 3.0, "explained_variance": 0.2})
        for it in range(1, iterations + 1):
            writer.writerow({"phase": "policy", "iteration": it, "kl_ref": 0.004 * it,
                             "beta": 0.1, "clip_fraction": 0.05, "value_loss": 1.0 / it,
                             "policy_loss": -0.02, "entropy": 1.0, "is_weight_mean": 1.0,
                             "explained_variance": 0.6, "rollbacks": 0,
                             "approx_kl_prox": 0.002, "robot_steps": 900, "sim_steps": 0})
    if kl_bound is not None:
        (out / "summary.json").write_text(json.dumps({"kl_bound": kl_bound,
                                                      "kl_to_reference": 0.01}))
    return out


def _panel(fig: Any, title: str) -> Any:
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_title() == title]
    assert len(axes) == 1, [ax.get_title() for ax in fig.axes]
    return axes[0]


def _series(ax: Any) -> tuple[list[float], list[float]]:
    line = ax.get_lines()[0]
    return list(map(float, line.get_xdata())), list(map(float, line.get_ydata()))


def test_training_curves_against_env_steps_value_loss_on_a_log_scale(tmp_path: Path) -> None:
    fig = build_figure(_train_run(tmp_path / "run", 5) / "metrics.csv")
    x, y = _series(_panel(fig, "episode return"))
    assert x == [2048.0 * i for i in range(1, 6)] and y == [10.0 * i for i in range(1, 6)]
    value = _panel(fig, "value loss")
    # 1000 → 8: on a linear axis the first point flattens the rest to a line at the bottom
    assert value.get_yscale() == "log"
    assert _series(value)[1] == pytest.approx([1000.0 / i ** 3 for i in range(1, 6)])
    assert {ax.get_xlabel() for ax in fig.axes if ax.get_visible() and ax.get_xlabel()} \
        == {"env steps"}


def test_a_one_iteration_run_draws_its_points(tmp_path: Path) -> None:
    """One row: a line of one point draws nothing, so each value is drawn as a marker; a
    panel with no value yet says so instead of drawing blank axes."""
    fig = build_figure(_train_run(tmp_path / "run", 1) / "metrics.csv")
    ret = _panel(fig, "episode return")
    assert _series(ret) == ([2048.0], [10.0])
    assert ret.get_lines()[0].get_marker() not in ("None", None, "", " ")
    length = _panel(fig, "episode length")  # NaN on the first iteration (no episode ended)
    assert any("no data" in t.get_text() for t in length.texts)


def test_finetune_curves_against_iterations_with_the_kl_bound(tmp_path: Path) -> None:
    fig = build_figure(_finetune_run(tmp_path / "ft", 4, kl_bound=0.05) / "metrics.csv")
    kl = _panel(fig, "KL(π‖π_ref)")
    x, y = _series(kl)
    finite = [(a, b) for a, b in zip(x, y) if not math.isnan(b)]
    assert finite == [(float(i), pytest.approx(0.004 * i)) for i in range(1, 5)]
    bound = [line for line in kl.get_lines()[1:] if set(line.get_ydata()) == {0.05}]
    assert bound and "bound" in (bound[0].get_label() or "")
    labels = {ax.get_xlabel() for ax in fig.axes if ax.get_visible() and ax.get_xlabel()}
    assert labels and all("iteration" in label for label in labels)
    assert "env steps" not in labels
    # the warm-up's value loss (iteration 0) is on the value panel too
    vx, vy = _series(_panel(fig, "value loss"))
    assert vx[0] == 0.0 and vy[0] == 3.0


def test_finetune_without_a_summary_plots_kl_without_a_bound(tmp_path: Path) -> None:
    fig = build_figure(_finetune_run(tmp_path / "ft", 2, kl_bound=None) / "metrics.csv")
    assert len(_panel(fig, "KL(π‖π_ref)").get_lines()) == 1


def test_plot_command_writes_the_png(tmp_path: Path) -> None:
    run = _train_run(tmp_path / "run", 3)
    assert cli_main(["plot", str(run)]) == 0
    assert (run / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("content, words", [
    (bytes(range(256)) * 8, "not a text CSV"),
    (b"iteration,env_steps\n\x00\x00\x00\n", "not a text CSV"),
    (b"", "empty"),
    (b"iteration,env_steps,episode_return\n", "no rows"),
    (b"just,some\n1,2\n", "none of the columns"),
])
def test_a_bad_metrics_file_is_a_one_line_error(tmp_path: Path, content: bytes, words: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_bytes(content)
    assert cli_main(["plot", str(run)]) == 2
    err = capsys.readouterr().err
    assert words in err and "metrics.csv" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (run / "learning_curves.png").exists()


def test_a_missing_run_is_a_clear_error(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["plot", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "does not exist" in err and "robot-ppo train" in err
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(UserError, match=r"no metrics\.csv"):
        plot_run(tmp_path / "empty_dir")
