"""Privileged observations never reach the exported actor: a tiny `--privileged true`
training run (asymmetric critic) exports to a graph whose only input is the actor's
observation, with no critic weights among its initializers, and whose metadata layout is
the actor's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from deploy.inference import OnnxPolicy
from robot_ppo.cli import main as cli_main
from robot_ppo.observation import observation_layout
from robot_ppo.spec import load_spec

pytest.importorskip("sim")


def test_privileged_training_exports_actor_only(tmp_path: Path) -> None:
    # The Trainer directly: `robot-ppo train --robot R --privileged true` does not yet ask
    # the robot env for its privileged vector (robot_ppo/commands/train.py).
    import functools

    import sim
    from robot_ppo.train.config import TrainConfig
    from robot_ppo.train.trainer import EnvSource, Trainer

    spec = load_spec("cartpole")
    factory = functools.partial(sim.make_env, spec, dynamics="randomized", privileged=True)
    source = EnvSource(factory=factory, env_id=spec.gym_id, robot=spec.name,
                       spec=spec.to_dict(), spec_hash=spec.spec_hash)
    out = tmp_path / "run"
    cfg = TrainConfig.flat(robot="cartpole", privileged=True, steps=1024, envs=2,
                      rollout_steps=256, epochs=1, workers=0, progress=False,
                      tensorboard=False, out=out)
    Trainer(cfg, source, out).run()
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    obs_dim, priv_dim = ckpt["obs_dim"], ckpt["model_config"]["critic_obs_dim"]
    assert priv_dim and priv_dim > 0, "the run trained an asymmetric critic"
    state = ckpt["model_state"]
    assert any(k.startswith("critic_normalizer.") for k in state)

    onnx_path = tmp_path / "policy.onnx"
    assert cli_main(["export", str(out / "checkpoint.pt"), "-o", str(onnx_path),
                     "--recorded-steps", "100"]) == 0
    model = onnx.load(str(onnx_path))
    inputs = [i for i in model.graph.input]
    assert [i.name for i in inputs] == ["obs"]
    assert inputs[0].type.tensor_type.shape.dim[1].dim_value == obs_dim

    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    names = " ".join(inits).lower()
    assert "critic" not in names and "value" not in names, sorted(inits)
    critic_in = obs_dim + priv_dim
    assert not any(critic_in in a.shape for a in inits.values()), \
        {k: a.shape for k, a in inits.items()}
    # no tensor of the critic's weights (or its normalizer) hides under another name
    critic = [v.numpy() for k, v in state.items()
              if k.startswith(("critic_", "value_head"))]
    for arr in inits.values():
        for c in critic:
            assert not (arr.shape == c.shape and np.allclose(arr, c)), arr.shape
    # exported size: the actor's parameters + its normalizer + a few mapping constants
    actor_numel = sum(v.numel() for k, v in state.items()
                      if not k.startswith(("critic_", "value_head")))
    assert sum(a.size for a in inits.values()) <= actor_numel + 16

    meta = OnnxPolicy(onnx_path, "cpu", log=lambda s: None).meta
    assert meta.obs_dim == obs_dim
    assert meta.observation_layout == observation_layout(load_spec("cartpole"))
    assert len(meta.observation_layout) == obs_dim
