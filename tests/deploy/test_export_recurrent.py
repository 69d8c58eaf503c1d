"""Recurrent (GRU) export: explicit state input/output, metadata, sequence parity with torch
(max |diff| <= 1e-5 over a 100-step sequence), and OnnxPolicy carrying the state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from deploy.export import export_policy, normalizer_samples, random_samples
from deploy.inference import OnnxPolicy
from deploy.onnx_metadata import STATE_IN, STATE_OUT
from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.observation import ObservationBuilder
from robot_ppo.spec import RobotSpec


def make_recurrent_actor(obs_dim: int, act_dim: int, seed: int = 0) -> RecurrentActorCritic:
    torch.manual_seed(seed)
    m = RecurrentActorCritic(obs_dim, act_dim, rnn_hidden=16, hidden=(32,),
                             critic_obs_dim=3)
    m.obs_normalizer.update(torch.randn(2000, obs_dim) * 0.5 + 0.1)
    with torch.no_grad():
        m.mu.weight.mul_(50.0)
        m.log_std.fill_(-0.5)
    return m.eval()


def export_recurrent(spec: RobotSpec, path: Path, seed: int = 0
                     ) -> tuple[Path, RecurrentActorCritic, dict[str, float]]:
    obs_dim = ObservationBuilder(spec).obs_dim
    actor = make_recurrent_actor(obs_dim, spec.act_dim, seed)
    rng = np.random.default_rng(seed)
    obs = np.concatenate([random_samples(obs_dim, 500, rng),
                          normalizer_samples(actor, obs_dim, 500, rng)])
    out, stats = export_policy(actor, obs_dim=obs_dim, act_dim=spec.act_dim, spec=spec,
                               action_low=[-1.0] * spec.act_dim,
                               action_high=[1.0] * spec.act_dim, out_path=path,
                               parity_obs=obs, env_id=spec.gym_id)
    return out, actor, stats


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, cartpole: RobotSpec
             ) -> tuple[Path, RecurrentActorCritic, dict[str, float]]:
    return export_recurrent(cartpole, tmp_path_factory.mktemp("rec") / "gru.onnx")


def test_graph_io_and_metadata(exported, cartpole: RobotSpec) -> None:
    path, _actor, stats = exported
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ins = {i.name: i.shape for i in sess.get_inputs()}
    outs = {o.name: o.shape for o in sess.get_outputs()}
    assert ins["obs"][1] == 4 and ins[STATE_IN][1] == 16 and len(ins) == 2
    assert outs[STATE_OUT][1] == 16
    policy = OnnxPolicy(path, "cpu", log=lambda s: None)
    assert policy.meta.state_inputs == [[STATE_IN, STATE_OUT]]
    assert policy.meta.state_sizes == [16]
    assert policy.meta.inputs == ["obs", STATE_IN]
    assert stats["state_out_0"] <= 1e-5 and stats["n_obs"] >= 1000


def test_onnx_matches_torch_over_100_step_sequence(exported) -> None:
    """Carry each side's own state for 100 steps: every output within 1e-5."""
    path, actor, _ = exported
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    obs = (rng.normal(size=(100, 1, 4)) * 2).astype(np.float32)
    h_t = torch.zeros(1, 1, 16)
    h_o = np.zeros((1, 16), dtype=np.float32)
    worst = 0.0
    with torch.no_grad():
        for x in obs:
            mean, std, h_t = actor.step_raw(torch.from_numpy(x), h_t)
            _targets_o, mean_o, std_o, h_o = sess.run(None, {"obs": x, STATE_IN: h_o})
            for r, g in ((mean, mean_o), (std, std_o), (h_t[0], h_o)):
                worst = max(worst, float(np.abs(r.numpy() - g).max()))
    assert worst <= 1e-5
    assert np.abs(h_o).max() > 1e-3, "the state actually moved"


def test_onnx_policy_carries_and_resets_state(exported) -> None:
    path, actor, _ = exported
    policy = OnnxPolicy(path, "cpu", log=lambda s: None)
    rng = np.random.default_rng(2)
    obs = rng.normal(size=(30, 4)).astype(np.float32)
    h = torch.zeros(1, 1, 16)
    with torch.no_grad():
        for x in obs:
            mean_ref, _, h = actor.step_raw(torch.from_numpy(x[None]), h)
            _, mean, _ = policy.step(x)
            np.testing.assert_allclose(mean, mean_ref[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(policy.state, h[0, 0].numpy(), atol=1e-5)
    policy.reset_state()
    assert not policy.state.any()
    _, mean, _ = policy.step(obs[0])
    with torch.no_grad():
        ref = actor.actor_mean(torch.from_numpy(obs[:1]))[0].numpy()
    np.testing.assert_allclose(mean, ref, atol=1e-5)
