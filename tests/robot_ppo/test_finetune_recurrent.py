"""Fine-tuning a recurrent (GRU) checkpoint on logged rollouts.

The logs come from the exported ONNX policy driven like the runtime drives the robot
(`reset_state()` at each episode start, the GRU state carried by the graph step to step,
a ~ N(mean, (std·explore)²)) on the shifted-dynamics cartpole sim, recorded with
RolloutWriter. Checks: the update raises the log-probability of positive-advantage logged
actions within the KL bound; the whole-segment unroll, the seq_len chunks and the
bootstrap reproduce a step-by-step `actor_step`/`critic_step` loop from zero state (and
the runtime's logged means); sim-mix episodes carry the state; the command's result
exports with state inputs and matches torch over a logged episode; refusals are UserErrors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from deploy.export import export_policy, normalizer_samples, random_samples
from deploy.inference import OnnxPolicy
from robot_ppo.action import ActionMapping
from robot_ppo.algo.distributions import gaussian_log_prob as torch_log_prob
from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.cli import main as cli_main
from robot_ppo.commands.finetune import task_score_fn
from robot_ppo.finetune.finetuner import FinetuneParams, Finetuner
from robot_ppo.finetune.policy_views import Draw, RecurrentView
from robot_ppo.finetune.segments import Segment, segments_from_rollouts
from robot_ppo.finetune.sim_rollouts import SimCollector
from robot_ppo.rollout_format import RolloutWriter, gaussian_log_prob, read_rollouts
from robot_ppo.spec import load_spec
from robot_ppo.train.checkpoint import build_model, load_checkpoint, save_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")

sim = pytest.importorskip("sim")

SPEC = load_spec("cartpole")
SEQ_LEN = 8


def _gru_checkpoint(path: Path, critic_obs_dim: int | None = None) -> Path:
    """An untrained cartpole GRU actor-critic in the training checkpoint format (config as
    `robot-ppo train --set recurrent=gru` writes it), normalizer fitted to typical obs."""
    torch.manual_seed(0)
    model = RecurrentActorCritic(4, 1, rnn_hidden=16, hidden=(32,), init_std=0.6,
                                 critic_obs_dim=critic_obs_dim)
    model.update_normalizers(torch.randn(256, 4) * torch.tensor([0.05, 0.05, 0.1, 0.2]))
    return save_checkpoint(path, model=model, optimizer=None,
                           config={"gamma": 0.98, "gae_lambda": 0.95, "recurrent": "gru",
                                   "seq_len": SEQ_LEN},
                           env_id=SPEC.gym_id, env_kwargs={"dynamics": "nominal"},
                           spec=SPEC.to_dict(), spec_hash=SPEC.spec_hash,
                           action_low=[-1.0], action_high=[1.0], env_steps=0, iteration=0)


def _export(ckpt_path: Path, out: Path) -> Path:
    ckpt = load_checkpoint(ckpt_path)
    actor = build_model(ckpt)
    rng = np.random.default_rng(0)
    obs = np.concatenate([random_samples(4, 500, rng), normalizer_samples(actor, 4, 500, rng)])
    path, _ = export_policy(actor, obs_dim=4, act_dim=1, spec=SPEC, action_low=[-1.0],
                            action_high=[1.0], out_path=out, parity_obs=obs,
                            env_id=SPEC.gym_id)
    return path


def log_runtime_style(log_dir: Path, policy_path: Path, episodes: int, explore: float,
                      seed: int, max_steps: int = 10_000) -> None:
    """The runtime's policy loop on the shifted sim: ONNX policy with its GRU state reset
    at each episode start and carried by the graph; RolloutWriter records every step
    (explore 0: the mean is executed and no log-probability is logged). An episode longer
    than max_steps is stopped like an operator stop (a truncation)."""
    pol = OnnxPolicy(policy_path, "cpu", log=lambda s: None)
    env = sim.make_env(SPEC, dynamics="shifted", seed=seed)
    base = env.unwrapped
    mapping = ActionMapping(SPEC)
    rng = np.random.default_rng(seed)
    writer = RolloutWriter(log_dir, SPEC, {"source": "test"}, explore=explore > 0,
                           backpressure="block")
    obs, _ = env.reset(seed=seed)
    for ep in range(episodes):
        writer.mark_episode("start", f"episode {ep}")
        pol.reset_state()
        done = term = False
        steps = 0
        while not done and steps < max_steps:
            _, mean_v, std_v = pol.step(obs)
            mean, std = mean_v.copy(), std_v * explore
            a = (mean + std * rng.standard_normal(mean.shape)).astype(np.float32)
            cmd = mapping.to_command(mapping.targets(a))
            explored = explore > 0
            writer.append(base.sim.time, base.sim.observed_state(), obs, cmd, a,
                          logp=gaussian_log_prob(a, mean, std) if explored else None,
                          std=std if explored else None, action_mean=mean)
            obs, _, term, trunc, _ = env.step(a)
            done = term or trunc
            steps += 1
        writer.mark_episode("safety_trip" if term else "stop", "task end")
        obs, _ = env.reset()
    writer.close()
    env.close()




@pytest.fixture(scope="module")
def gru_logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ft_gru")
    ck = _gru_checkpoint(root / "ref.pt")
    log_runtime_style(root / "logs", _export(ck, root / "ref.onnx"), episodes=25,
                      explore=1.5, seed=3, max_steps=100)
    return ck, root / "logs"


def _setup(gru_logged: tuple[Path, Path], **params: Any
           ) -> tuple[Finetuner, list[Segment], Any]:
    ck, logs = gru_logged
    ckpt = load_checkpoint(ck)
    data = read_rollouts(logs, expected_spec_hash=ckpt["spec_hash"])
    segments = segments_from_rollouts(data, task_score_fn(SPEC))
    model, reference = build_model(ckpt), build_model(ckpt)
    assert isinstance(model, RecurrentActorCritic)
    ft = Finetuner(model, reference, FinetuneParams(gamma=0.98, seq_len=SEQ_LEN, **params),
                   generator=torch.Generator().manual_seed(0))
    return ft, segments, data


def _step_by_step(model: RecurrentActorCritic, seg: Segment
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float | None]:
    """(means, log-probs, values, V(s_L) or None) of one segment by actor_step /
    critic_step from zero states: what the runtime (actor) and the collector do."""
    obs_n = model.norm_obs(torch.as_tensor(seg.obs))
    h_a, h_c = model.zero_state(1), model.zero_state(1)
    means, logps, values = [], [], []
    with torch.no_grad():
        for t in range(len(seg)):
            mean, log_std, h_a = model.actor_step(obs_n[t:t + 1], h_a)
            v, h_c = model.critic_step(obs_n[t:t + 1], h_c)
            means.append(mean[0])
            logps.append(torch_log_prob(torch.as_tensor(seg.actions[t:t + 1]), mean, log_std)[0])
            values.append(v[0])
        boot = None
        if seg.bootstrap_obs is not None:
            b = model.norm_obs(torch.as_tensor(seg.bootstrap_obs)[None])
            boot = float(model.critic_step(b, h_c)[0][0])
    return torch.stack(means), torch.stack(logps), torch.stack(values), boot


def _every_chunk_shuffled(seed: int) -> Draw:
    """A Draw that keeps the ragged last set (the Finetuner's drops it)."""
    g = torch.Generator().manual_seed(seed)
    return lambda n, size: list(torch.randperm(n, generator=g).split(size))


def test_unroll_and_chunks_match_step_by_step_state(gru_logged: tuple[Path, Path]) -> None:
    ft, segments, data = _setup(gru_logged)
    model = ft.model
    assert isinstance(model, RecurrentActorCritic)
    batch = ft.make_batch(segments)
    with torch.no_grad():
        mean_all, _, _ = ft.view.actor_all(batch.obs, batch.starts)
        values_all, _ = ft.view.critic_all(batch.obs, batch.starts)
    assert len(segments) == len(data.episodes)
    ends = np.cumsum([len(s) for s in segments])
    truncated = 0
    for k, seg in enumerate(segments):
        rows = slice(int(ends[k]) - len(seg), int(ends[k]))
        means, logps, values, boot = _step_by_step(model, seg)
        torch.testing.assert_close(mean_all[rows], means, atol=1e-5, rtol=0)
        torch.testing.assert_close(batch.prox_log_prob[rows], logps, atol=1e-5, rtol=0)
        torch.testing.assert_close(batch.old_values[rows], values, atol=1e-5, rtol=0)
        # the runtime's means (ONNX graph carrying its state) were logged: same sequence
        np.testing.assert_allclose(mean_all[rows].numpy(),
                                   data.episodes[k]["action_mean"][:len(seg)], atol=1e-5)
        if boot is not None:
            # last row of a truncated segment: R = r/scale + γ·V(s_L)
            last = rows.stop - 1
            v_boot = (float(batch.returns[last]) - seg.rewards[-1]) / ft.params.gamma
            assert v_boot == pytest.approx(boot, abs=1e-4)
            truncated += 1
    assert truncated > 0 and any(s.terminal for s in segments)

    # chunks started from the stored states reproduce the unroll exactly while the
    # weights have not moved, for any seq_len (ragged tails padded) and any chunk order
    n = batch.obs.shape[0]
    for seq_len in (1, 7, SEQ_LEN, 64):
        assert n % 7 and n % 64, "the test wants padded chunks"
        view = RecurrentView(model, seq_len)
        mbs = view.minibatches(n, 3 * seq_len, _every_chunk_shuffled(seq_len))
        covered = torch.cat([mb.rows for mb in mbs])
        assert sorted(covered.tolist()) == list(range(n))
        with torch.no_grad():
            for mb in mbs:
                mean, _ = view.actor(batch, mb)
                torch.testing.assert_close(mean, mean_all[mb.rows], atol=1e-5, rtol=0)
                torch.testing.assert_close(view.critic(batch, mb), values_all[mb.rows],
                                           atol=1e-5, rtol=0)


def test_gru_finetune_raises_good_actions_within_the_leash(
        gru_logged: tuple[Path, Path]) -> None:
    bound = 0.03
    ft, segments, _ = _setup(gru_logged, epochs=4, minibatch_size=128, lr=1e-3,
                             kl_coef=0.05, kl_bound=bound)
    before = ft.make_batch(segments)
    warm = ft.warmup_value(segments, epochs=15)
    assert warm["value_loss"] < 0.5 * float((before.old_values - before.returns)
                                            .square().mean())
    batch = ft.make_batch(segments)
    # the weighted, normalized advantage the update ascends: w·(A − mean A)/std A
    wadv = batch.weights * (batch.advantages - batch.advantages.mean()) / batch.advantages.std()
    good = wadv > 0

    @torch.no_grad()
    def logp_of_logged() -> torch.Tensor:
        mean, log_std, _ = ft.view.actor_all(batch.obs, batch.starts)
        return torch_log_prob(batch.actions, mean, log_std)

    start = logp_of_logged()
    stats = ft.update(batch)
    assert stats["kl_ref"] <= bound
    for _ in range(2):
        stats = ft.update(ft.make_batch(segments))
        assert stats["kl_ref"] <= bound
    change = logp_of_logged() - start
    # toward the logged actions that did better than expected, away from the others
    # (measured here 0.02-0.03 up vs 0.06-0.09 down over 5 minibatch seeds; the
    # advantage-weighted change 0.04)
    assert float(change[good].mean()) > 0.005
    assert float(change[good].mean()) > float(change[~good].mean()) + 0.03
    assert float((wadv * change).sum() / wadv.abs().sum()) > 0.01
    assert 0.0 < ft.kl_to_reference(batch.robot_obs, batch.robot_starts) <= bound


def test_sim_collector_carries_the_gru_state_from_episode_starts() -> None:
    torch.manual_seed(1)
    model = RecurrentActorCritic(4, 1, rnn_hidden=8, hidden=(16,))
    collector = SimCollector(sim.make_env(SPEC, dynamics="nominal"), seed=0)
    segments = collector.collect(model, 60) + collector.collect(model, 60)
    assert sum(len(s) for s in segments) == 120 and all(s.source == "sim" for s in segments)
    ft = Finetuner(model, model, FinetuneParams(seq_len=4))
    batch = ft.make_batch(segments)
    # the behaviour log-probs (state carried while acting) are the unroll's from zeros:
    # every segment, the first of each call included, begins an episode
    logp_mu = torch.as_tensor(np.concatenate([s.behaviour_logp for s in segments]))
    torch.testing.assert_close(batch.prox_log_prob, logp_mu, atol=1e-5, rtol=0)
    torch.testing.assert_close(batch.weights, torch.ones_like(batch.weights), atol=1e-4,
                               rtol=0)


def test_command_result_exports_and_matches_torch_over_a_logged_episode(
        gru_logged: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    ck, logs = gru_logged
    out = tmp_path / "out"
    rc = cli_main(["finetune", "--checkpoint", str(ck), "--rollouts", str(logs),
                   "--out", str(out), "--iterations", "2", "--epochs", "2",
                   "--value-warmup-epochs", "3", "--kl-bound", "0.05", "--lr", "3e-3",
                   "--sim-mix", "0.2"])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kl_within_bound"] and summary["sim_steps_per_iteration"] > 0
    new, parent = load_checkpoint(out / "checkpoint.pt"), load_checkpoint(ck)
    assert new["model_config"] == parent["model_config"]
    assert new["lineage"]["kind"] == "finetune"
    tuned, ref = build_model(new), build_model(parent)
    assert isinstance(tuned, RecurrentActorCritic) and isinstance(ref, RecurrentActorCritic)

    onnx_path = tmp_path / "tuned.onnx"
    assert cli_main(["export", str(out / "checkpoint.pt"), "-o", str(onnx_path),
                     "--recorded-steps", "200"]) == 0
    pol = OnnxPolicy(onnx_path, "cpu", log=lambda s: None)
    assert pol.state_size == tuned.rnn_hidden
    episode = max(read_rollouts(logs).episodes, key=len)
    obs = episode["obs"].astype(np.float32)
    h, h_ref = tuned.zero_state(1), ref.zero_state(1)
    pol.reset_state()
    moved = 0.0
    with torch.no_grad():
        for o in obs:
            _, mean, _ = pol.step(o)
            m, _, h = tuned.step_raw(torch.as_tensor(o)[None], h)
            m_ref, _, h_ref = ref.step_raw(torch.as_tensor(o)[None], h_ref)
            np.testing.assert_allclose(mean, m[0].numpy(), atol=1e-5)
            moved = max(moved, float((m - m_ref).abs().max()))
    assert moved > 1e-3, "fine-tuning left the policy unchanged"


def test_refusals_are_user_errors(gru_logged: tuple[Path, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    _, logs = gru_logged
    priv = _gru_checkpoint(tmp_path / "priv.pt", critic_obs_dim=3)
    rc = cli_main(["finetune", "--checkpoint", str(priv), "--rollouts", str(logs),
                   "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and "privileged" in err and "robot logs do not hold" in err

    # a GRU policy logged without exploration: no behaviour log-probabilities
    ck = _gru_checkpoint(tmp_path / "g.pt")
    log_runtime_style(tmp_path / "greedy", _export(ck, tmp_path / "g.onnx"), episodes=2,
                      explore=0.0, seed=0)
    rc = cli_main(["finetune", "--checkpoint", str(ck), "--rollouts",
                   str(tmp_path / "greedy"), "--out", str(tmp_path / "o2")])
    assert rc == 2 and "--explore" in capsys.readouterr().err
