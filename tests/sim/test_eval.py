"""`robot-ppo eval`: JSON summary, video, and a clear refusal for the wrong robot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.commands import eval as eval_cmd
from robot_ppo.errors import UserError
from robot_ppo.observation import observation_layout
from robot_ppo.spec import load_spec
from robot_ppo.train.checkpoint import save_checkpoint


def _checkpoint(tmp_path: Path) -> Path:
    robot = "cartpole"
    spec = load_spec(robot)
    model = ActorCritic(4, spec.act_dim)  # cartpole: q, qd of two joints
    return save_checkpoint(tmp_path / "ck.pt", model=model, optimizer=None, config={},
                           env_id=spec.gym_id, env_kwargs={"spec": robot}, spec=spec.to_dict(),
                           spec_hash=spec.spec_hash, action_low=[-1.0] * spec.act_dim,
                           action_high=[1.0] * spec.act_dim, env_steps=0, iteration=0)


def test_eval_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ck = _checkpoint(tmp_path)
    video = tmp_path / "out.gif"
    assert eval_cmd.main(["--checkpoint", str(ck), "--episodes", "2", "--dynamics", "shifted",
                          "--json", "--video", str(video)]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["episodes"] == 2 and out["dynamics"] == "shifted"
    assert {"mean_return", "std_return", "mean_length"} <= set(out)
    assert out["mean_length"] > 0 and video.stat().st_size > 0
    # per-episode lengths (falls are counted from them) agree with the mean
    assert len(out["lengths"]) == 2 and all(1 <= n <= out["max_length"] for n in out["lengths"])
    assert sum(out["lengths"]) / 2 == pytest.approx(out["mean_length"])


def test_eval_on_another_robot_is_refused(tmp_path: Path) -> None:
    ck = _checkpoint(tmp_path)
    with pytest.raises(UserError) as err:
        eval_cmd.main(["--checkpoint", str(ck), "--robot", "arm", "--episodes", "1"])
    msg = str(err.value)
    assert "cartpole" in msg and "arm" in msg and "spec hash" in msg and "obs dim" in msg
    assert load_spec("cartpole").spec_hash[:16] in msg and load_spec("arm").spec_hash[:16] in msg


def test_eval_needs_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        eval_cmd.main(["--checkpoint", str(tmp_path / "missing.pt")])


def test_eval_carries_a_recurrent_policys_state(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A GRU policy is evaluated step by step with its hidden state carried, not reset."""
    import numpy as np
    import torch

    import sim
    from robot_ppo.algo.recurrent import RecurrentActorCritic

    spec = load_spec("cartpole")
    torch.manual_seed(3)
    model = RecurrentActorCritic(4, spec.act_dim, rnn_hidden=16)
    ck = save_checkpoint(tmp_path / "gru.pt", model=model, optimizer=None, config={},
                         env_id=spec.gym_id, env_kwargs={}, spec=spec.to_dict(),
                         spec_hash=spec.spec_hash, action_low=[-1.0], action_high=[1.0],
                         env_steps=0, iteration=0)
    assert eval_cmd.main(["--checkpoint", str(ck), "--episodes", "1", "--dynamics", "nominal",
                          "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    env = sim.make_env(spec, dynamics="nominal")
    obs, _ = env.reset(seed=0)
    h, total, done = model.zero_state(1), 0.0, False
    with torch.no_grad():
        while not done:
            mean, _, h = model.step_raw(torch.as_tensor(obs)[None], h)
            obs, r, term, trunc, _ = env.step(np.clip(mean[0].numpy(), -1.0, 1.0))
            total, done = total + float(r), term or trunc
    env.close()
    assert out["mean_return"] == pytest.approx(total)


@pytest.mark.parametrize("noise", ["white", "lowpass"])
def test_eval_stochastic_samples_as_training_does(tmp_path: Path, noise: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """--stochastic runs mean + σ·ε with the checkpoint's own noise process, seeded by --seed;
    without it the mean runs."""
    import numpy as np
    import torch

    import sim
    from robot_ppo.algo.noise import make_noise

    spec = load_spec("cartpole")
    torch.manual_seed(5)
    model = ActorCritic(4, spec.act_dim, init_std=0.8)
    config = {"noise": noise, "noise_beta": 0.9}
    ck = save_checkpoint(tmp_path / "ck.pt", model=model, optimizer=None, config=config,
                         env_id=spec.gym_id, env_kwargs={}, spec=spec.to_dict(),
                         spec_hash=spec.spec_hash, action_low=[-1.0], action_high=[1.0],
                         env_steps=0, iteration=0)

    def evaluate(*extra: str) -> dict:
        assert eval_cmd.main(["--checkpoint", str(ck), "--episodes", "2", "--seed", "7",
                              "--json", *extra]) == 0
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    sampled, mean_only = evaluate("--stochastic", "true"), evaluate()
    assert sampled["stochastic"] is True and mean_only["stochastic"] is False

    def by_hand(stochastic: bool) -> list[float]:
        eps = make_noise(noise, 1, spec.act_dim, 0.9, np.random.default_rng(7))
        env, returns = sim.make_env(spec, dynamics="nominal"), []
        for ep in range(2):
            obs, _ = env.reset(seed=7 + ep)
            eps.reset(np.ones(1, dtype=bool))
            total, done = 0.0, False
            while not done:
                with torch.no_grad():
                    o = torch.as_tensor(obs, dtype=torch.float32)[None]
                    a = model.actor_mean(o)[0].numpy()
                    if stochastic:
                        a = a + model.action_std(o)[0].numpy() * eps.sample()[0]
                obs, r, term, trunc, _ = env.step(np.clip(a, -1.0, 1.0))
                total, done = total + float(r), term or trunc
            returns.append(round(total, 4))
        env.close()
        return returns

    assert sampled["returns"] == pytest.approx(by_hand(True))
    assert mean_only["returns"] == pytest.approx(by_hand(False))
    assert sampled["returns"] != mean_only["returns"]


@pytest.mark.parametrize("args, one_line", [(["--json"], True), (["--json", "true"], True),
                                            (["--json", "false"], False),
                                            (["--json", "--seed", "0"], True)])
def test_json_alone_or_with_a_value(tmp_path, capsys, args, one_line):
    """`--json` as a flag and `--json BOOL` (what --help shows) both parse."""
    ck = _checkpoint(tmp_path)
    assert eval_cmd.main(["--checkpoint", str(ck), "--episodes", "1", *args]) == 0
    out = capsys.readouterr().out.strip()
    assert (len(out.splitlines()) == 1) is one_line
    assert json.loads(out)["episodes"] == 1


def test_a_spec_differing_only_in_reward_params_scores_with_its_own(tmp_path, capsys):
    """A policy trained with a shaping term and another tracking width (a derived spec) is
    scored by the task's own reward with `--robot quadruped`; the same weights on the
    built-in spec score the same. Any other difference is still refused."""
    spec = load_spec("quadruped")
    shaped = spec.to_dict()
    shaped["name"] = "quadruped_shaped"
    shaped["task"]["params"]["reward_weights"]["feet_air_time"] = 1.0
    shaped["task"]["params"]["tracking_sigma"] = 0.1
    model = ActorCritic(len(observation_layout(spec)), spec.act_dim, hidden=(16,))

    def ck(name: str, data: dict) -> Path:
        return save_checkpoint(tmp_path / name, model=model, optimizer=None, config={},
                               env_id=spec.gym_id, env_kwargs={}, spec=data,
                               spec_hash="", action_low=[-1.0] * spec.act_dim,
                               action_high=[1.0] * spec.act_dim, env_steps=0, iteration=0)

    scores = []
    for path in (ck("shaped.pt", shaped), ck("plain.pt", spec.to_dict())):
        assert eval_cmd.main(["--checkpoint", str(path), "--robot", "quadruped",
                              "--episodes", "1", "--json"]) == 0
        captured = capsys.readouterr()
        scores.append(json.loads(captured.out)["mean_return"])
        assert ("feet_air_time" in captured.err) is (path.name == "shaped.pt")
        assert ("'tracking_sigma': 0.1" in captured.err) is (path.name == "shaped.pt")
    assert scores[0] == scores[1]
    shaped["joints"][0]["kp"] = 25.0
    with pytest.raises(UserError, match="interface differs"):
        eval_cmd.main(["--checkpoint", str(ck("gains.pt", shaped)), "--robot", "quadruped",
                       "--episodes", "1"])
    shaped["joints"][0]["kp"] = spec.joints[0].kp
    shaped["task"]["params"]["vx_range"] = [0.5, 1.0]  # the commands: not reward-only
    with pytest.raises(UserError, match="interface differs"):
        eval_cmd.main(["--checkpoint", str(ck("cmd.pt", shaped)), "--robot", "quadruped",
                       "--episodes", "1"])


def test_walk_eval_reports_the_gait_from_the_simulated_foot_contacts(tmp_path, capsys):
    """touchdowns_per_s and mean_air_time come from real contacts: the mean action of an
    untrained policy (near the default pose) stands, its sampled actions tap the feet."""
    spec = load_spec("quadruped")
    torch.manual_seed(0)
    model = ActorCritic(len(observation_layout(spec)), spec.act_dim, hidden=(16,))
    ck = save_checkpoint(tmp_path / "q.pt", model=model, optimizer=None, config={},
                         env_id=spec.gym_id, env_kwargs={}, spec=spec.to_dict(),
                         spec_hash=spec.spec_hash, action_low=[-1.0] * spec.act_dim,
                         action_high=[1.0] * spec.act_dim, env_steps=0, iteration=0)
    gait = []
    for stochastic in ("false", "true"):
        assert eval_cmd.main(["--checkpoint", str(ck), "--episodes", "1", "--json",
                              "--stochastic", stochastic]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["touchdowns_per_s"] * out["mean_air_time"] <= 4.0  # 4 feet: ≤ 1 s/s each
        gait.append(out["touchdowns_per_s"])
    assert gait[1] > 3 * gait[0] and gait[1] > 4.0


def _eval_subprocess(ck: Path, *extra: str, tty_stderr: bool) -> tuple[int, str, str]:
    """`robot-ppo eval` in a fresh interpreter; its stderr a pipe or a real pty (a terminal)."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time

    argv = [sys.executable, "-m", "robot_ppo.cli", "eval", "--checkpoint", str(ck),
            "--episodes", "3", "--json", *extra]
    if not tty_stderr:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = pty.openpty()
    # a terminal has a size (a bare pty reports 0 columns, and tqdm then draws nothing)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    err = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            err += chunk
        elif child.poll() is not None:
            break
    os.close(master)
    out = child.stdout.read() if child.stdout else ""
    return child.wait(timeout=30), out, err.decode(errors="replace")


def test_eval_shows_progress_on_a_terminal_only_and_no_pybullet_banner(tmp_path: Path) -> None:
    """A bar over the episodes on stderr when it is a terminal (as train's), none with
    --no-progress or when stderr is a pipe; stdout stays one line of JSON; and no PyBullet
    banner on stderr."""
    ck = _checkpoint(tmp_path)
    rc, out, err = _eval_subprocess(ck, tty_stderr=True)
    assert rc == 0, err
    assert json.loads(out)["episodes"] == 3
    assert "eval" in err and "3/3" in err and "episode" in err
    rc, out, err = _eval_subprocess(ck, "--no-progress", tty_stderr=True)
    assert rc == 0 and json.loads(out)["episodes"] == 3
    assert "3/3" not in err
    rc, out, err = _eval_subprocess(ck, tty_stderr=False)
    assert rc == 0 and json.loads(out)["episodes"] == 3
    assert "3/3" not in err
    # PyBullet's "pybullet build time" line (C stderr, at import) never reaches the user
    assert "pybullet build time" not in err
