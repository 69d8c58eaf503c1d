"""`robot-ppo adapt`: rounds of fine-tuning on the robot, each judged there, with rollback.

The CLI layer composes the rounds (robot_ppo/adapt/rounds.py) with what needs the simulator
or torch: the task's reward for logged states, `robot-ppo export`, and `robot-ppo
finetune`'s run_finetune leashed to the reference. Collection is `robot-ppo run` itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from robot_ppo.errors import UserError, require

DESCRIPTION = """\
Adapt a sim-trained policy to the robot in rounds: each round collects --episodes episodes
on the robot with `robot-ppo run --explore SCALE --log-dir` (the runtime's limits, standby
and safe stop), fine-tunes with the KL leash to the ORIGINAL reference checkpoint (as
`robot-ppo finetune`; its options are accepted here under the same names), and exports the
result, which the next round collects with. A round whose policy returns less on the robot
than the last accepted one (judged on the next round's own logged episodes) is rolled back:
the next fine-tuning starts again from the last accepted checkpoint. OUT/rounds.csv is the
running table (also printed); OUT/policy.onnx and OUT/checkpoint.pt are the last accepted
policy. A fault reported by the robot, a refused start or an operator stop ends adapt with
exit 1, keeping what was written. See docs/adapt.md.

examples:
  robot-ppo adapt --checkpoint runs/cartpole/checkpoint.pt --port /dev/ttyACM0 --out runs/adapt
  robot-ppo adapt --checkpoint ck.pt --port /dev/ttyACM0 --rounds 4 --episodes 12 \\
      --explore 0.5 --kl-bound 0.05 --window 2 --out runs/adapt-day2
"""

OWNED_RUN_KEYS = ("policy", "port", "protocol", "log_dir", "explore", "seed", "duration",
                  "start_timeout_s", "stats_file")
"""`robot-ppo run` options adapt sets itself for every episode (not allowed in --run-set)."""


def validate(cfg: Any) -> None:
    """Range-check the options before anything is read or any port opened."""
    from robot_ppo.commands.finetune import option_checks

    checks = [
        (cfg.checkpoint is not None, "--checkpoint is required (the reference checkpoint)"),
        (bool(cfg.port), "--port is required (the robot's motor controller, as for run)"),
        (cfg.rounds >= 1, f"--rounds {cfg.rounds}: must be >= 1"),
        (cfg.episodes >= 1, f"--episodes {cfg.episodes}: must be >= 1"),
        (cfg.explore > 0, f"--explore {cfg.explore:g}: must be > 0 (fine-tuning needs the "
                          "exploring episodes' log-probabilities)"),
        (cfg.duration > 0, f"--duration {cfg.duration:g}: must be > 0 seconds"),
        (cfg.start_timeout_s >= 0, "--start-timeout-s must be >= 0"),
        (cfg.window >= 0, f"--window {cfg.window}: must be >= 0 (0 = all rounds)"),
        (cfg.rollback_tolerance >= 0, "--rollback-tolerance must be >= 0"),
        *option_checks(cfg),
    ]
    require(checks)
    if not Path(cfg.checkpoint).is_file():
        what = "is a directory" if Path(cfg.checkpoint).is_dir() else "does not exist"
        raise UserError(f"--checkpoint {str(cfg.checkpoint)!r} {what}; give the reference's "
                        "checkpoint.pt (written by robot-ppo train).")
    check_run_set(cfg)


def check_run_set(cfg: Any) -> None:
    """--run-set pairs must be `robot-ppo run` options adapt does not set itself."""
    from deploy.runtime_config import RunConfig
    from robot_ppo.cli_config import apply_overrides

    pairs: dict[str, str] = {}
    for item in cfg.run_set:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise UserError(f"--run-set {item!r}: expected KEY=VALUE (a robot-ppo run option)")
        if key in OWNED_RUN_KEYS:
            raise UserError(f"--run-set {key}: adapt sets it for every episode; use adapt's "
                            "own option (--port, --protocol, --explore, --duration, "
                            "--start-timeout-s, --seed) instead.")
        pairs[key] = value.strip()
    apply_overrides(RunConfig(port=cfg.port), pairs, "--run-set (robot-ppo run options)")


def _reference(path: Path) -> dict[str, Any]:
    """The reference checkpoint, refused now (before any robot time) if fine-tuning could
    not use it."""
    from robot_ppo.finetune.runner import check_model
    from robot_ppo.train.checkpoint import build_model, load_checkpoint

    ckpt = load_checkpoint(path)
    if ckpt.get("spec") is None or ckpt.get("spec_hash") is None:
        raise UserError(f"checkpoint {str(path)!r} was trained on a gymnasium env "
                        f"({ckpt.get('env_id')}) without a robot spec; only robot policies "
                        "can be adapted on a robot.")
    check_model(build_model(ckpt))
    return ckpt


def _stack(cfg: Any, ckpt: dict[str, Any], ref: Path) -> Any:
    from robot_ppo.adapt.rounds import Stack
    from robot_ppo.commands import export
    from robot_ppo.commands.finetune import task_score_fn
    from robot_ppo.finetune.runner import run_finetune
    from robot_ppo.spec import spec_from_dict
    from robot_ppo.train.checkpoint import load_checkpoint

    spec = spec_from_dict(ckpt["spec"], origin=f"{ref} (spec)")
    score = task_score_fn(spec)
    collector = None
    if cfg.sim_mix > 0:
        import sim
        from robot_ppo.finetune.sim_rollouts import SimCollector
        collector = SimCollector(sim.make_env(spec, dynamics=cfg.sim_dynamics), seed=cfg.seed)

    def do_export(checkpoint: Path, onnx: Path) -> None:
        export.main(["--checkpoint", str(checkpoint), "--output", str(onnx),
                     "--no-sim", "true"])

    def do_finetune(data: Any, ft_cfg: Any, out_dir: Path, start: Path | None) -> Any:
        begin = (load_checkpoint(start), start) if start is not None else None
        return run_finetune(ckpt, ref, data, score, ft_cfg, out_dir, sim_collector=collector,
                            log=lambda s: print(f"  {s}", flush=True), start=begin)

    return Stack(score=score, control_hz=spec.rates.control_hz, spec_hash=ckpt["spec_hash"],
                 export=do_export, finetune=do_finetune,
                 log=lambda s: print(s, flush=True))


def main(argv: list[str]) -> int:
    from robot_ppo.adapt.config import AdaptConfig
    from robot_ppo.cli_config import parse_config

    cfg = parse_config(AdaptConfig, argv, "robot-ppo adapt", DESCRIPTION)
    validate(cfg)
    from robot_ppo.run_dir import check_run_dir, fresh_run_dir, prepare_run_dir

    assert cfg.checkpoint is not None  # validate() refused a missing one
    ref = Path(cfg.checkpoint)
    out = Path(cfg.out) if cfg.out is not None else fresh_run_dir(
        Path("runs") / f"adapt-{time.strftime('%Y%m%d-%H%M%S')}")
    why = f"it holds the reference checkpoint {str(ref)!r}, which adapt keeps frozen"
    rule: dict[str, Any] = {
        "overwrite": cfg.overwrite, "inputs": [ref], "forbidden": ref.parent,
        "forbidden_why": why,
        "ways_out": "choose a new --out, or replace that run with --overwrite"}
    check_run_dir(out, **rule)  # before the checkpoint is read: a refusal changes nothing
    ckpt = _reference(ref)
    stack = _stack(cfg, ckpt, ref)
    prepare_run_dir(out, **rule)
    from robot_ppo.adapt.rounds import Rounds

    return Rounds(cfg, ref, out, stack).run()
