"""Fine-tuning on rollouts written with RolloutWriter from a shifted-dynamics sim env.

Fast (default suite): a small policy, a few hundred logged steps with exploration, the
algorithm and the `robot-ppo finetune` command end to end, KL leash, lineage, errors.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from robot_ppo.action import ActionMapping
from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.distributions import gaussian_log_prob as torch_log_prob
from robot_ppo.cli import main as cli_main
from robot_ppo.commands.finetune import task_score_fn
from robot_ppo.finetune.finetuner import FinetuneParams, Finetuner
from robot_ppo.finetune.kl import gaussian_kl
from robot_ppo.finetune.segments import segments_from_rollouts
from robot_ppo.rollout_format import RolloutWriter, gaussian_log_prob, read_rollouts
from robot_ppo.spec import load_spec, spec_from_dict
from robot_ppo.train.checkpoint import build_model, load_checkpoint, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")

sim = pytest.importorskip("sim")

SPEC = load_spec("cartpole")


def _checkpoint(path: Path, spec: Any = SPEC, seed: int = 0) -> Path:
    """An untrained cartpole actor-critic saved in the training checkpoint format, with a
    normalizer fitted to typical observations (as a trained one would have)."""
    torch.manual_seed(seed)
    model = ActorCritic(4, 1, hidden=(32, 32), init_std=0.6)
    model.update_normalizers(torch.randn(256, 4) * torch.tensor([0.05, 0.05, 0.1, 0.2]))
    return save_checkpoint(path, model=model, optimizer=None,
                           config={"gamma": 0.98, "gae_lambda": 0.95},
                           env_id=spec.gym_id, env_kwargs={"dynamics": "nominal"},
                           spec=spec.to_dict(), spec_hash=spec.spec_hash,
                           action_low=[-1.0], action_high=[1.0], env_steps=0, iteration=0,
                           env_state=PARENT_ADR)


# what a parent trained with --dynamics adr carries (sim.adr_dynamics.adr_state's layout)
PARENT_ADR = {"ranges": {"mass_scale": [0.6, 1.5]}, "queues": {},
              "curriculum": {"level": 0.3, "results": [True]}}


def log_sim_rollouts(log_dir: Path, model: ActorCritic, episodes: int, explore: float,
                     seed: int) -> float:
    """Drive the shifted-dynamics sim env like the runtime drives the robot (sample
    N(mean, (std·explore)²), record with RolloutWriter); returns the mean env return."""
    env = sim.make_env(SPEC, dynamics="shifted", seed=seed)
    base = env.unwrapped
    mapping = ActionMapping(SPEC)
    rng = np.random.default_rng(seed)
    writer = RolloutWriter(log_dir, SPEC, {"source": "test"}, explore=True,
                           backpressure="block")
    returns = []
    obs, _ = env.reset(seed=seed)
    for ep in range(episodes):
        writer.mark_episode("start", f"episode {ep}")
        total, done = 0.0, False
        while not done:
            with torch.no_grad():
                o = torch.as_tensor(obs)[None]
                mean = model.actor_mean(o)[0].numpy()
                std = model.action_std(o)[0].numpy() * explore
            a = (mean + std * rng.standard_normal(mean.shape)).astype(np.float32)
            cmd = mapping.to_command(mapping.targets(a))
            writer.append(base.sim.time, base.sim.observed_state(), obs, cmd, a,
                          logp=gaussian_log_prob(a, mean, std), std=std, action_mean=mean)
            obs, r, term, trunc, _ = env.step(a)
            total += r
            done = term or trunc
        writer.mark_episode("safety_trip" if term else "stop", "task end")
        returns.append(total)
        obs, _ = env.reset()
    writer.close()
    env.close()
    return float(np.mean(returns))




@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ft")
    ck = _checkpoint(root / "ref.pt")
    log_sim_rollouts(root / "logs", build_model(load_checkpoint(ck)), episodes=25,
                     explore=1.5, seed=3)
    return ck, root / "logs"


def test_numpy_and_torch_log_probs_agree() -> None:
    rng = np.random.default_rng(1)
    a, mean, std = rng.normal(size=(3, 5, 2))
    std = np.abs(std) + 0.1
    ours = gaussian_log_prob(a, mean, std)
    theirs = torch_log_prob(torch.as_tensor(a), torch.as_tensor(mean),
                            torch.log(torch.as_tensor(std))).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_gaussian_kl_matches_monte_carlo() -> None:
    torch.manual_seed(0)
    mp, lp = torch.tensor([[0.3, -0.2]]), torch.tensor([-0.5, 0.1])
    mq, lq = torch.tensor([[0.0, 0.1]]), torch.tensor([-0.2, 0.0])
    x = mp + torch.randn(200_000, 2) * lp.exp()
    mc = (torch_log_prob(x, mp, lp) - torch_log_prob(x, mq, lq)).mean()
    assert float(gaussian_kl(mp, lp, mq, lq)[0]) == pytest.approx(float(mc), abs=5e-3)
    assert float(gaussian_kl(mp, lp, mp, lp)[0]) == pytest.approx(0.0, abs=1e-7)


def test_rewards_are_recomputed_from_logged_states(logged: tuple[Path, Path]) -> None:
    _, logs = logged
    data = read_rollouts(logs, expected_spec_hash=SPEC.spec_hash)
    segments = segments_from_rollouts(data, task_score_fn(SPEC))
    assert len(segments) == len(data.episodes)
    # balance: +1 per step; falls are terminal (safety trip), time limits are bootstrapped
    for seg, ep in zip(segments, data.episodes):
        assert np.all(seg.rewards == 1.0)
        assert seg.terminal == ep.terminal
        assert len(seg) == len(ep) - (0 if ep.terminal else 1)


def test_finetune_moves_toward_advantage_and_stays_on_leash(logged: tuple[Path, Path]) -> None:
    ck, logs = logged
    ckpt = load_checkpoint(ck)
    data = read_rollouts(logs, expected_spec_hash=ckpt["spec_hash"])
    segments = segments_from_rollouts(data, task_score_fn(SPEC))
    model, reference = build_model(ckpt), build_model(ckpt)
    bound = 0.03
    ft = Finetuner(model, reference, FinetuneParams(gamma=0.98, epochs=4, minibatch_size=128,
                                                    lr=1e-3, kl_coef=0.05, kl_bound=bound),
                   generator=torch.Generator().manual_seed(0))
    before = ft.make_batch(segments)
    warm = ft.warmup_value(segments, epochs=25)
    after_warm = ft.make_batch(segments)
    loss_before = 0.5 * float((before.old_values - before.returns).square().mean())
    assert warm["value_loss"] < loss_before  # the critic learned the shifted returns
    batch = after_warm
    adv = (batch.advantages - batch.advantages.mean()) / batch.advantages.std()
    wadv = adv * batch.weights

    def surrogate() -> float:
        # the clipped objective the update ascends, on the batch it was given
        with torch.no_grad():
            m, ls = model.mean_log_std(batch.obs)
            ratio = torch.exp(torch_log_prob(batch.actions, m, ls) - batch.prox_log_prob)
            return float(torch.min(ratio * wadv, ratio.clamp(0.8, 1.2) * wadv).mean())

    start = surrogate()
    stats = ft.update(batch)
    assert surrogate() > start + 1e-3
    assert stats["kl_ref"] <= bound and stats["clip_fraction"] >= 0.0
    for _ in range(3):
        stats = ft.update(ft.make_batch(segments))
        assert stats["kl_ref"] <= bound
    assert 0.0 < ft.kl_to_reference(batch.robot_obs) <= bound


def test_tight_bound_rolls_back_and_raises_beta(logged: tuple[Path, Path]) -> None:
    ck, logs = logged
    ckpt = load_checkpoint(ck)
    segments = segments_from_rollouts(read_rollouts(logs), task_score_fn(SPEC))
    model = build_model(ckpt)
    ft = Finetuner(model, build_model(ckpt), FinetuneParams(lr=3e-2, epochs=3, kl_coef=0.0,
                                                            kl_bound=1e-4, adaptive_kl=False))
    stats = ft.update(ft.make_batch(segments))
    assert stats["rollbacks"] >= 1 and stats["beta"] > 0.0
    assert stats["kl_ref"] <= 1e-4


def test_finetune_command_writes_checkpoint_with_lineage(
        logged: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ck, logs = logged
    out = tmp_path / "out"
    rc = cli_main(["finetune", "--checkpoint", str(ck), "--rollouts", str(logs), str(logs),
                   "--out", str(out), "--iterations", "2", "--epochs", "2",
                   "--value-warmup-epochs", "3", "--kl-bound", "0.05", "--sim-mix", "0.25"])
    assert rc == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "KL(π‖π_ref)" in printed and "clip frac" in printed
    new = load_checkpoint(out / "checkpoint.pt")
    parent = load_checkpoint(ck)
    assert new["spec_hash"] == parent["spec_hash"] and new["model_config"] == \
        parent["model_config"]
    lineage = new["lineage"]
    assert lineage["kind"] == "finetune" and lineage["parent"] == str(ck)
    assert new["env_state"] == parent["env_state"] == PARENT_ADR, "a sim --resume continues it"
    assert len(lineage["parent_sha256"]) == 64
    assert lineage["rollouts"] and all(len(r["sha256"]) == 64 for r in lineage["rollouts"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kl_within_bound"] and summary["sim_steps_per_iteration"] > 0
    rows = list(csv.DictReader((out / "metrics.csv").read_text().splitlines()))
    assert [r["phase"] for r in rows] == ["warmup", "policy", "policy"]
    build_model(new)  # loads like any checkpoint


def test_command_refuses_other_robot_and_empty_dirs(
        logged: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, logs = logged
    other = SPEC.to_dict()
    other["task"]["episode_steps"] = 77
    other_spec = spec_from_dict(other)
    ck_other = _checkpoint(tmp_path / "other.pt", spec=other_spec)
    rc = cli_main(["finetune", "--checkpoint", str(ck_other), "--rollouts", str(logs),
                   "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and SPEC.spec_hash in err and other_spec.spec_hash in err
    (tmp_path / "empty").mkdir()
    rc = cli_main(["finetune", "--checkpoint", str(ck_other), "--rollouts",
                   str(tmp_path / "empty")])
    assert rc == 2 and "is empty" in capsys.readouterr().err
