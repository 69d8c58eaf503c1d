"""`robot-ppo adapt` end to end on the real stack: `robot-ppo serve --robot cartpole
--dynamics shifted --reset-after-disable` behind a pty is the robot, every episode a real
`robot-ppo run --explore --log-dir` over the serial protocol, each round a real fine-tuning
leashed to the reference and a real export. And its refusals of bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from robot_ppo.spec import load_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLI = [sys.executable, "-m", "robot_ppo.cli"]
BALANCING_GAINS = (1.0, 8.0, 3.0, 3.0)
"""a = K·obs (cart position, pole angle, their rates) keeps the pole up on the shifted
cartpole for seconds: a small reference that needs no training, with std 1."""
LOADED_MACHINE = ("rt_priority=0,cpu=-2,standby_s=0.1,damping_s=0.2,rate_margin=20,"
                  "link_timeout_ms=600")
"""Runtime options for a shared 2-core test machine (no SCHED_FIFO, a lenient link)."""


def reference_checkpoint(path: Path) -> Path:
    from robot_ppo.algo.actor_critic import ActorCritic
    from robot_ppo.train.checkpoint import save_checkpoint

    spec = load_spec("cartpole")
    model = ActorCritic(4, 1, hidden=())
    with torch.no_grad():
        model.mu.weight[:] = torch.tensor(BALANCING_GAINS)
        model.mu.bias.zero_()
        model.log_std.zero_()
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(path, model=model.eval(), optimizer=None,
                           config={"gamma": 0.98, "gae_lambda": 0.95}, env_id=spec.gym_id,
                           spec=spec.to_dict(), spec_hash=spec.spec_hash, action_low=[-1.0],
                           action_high=[1.0], env_steps=0, iteration=0)


@contextmanager
def shifted_robot(seed: int = 7, extra: tuple[str, ...] = ()) -> Iterator[str]:
    """`robot-ppo serve` on a pty; yields the port it prints on its first line."""
    proc = subprocess.Popen(
        [*CLI, "serve", "--robot", "cartpole", "--port", "pty", "--dynamics", "shifted",
         "--seed", str(seed), "--watchdog-ms", "500", "--reset-after-disable", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def adapt(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "adapt", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_two_rounds_on_the_shifted_virtual_robot(tmp_path: Path) -> None:
    ref = reference_checkpoint(tmp_path / "reference" / "checkpoint.pt")
    out = tmp_path / "adapt"
    with shifted_robot() as port:
        res = adapt("--checkpoint", str(ref), "--port", port, "--out", str(out),
                    "--rounds", "2", "--episodes", "2", "--explore", "0.4", "--duration", "1.5",
                    "--start-timeout-s", "5", "--iterations", "2", "--value-warmup-epochs", "5",
                    "--kl-bound", "0.05", "--run-set", LOADED_MACHINE)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]

    rows = list(csv.DictReader((out / "rounds.csv").read_text().splitlines()))
    assert [r["round"] for r in rows] == ["1", "2", "3"]  # round 3: the final check
    assert [r["policy"] for r in rows] == ["reference", "round_1", "round_2"]
    for row in rows:
        assert int(row["episodes"]) == 2 and float(row["robot_s"]) > 1.0
        assert float(row["mean_return"]) > 0
    for row in rows[:2]:
        assert float(row["kl_to_reference"]) <= 0.05
        assert row["status"] in ("accepted", "rolled back")
    assert rows[2]["status"] == "final check"

    for r in (1, 2):
        rdir = out / f"round_{r}"
        assert (rdir / "policy.onnx").is_file() and (rdir / "finetune" / "checkpoint.pt").is_file()
        summary = json.loads((rdir / "summary.json").read_text())
        assert summary["row"]["status"] == rows[r - 1]["status"]
        assert len(summary["logged"]) == 2
    assert any((out / "round_3" / "logs").iterdir())

    # the final files are the last accepted round's (the reference if none was)
    accepted = [r for r in (1, 2) if rows[r - 1]["status"] == "accepted"]
    source = (out / f"round_{accepted[-1]}" / "policy.onnx") if accepted else \
        (out / "reference" / "policy.onnx")
    assert (out / "policy.onnx").read_bytes() == source.read_bytes()
    run = json.loads((out / "summary.json").read_text())
    assert run["state"] == "done"
    assert run["accepted"] == (f"round_{accepted[-1]}" if accepted else "reference")
    # the round's fine-tuning was leashed to the reference, whatever it started from
    lineage = torch.load(out / "round_2" / "finetune" / "checkpoint.pt",
                         weights_only=False)["lineage"]
    assert Path(lineage["parent"]) == ref


def test_a_robot_fault_stops_adapt_and_keeps_what_was_written(tmp_path: Path) -> None:
    """The virtual controller stops answering mid-episode (a dead link): the runtime
    safe-stops with a fault, adapt ends its collection, writes the table and exits 1; the
    final files are the reference's, the only accepted policy."""
    ref = reference_checkpoint(tmp_path / "reference" / "checkpoint.pt")
    out = tmp_path / "adapt"
    with shifted_robot(extra=("--stall-after", "60")) as port:
        res = adapt("--checkpoint", str(ref), "--port", port, "--out", str(out),
                    "--rounds", "2", "--episodes", "3", "--explore", "0.4", "--duration", "3",
                    "--start-timeout-s", "5", "--run-set", LOADED_MACHINE)
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]
    rows = list(csv.DictReader((out / "rounds.csv").read_text().splitlines()))
    assert len(rows) == 1 and rows[0]["status"] == "stopped: fault"
    assert int(rows[0]["episodes"]) == 1  # what it logged before the fault is kept
    assert not (out / "round_1" / "finetune").exists()  # no fine-tuning after a fault
    assert (out / "policy.onnx").read_bytes() == \
        (out / "reference" / "policy.onnx").read_bytes()
    assert (out / "checkpoint.pt").read_bytes() == ref.read_bytes()
    assert json.loads((out / "summary.json").read_text())["state"].startswith(
        "stopped in round 1: fault")


def _adapt_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from robot_ppo.cli import main

    capsys.readouterr()
    rc = main(["adapt", *args])
    return rc, capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--checkpoint", "missing/checkpoint.pt", "--port", "/dev/null"], "does not exist"),
    (["--port", "/dev/null"], "--checkpoint is required"),
    (["--checkpoint", "REF"], "--port is required"),
    (["--checkpoint", "REF", "--port", "/dev/null", "--rounds", "0"], "--rounds 0"),
    (["--checkpoint", "REF", "--port", "/dev/null", "--explore", "0"], "--explore 0"),
    (["--checkpoint", "REF", "--port", "/dev/null", "--kl-bound", "0"], "--kl-bound"),
    (["--checkpoint", "REF", "--port", "/dev/null", "--out", "REFDIR"],
     "holds the reference checkpoint"),
    (["--checkpoint", "REF", "--port", "/dev/null", "--run-set", "explore=1"],
     "adapt sets it"),
    (["--checkpoint", "REF", "--port", "/dev/null", "--run-set", "bogus=1"], "unknown option"),
    (["--checkpoint", "REF", "--port", "/dev/null", "--set", "rollouts=x"], "unknown option"),
])
def test_bad_input_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     args: list[str], message: str) -> None:
    ref = reference_checkpoint(tmp_path / "ref" / "checkpoint.pt")
    args = [str(ref) if a == "REF" else str(ref.parent) if a == "REFDIR" else a for a in args]
    rc, err = _adapt_in_process(capsys, *args, "--out", str(tmp_path / "out")) \
        if "--out" not in args else _adapt_in_process(capsys, *args)
    assert rc == 2, err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in ref.parent.iterdir()) == ["checkpoint.pt"]
    assert not (tmp_path / "out").exists()


def test_a_non_empty_out_is_refused_without_overwrite(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = reference_checkpoint(tmp_path / "ref" / "checkpoint.pt")
    out = tmp_path / "out"
    out.mkdir()
    (out / "rounds.csv").write_text("round\n")
    rc, err = _adapt_in_process(capsys, "--checkpoint", str(ref), "--port", "/dev/null",
                                "--out", str(out))
    assert rc == 2 and "already holds files" in err
    assert (out / "rounds.csv").read_text() == "round\n"
