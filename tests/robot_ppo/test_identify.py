"""`robot-ppo identify`, fast tier: logs recorded in-process from the real PyBullet plant
(`sim.plant.PyBulletPlant`, the one `serve` runs) through `RolloutWriter`, with the device
timing of `serve` in real time (reply) or `serve --lockstep`; replay, probe, fit, file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from robot_ppo.action import ActionMapping
from robot_ppo.cli import main as cli_main
from robot_ppo.identify.params import parse_params
from robot_ppo.identify.replay import Replayer
from robot_ppo.identify.segments import Timing, build_replay_set
from robot_ppo.observation import ObservationBuilder
from robot_ppo.rollout_format import RolloutWriter, read_rollouts
from robot_ppo.spec import load_spec
from robot_ppo.state import RobotState

TRUE = {"mass_scale": 1.3, "joint_damping": 0.06}
GAINS = np.array([1.0, 8.0, 3.0, 3.0])  # a = GAINS · obs balances the cartpole


def record(log_dir: Path, dynamics: dict, timing: str, steps: int, seed: int = 1,
           noise: float = 0.4, robot: str = "cartpole") -> None:
    """One logged episode on the plant: the cartpole under a noisy linear balancing
    controller, another robot under noise around its default pose.

    reply: the state logged with command c_k is the one measured when c_{k−1} arrived, so
    the period after it is driven by c_{k−1} (serve in real time); lockstep: by c_k."""
    from firmware_bridge.messages import JointCommand
    from sim.plant import PyBulletPlant

    spec = load_spec(robot)
    mapping, builder = ActionMapping(spec), ObservationBuilder(spec)
    plant = PyBulletPlant(spec, dynamics, seed=seed)
    writer = RolloutWriter(log_dir, spec, {"note": "test"}, explore=True,
                           backpressure="block")
    rng = np.random.default_rng(seed)
    writer.mark_episode("start", "test")
    prev = None
    last = np.zeros(1)
    try:
        for _ in range(steps):
            r = plant.read()
            state = RobotState(r.t, r.q.copy(), r.qd.copy(), r.tau.copy())
            obs = builder.build(state, None, last)
            mean = np.array([GAINS @ obs]) if robot == "cartpole" else np.zeros(spec.act_dim)
            action = mean + noise * rng.standard_normal(spec.act_dim)
            cmd = mapping.to_command(mapping.targets(action))
            writer.append(r.t, state, obs, cmd, action.astype(np.float32), 0.0,
                          np.full(spec.act_dim, noise), 0, action_mean=mean)
            last = np.clip(action, -1.0, 1.0)
            wire = JointCommand(cmd.mode, cmd.q, cmd.qd, cmd.tau, cmd.kp, cmd.kd)
            plant.step(prev if (timing == "reply" and prev is not None) else wire)
            prev = wire
    finally:
        writer.mark_episode("stop", "end of test")
        writer.close()
        plant.close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for timing in ("reply", "lockstep"):
        d = tmp_path_factory.mktemp(f"logs_{timing}")
        record(d, {"base": "nominal", "ranges": TRUE}, timing, steps=121)
        out[timing] = d
    return out


def _rms(replayer: Replayer, values: dict) -> float:
    e = replayer.window_errors(values)
    n = e.size * replayer.data.horizon * len(replayer.data.dims)
    return float(np.sqrt(e.sum() / n))


@pytest.mark.parametrize("timing", ["reply", "lockstep"])
def test_replay_with_the_true_dynamics_reproduces_the_logs(logs: dict[str, Path],
                                                           timing: Timing) -> None:
    spec = load_spec("cartpole")
    data = build_replay_set(read_rollouts(logs[timing]).episodes, spec, 10, timing, 0)
    assert len(data.windows) == 12 - (timing == "reply")
    replayer = Replayer(spec, data)
    try:
        exact, nominal = _rms(replayer, TRUE), _rms(replayer, {})
    finally:
        replayer.close()
    assert exact < 1e-6, exact  # same plant, same commands: only float64 noise remains
    assert nominal > 0.05, nominal
    other: Timing = "lockstep" if timing == "reply" else "reply"
    wrong = build_replay_set(read_rollouts(logs[timing]).episodes, spec, 10, other, 0)
    replayer = Replayer(spec, wrong)
    try:
        assert _rms(replayer, TRUE) > 100 * exact + 1e-3, "the timing must matter"
    finally:
        replayer.close()


def test_probe_keeps_what_the_logs_inform(logs: dict[str, Path]) -> None:
    from robot_ppo.identify.runner import probe

    spec = load_spec("cartpole")
    data = build_replay_set(read_rollouts(logs["reply"]).episodes, spec, 10, "reply", 0)
    params = parse_params(spec, "")
    names = [p.name for p in params]
    assert "obs_latency_s" not in names and "gyro_bias_x" not in names
    replayer = Replayer(spec, data, max_latency_s=0.05)
    try:
        sens = probe(replayer, params)
    finally:
        replayer.close()
    # no ground contact and torque control: friction and the PD gain scales change nothing
    for name in ("friction", "kp_scale", "kd_scale"):
        assert sens[name] < 1e-9, (name, sens[name])
    for name in ("mass_scale", "joint_damping", "action_latency_s"):
        assert sens[name] > 1e-2, (name, sens[name])


def _identify(logs: Path, out: Path, *extra: str) -> int:
    return cli_main(["identify", "--rollouts", str(logs), "-o", str(out), *extra])


def test_identify_fits_and_writes_a_loadable_deterministic_file(
        logs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--params", "mass_scale,joint_damping", "--evaluations", "60", "--seed", "3"]
    assert _identify(logs["reply"], tmp_path / "a.yaml", *args) == 0
    printed = capsys.readouterr().out
    assert "prediction error" in printed and "mass_scale" in printed
    report = json.loads((tmp_path / "a.report.json").read_text())
    est = {p["name"]: p["estimate"] for p in report["params"]}
    assert abs(est["mass_scale"] - TRUE["mass_scale"]) < 0.06, est
    assert abs(est["joint_damping"] - TRUE["joint_damping"]) < 0.01, est
    err = report["error"]
    assert err["identified"]["normalized_rms"] < 0.3 * err["nominal"]["normalized_rms"]
    from sim.dynamics import resolve_dynamics
    dset = resolve_dynamics(load_spec("cartpole"), str(tmp_path / "a.yaml"))
    for p in report["params"]:
        lo, hi = dset.ranges[p["name"]]
        assert [lo, hi] == pytest.approx(p["range"], rel=1e-5)
        assert lo < p["estimate"] < hi
        assert hi - lo == pytest.approx(2 * max(p["estimate"] - p["interval_95"][0],
                                                p["interval_95"][1] - p["estimate"],
                                                p["population_std"]), rel=1e-4)
    assert dset.ranges["friction"] == (1.0, 1.0) and dset.drift is None  # base: nominal
    # an existing file needs --overwrite; the same inputs and seed give the same file, also
    # when two worker processes replay the candidates
    assert _identify(logs["reply"], tmp_path / "a.yaml", *args) == 2
    assert "exists" in capsys.readouterr().err
    assert _identify(logs["reply"], tmp_path / "b.yaml", *args, "--workers", "2") == 0
    assert (tmp_path / "b.yaml").read_text() == (tmp_path / "a.yaml").read_text()


def _error(capsys: pytest.CaptureFixture[str], rc: int) -> str:
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_bad_input_is_one_clear_line(logs: dict[str, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.yaml"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no run found" in _error(capsys, _identify(empty, out))
    err = _error(capsys, _identify(logs["reply"], out, "--robot", "arm"))
    assert "another robot" in err and load_spec("arm").spec_hash in err
    err = _error(capsys, _identify(logs["reply"], out, "--params", "mass_scal"))
    assert "unknown parameter 'mass_scal'" in err and "joint_damping" in err
    err = _error(capsys, _identify(logs["reply"], out, "--params", "gyro_bias_x"))
    assert "sensors only" in err
    err = _error(capsys, _identify(logs["reply"], out, "--params", "payload_kg"))
    assert "payload_kg=LOW:HIGH" in err
    err = _error(capsys, _identify(logs["reply"], out, "--params", "mass_scale=2:1"))
    assert "LOW < HIGH" in err
    err = _error(capsys, _identify(logs["reply"], out, "--horizon", "500"))
    assert "no stretch of" in err and "--horizon" in err
    err = _error(capsys, cli_main(["identify", "-o", str(out)]))
    assert "--rollouts is required" in err
    assert not out.exists()


def test_floating_base_logs_are_refused(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    spec = load_spec("quadruped")
    writer = RolloutWriter(tmp_path / "q", spec, {}, backpressure="block")
    writer.mark_episode("start")
    n = spec.n_joints
    from robot_ppo.action import JointCommand
    for k in range(30):
        st = RobotState(k / 50, np.zeros(n), np.zeros(n), np.zeros(n),
                        np.array([0.0, 0.0, 0.0, 1.0]), np.zeros(3))
        writer.append(k / 50, st, np.zeros(ObservationBuilder(spec).obs_dim),
                      JointCommand.zeros(n), np.zeros(spec.act_dim, dtype=np.float32))
    writer.close()
    err = _error(capsys, _identify(tmp_path / "q", tmp_path / "d.yaml", "--params",
                                   "mass_scale"))
    assert "floating base" in err


def test_written_file_is_read_by_resolve_dynamics(tmp_path: Path) -> None:
    from robot_ppo.identify.dynamics_file import FittedRange, write_dynamics
    from sim.dynamics import resolve_dynamics

    spec = load_spec("cartpole")
    path = tmp_path / "dyn.yaml"
    write_dynamics(path, spec, [FittedRange("mass_scale", 1.31, 1.25, 1.37)], "randomized",
                   ["a header line"])
    assert yaml.safe_load(path.read_text())["base"] == "randomized"
    dset = resolve_dynamics(spec, str(path))
    assert dset.ranges["mass_scale"] == (1.25, 1.37)
    assert dset.drift is not None  # the randomized base keeps its drift


def test_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main(["identify", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--rollouts", "--checkpoint", "--params", "--evaluations", "--bootstrap",
                 "--timing", "--workers", "--seed"):
        assert flag in out


def test_without_cmaes_the_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "cmaes", None)  # `import cmaes` fails as if absent
    err = _error(capsys, _identify(tmp_path, tmp_path / "d.yaml"))
    assert "'cmaes'" in err and "[tune]" in err
    assert list(tmp_path.iterdir()) == []
