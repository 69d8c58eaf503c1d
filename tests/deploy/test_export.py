"""Export: graph mapping == numpy ActionMapping, ORT == torch, metadata round trip,
and nothing is written when a check fails."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from deploy.export import export_policy, normalizer_samples, random_samples, wrap_policy
from deploy.inference import OnnxPolicy
from deploy.onnx_metadata import EXPORT_FORMAT_VERSION, PolicyMetadata
from robot_ppo.action import ActionMapping
from robot_ppo.errors import UserError
from robot_ppo.observation import action_layout, observation_layout
from robot_ppo.spec import spec_from_dict

from .conftest import export_for, make_actor


def test_graph_mapping_equals_numpy_action_mapping(cartpole_onnx: Path, cartpole) -> None:
    pol = OnnxPolicy(cartpole_onnx, provider="cpu", log=lambda s: None)
    rng = np.random.default_rng(1)
    obs = rng.normal(0, 3, size=(2000, 4)).astype(np.float32)
    out = pol.run_batch(obs)
    mean = out["action_mean"]
    assert np.abs(mean).max() > 1.5, "test needs actions beyond the clip"
    expected = ActionMapping(cartpole).targets(mean.astype(np.float64))
    np.testing.assert_allclose(out["targets"], expected, atol=1e-5, rtol=0)
    assert np.abs(out["targets"]).max() <= 10.0 + 1e-6


def test_position_mode_mapping_with_offsets(tmp_path: Path, cartpole) -> None:
    d = cartpole.to_dict()
    d["name"] = "slider_pos"
    d["action"] = {"mode": "position", "scale": 0.7, "clip": 2.0}
    d["joints"][0].update(kp=50.0, kd=2.0, default_position=0.3, position_limits=[-0.5, 1.2])
    spec = spec_from_dict(d)
    path = export_for(spec, tmp_path / "pos.onnx", gain=600.0)
    pol = OnnxPolicy(path, provider="cpu", log=lambda s: None)
    obs = np.random.default_rng(2).normal(0, 3, size=(3000, 4)).astype(np.float32)
    out = pol.run_batch(obs)
    expected = ActionMapping(spec).targets(out["action_mean"].astype(np.float64))
    np.testing.assert_allclose(out["targets"], expected, atol=1e-5, rtol=0)
    # both position limits are reached (the clip and the final clip both act)
    assert out["targets"].min() == pytest.approx(-0.5)
    assert out["targets"].max() == pytest.approx(1.2)


def test_onnxruntime_matches_torch(cartpole_onnx: Path) -> None:
    actor = make_actor(4, 1, seed=0)
    from robot_ppo.spec import load_spec
    module = wrap_policy(actor, load_spec("cartpole"), [-1.0], [1.0]).eval()
    rng = np.random.default_rng(3)
    obs = np.concatenate([random_samples(4, 1000, rng),
                          normalizer_samples(actor, 4, 1000, rng)]).astype(np.float32)
    pol = OnnxPolicy(cartpole_onnx, provider="cpu", log=lambda s: None)
    got = pol.run_batch(obs)
    with torch.inference_mode():
        ref = [t.numpy() for t in module(torch.from_numpy(obs))]
    for r, name in zip(ref, ("targets", "action_mean", "action_std")):
        tol = 1e-4 if name == "targets" else 1e-5  # targets = 10 · action
        assert np.max(np.abs(r - got[name])) <= tol, name
    # the batch-1 IO-binding path gives the same numbers
    for i in range(0, 50):
        t, m, s = pol.step(obs[i])
        np.testing.assert_allclose(t, got["targets"][i], atol=1e-6)
        np.testing.assert_allclose(m, got["action_mean"][i], atol=1e-6)
        np.testing.assert_allclose(s, got["action_std"][i], atol=1e-6)


def test_metadata_round_trip(cartpole_onnx: Path, cartpole) -> None:
    model = onnx.load(str(cartpole_onnx))
    props = {p.key: p.value for p in model.metadata_props}
    meta = PolicyMetadata.from_props(props, "x")
    assert meta.format_version == EXPORT_FORMAT_VERSION
    assert meta.spec_hash == cartpole.spec_hash
    assert meta.robot == "cartpole"
    assert meta.observation_layout == observation_layout(cartpole)
    assert meta.action_layout == action_layout(cartpole)
    assert meta.action_mode == "torque" and meta.control_hz == 60.0
    assert meta.robot_spec("x").spec_hash == cartpole.spec_hash
    assert meta.opset == 17 and model.opset_import[0].version == 17
    assert json.loads(props["robot_ppo.spec"])["name"] == "cartpole"
    # what onnxruntime reads is the same
    pol = OnnxPolicy(cartpole_onnx, provider="cpu", log=lambda s: None)
    assert pol.meta == meta
    # dynamic batch dimension
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    onnx.checker.check_model(model, full_check=True)


def test_gym_checkpoint_targets_clip_to_action_bounds(tmp_path: Path) -> None:
    actor = make_actor(3, 2, gain=500.0)
    rng = np.random.default_rng(0)
    obs = random_samples(3, 1000, rng)
    path, _ = export_policy(actor, obs_dim=3, act_dim=2, spec=None, action_low=[-2.0, -0.5],
                            action_high=[2.0, 1.0], out_path=tmp_path / "g.onnx",
                            parity_obs=obs, env_id="Pendulum-v1")
    pol = OnnxPolicy(path, provider="cpu", log=lambda s: None)
    out = pol.run_batch(obs.astype(np.float32))
    np.testing.assert_allclose(out["targets"], np.clip(out["action_mean"], [-2.0, -0.5],
                                                       [2.0, 1.0]), atol=1e-6)
    assert pol.meta.spec is None and pol.meta.action_mode == "gym"
    with pytest.raises(UserError, match="no robot spec"):
        pol.meta.robot_spec("g.onnx")


class _Broken(torch.nn.Module):
    """Same interface, but its ONNX graph differs from its eager output (a traced branch
    that eager mode takes differently), which the parity check must catch."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(4, 1)

    def actor_mean(self, obs: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            return self.lin(obs) + 1e-3
        return self.lin(obs)

    def action_std(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(self.lin(obs))


def test_parity_failure_writes_nothing(tmp_path: Path, cartpole) -> None:
    obs = random_samples(4, 1000, np.random.default_rng(0))
    out = tmp_path / "bad.onnx"
    with pytest.raises(UserError, match="parity failed"):
        export_policy(_Broken(), obs_dim=4, act_dim=1, spec=cartpole, action_low=[-1.0],
                      action_high=[1.0], out_path=out, parity_obs=obs)
    assert list(tmp_path.iterdir()) == []


def test_too_few_parity_observations_refused(tmp_path: Path, cartpole) -> None:
    with pytest.raises(ValueError, match="1,000"):
        export_policy(make_actor(4, 1), obs_dim=4, act_dim=1, spec=cartpole,
                      action_low=[-1.0], action_high=[1.0], out_path=tmp_path / "x.onnx",
                      parity_obs=np.zeros((10, 4)))


def test_checker_failure_writes_nothing(tmp_path: Path, cartpole, monkeypatch) -> None:
    def reject(model: object, full_check: bool = False) -> None:
        raise onnx.checker.ValidationError("bad graph (injected)")

    monkeypatch.setattr(onnx.checker, "check_model", reject)
    with pytest.raises(UserError, match="fails the ONNX checker"):
        export_policy(make_actor(4, 1), obs_dim=4, act_dim=1, spec=cartpole,
                      action_low=[-1.0], action_high=[1.0], out_path=tmp_path / "x.onnx",
                      parity_obs=random_samples(4, 1000, np.random.default_rng(0)))
    assert list(tmp_path.iterdir()) == []


def test_requested_opset_is_honoured(tmp_path: Path, cartpole) -> None:
    path = export_for(cartpole, tmp_path / "o13.onnx")
    assert onnx.load(str(path)).opset_import[0].version == 17
    obs = random_samples(4, 1000, np.random.default_rng(0))
    path, _ = export_policy(make_actor(4, 1), obs_dim=4, act_dim=1, spec=cartpole,
                            action_low=[-1.0], action_high=[1.0], out_path=tmp_path / "13.onnx",
                            parity_obs=obs, opset=13)
    model = onnx.load(str(path))
    assert model.opset_import[0].version == 13
    assert OnnxPolicy(path, provider="cpu", log=lambda s: None).meta.opset == 13
