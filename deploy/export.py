"""Export a trained actor to ONNX: normalizer + actor mean + action mapping in one graph.

Graph contract (export format 1.0, opset `DEFAULT_OPSET` unless asked otherwise):

    input   obs          float32 [B, obs_dim]   RAW observation (ObservationBuilder output)
    output  targets      float32 [B, act_dim]   joint targets to send:
                         clip(offset + scale · clip(mean, -c, c), low, high)
                         with (offset, scale, low, high, c) = ActionMapping.params()
                         (gymnasium checkpoints: clip(mean, action_low, action_high))
    output  action_mean  float32 [B, act_dim]   policy mean, the policy's own space
    output  action_std   float32 [B, act_dim]   policy σ, same space (exploration on the robot)

B is dynamic. Recurrent (GRU) policies add one explicit state tensor pair,

    input   state_in_0   float32 [B, H]  GRU state before this observation (zeros at start)
    output  state_out_0  float32 [B, H]  GRU state after it: the next call's state_in_0

listed as [["state_in_0", "state_out_0"]] in the `state_inputs` metadata (sizes in
`state_sizes`); the runtime feeds each output back as the next call's input and zeroes it
at an episode start. The graph holds only the actor's GRU and MLP: no critic weights.
Their parity check runs over sequences (deploy.parity_check.check_parity_sequences): one
batch-1 sequence of 100 steps plus the rest as parallel 100-step sequences, comparing every
output, the state included, at every step. Feed-forward policies have no state.

Exporter choice: torch >= 2.9 defaults to the dynamo exporter; we pass `dynamo=False`
(the TorchScript-based exporter), which honours the requested opset and `dynamic_axes`
exactly, while dynamo silently raises low opsets to 18. Both pass the full checker.

Nothing is written unless the graph passes `onnx.checker.check_model(full_check=True)` and
onnxruntime matches torch within `PARITY_ATOL` · max(1, |value|) (1e-5 in the policy's action
space; for the targets times max(1, |scale|), see deploy.parity_check) on every parity
observation; the file is written to a temporary name and moved into place with `os.replace`
(robot_ppo/atomic_write.py; it gets the umask's mode, not mkstemp's 0600).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from deploy.onnx_metadata import (
    EXPORT_FORMAT_VERSION,
    INPUT_OBS,
    OUTPUT_MEAN,
    OUTPUT_STD,
    OUTPUT_TARGETS,
    STATE_IN,
    STATE_OUT,
    PolicyMetadata,
    metadata_for_spec,
)
from deploy.parity_check import check_parity, check_parity_sequences
from robot_ppo import __version__
from robot_ppo.action import ActionMapping
from robot_ppo.atomic_write import atomic_write
from robot_ppo.errors import UserError
from robot_ppo.observation import action_layout, observation_layout
from robot_ppo.spec import RobotSpec

DEFAULT_OPSET = 17
PARITY_ATOL = 1e-5


class ExportedPolicy(nn.Module):
    """obs → (targets, action_mean, action_std); the mapping constants are float32 buffers.

    `actor` must provide `actor_mean(obs_raw)` and `action_std(obs_raw)` (RAW observations,
    normalizer inside), as robot_ppo.algo.ActorCritic does; when it also has
    `norm_obs` + `mean_log_std` (ActorCritic), both outputs come from a single pass.
    """

    offset: torch.Tensor
    scale: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor

    actor: Any

    def __init__(self, actor: nn.Module, offset: np.ndarray, scale: np.ndarray,
                 low: np.ndarray, high: np.ndarray, clip: float | None) -> None:
        super().__init__()
        self.actor = actor
        for name, value in (("offset", offset), ("scale", scale), ("low", low),
                            ("high", high)):
            self.register_buffer(name, torch.as_tensor(np.asarray(value), dtype=torch.float32))
        self.clip = None if clip is None else float(clip)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        actor = self.actor
        if hasattr(actor, "mean_log_std") and hasattr(actor, "norm_obs"):
            # one pass through the network for both outputs (actor_mean and action_std
            # would each run it, doubling the graph and the eager cost)
            mean, log_std = actor.mean_log_std(actor.norm_obs(obs))
            std = torch.exp(log_std).expand_as(mean)
        else:
            mean = actor.actor_mean(obs)
            std = actor.action_std(obs)
        a = mean if self.clip is None else torch.clamp(mean, -self.clip, self.clip)
        # targets = clip(offset + scale·a, low, high): the numpy ActionMapping, term for term
        targets = torch.minimum(torch.maximum(self.offset + self.scale * a, self.low), self.high)
        return targets, mean, std


class ExportedRecurrentPolicy(ExportedPolicy):
    """(obs, state_in) → (targets, action_mean, action_std, state_out) for an actor with
    `step_raw(obs_raw, h [1, B, H]) -> (mean, std, h_next)` (RecurrentActorCritic); the
    graph's state is [B, H] (the GRU's leading layer axis is added and dropped inside)."""

    def forward(self, obs: torch.Tensor, state: torch.Tensor  # type: ignore[override]
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, std, h_next = self.actor.step_raw(obs, state.unsqueeze(0))
        a = mean if self.clip is None else torch.clamp(mean, -self.clip, self.clip)
        targets = torch.minimum(torch.maximum(self.offset + self.scale * a, self.low), self.high)
        return targets, mean, std, h_next.squeeze(0)


def state_size(actor: nn.Module) -> int:
    """GRU state size of a recurrent actor, 0 for a feed-forward one."""
    return int(getattr(actor, "rnn_hidden", 0)) if getattr(actor, "is_recurrent", False) else 0


def wrap_policy(actor: nn.Module, spec: RobotSpec | None, action_low: list[float],
                action_high: list[float]) -> ExportedPolicy:
    """The graph's module for a robot spec (ActionMapping) or a gymnasium checkpoint."""
    cls = ExportedRecurrentPolicy if state_size(actor) else ExportedPolicy
    if spec is not None:
        p = ActionMapping(spec).params()
        return cls(actor, np.asarray(p["offset"]), np.asarray(p["scale"]),
                   np.asarray(p["low"]), np.asarray(p["high"]), float(p["clip"]))
    n = len(action_low)
    return cls(actor, np.zeros(n), np.ones(n), np.asarray(action_low),
               np.asarray(action_high), None)


def _to_onnx(module: ExportedPolicy, obs_dim: int, opset: int, hidden: int = 0
             ) -> onnx.ModelProto:
    buf = io.BytesIO()
    args: tuple[torch.Tensor, ...] = (torch.zeros(1, obs_dim),)
    inputs, outputs = [INPUT_OBS], [OUTPUT_TARGETS, OUTPUT_MEAN, OUTPUT_STD]
    if hidden:
        args += (torch.zeros(1, hidden),)
        inputs, outputs = [*inputs, STATE_IN], [*outputs, STATE_OUT]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript-exporter deprecation notices
        torch.onnx.export(
            module, args, buf,  # type: ignore[arg-type]  # file-like objects work
            dynamo=False, opset_version=opset,
            input_names=inputs, output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in inputs + outputs},
            do_constant_folding=True)
    return onnx.load_from_string(buf.getvalue())


def export_policy(actor: nn.Module, *, obs_dim: int, act_dim: int, spec: RobotSpec | None,
                  action_low: list[float], action_high: list[float], out_path: str | Path,
                  parity_obs: np.ndarray, env_id: str = "",
                  training_config: dict[str, Any] | None = None,
                  opset: int = DEFAULT_OPSET) -> tuple[Path, dict[str, float]]:
    """Export, check, compare with torch, then write atomically. Returns (path, parity stats).

    `parity_obs` [N, obs_dim] must hold at least 1,000 observations (random and recorded).
    Raises UserError when the checker or the parity check fails; nothing is written then.
    """
    if parity_obs.ndim != 2 or parity_obs.shape[1] != obs_dim:
        raise ValueError(f"parity_obs must be [N, {obs_dim}], got {parity_obs.shape}")
    if parity_obs.shape[0] < 1000:
        raise ValueError("the parity check needs at least 1,000 observations")
    actor.eval()
    module = wrap_policy(actor, spec, action_low, action_high).eval()
    hidden = state_size(actor)
    model = _to_onnx(module, obs_dim, opset, hidden)

    if spec is not None:
        obs_names, act_names = observation_layout(spec), action_layout(spec)
        if len(obs_names) != obs_dim or len(act_names) != act_dim:
            raise UserError(f"the checkpoint's dims (obs {obs_dim}, act {act_dim}) do not match "
                            f"its robot spec {spec.name!r} (obs {len(obs_names)}, act "
                            f"{len(act_names)}).")
    else:
        obs_names = [f"obs/{i}" for i in range(obs_dim)]
        act_names = [f"action/{i}" for i in range(act_dim)]
    meta: PolicyMetadata = metadata_for_spec(
        spec, format_version=EXPORT_FORMAT_VERSION, package_version=__version__,
        observation_layout=obs_names, action_layout=act_names, obs_dim=obs_dim,
        act_dim=act_dim, action_low=[float(x) for x in action_low],
        action_high=[float(x) for x in action_high], env_id=env_id,
        training_config=dict(training_config or {}),
        opset=int(model.opset_import[0].version))
    if hidden:
        meta.inputs = [INPUT_OBS, STATE_IN]
        meta.outputs = [OUTPUT_TARGETS, OUTPUT_MEAN, OUTPUT_STD, STATE_OUT]
        meta.state_inputs = [[STATE_IN, STATE_OUT]]
        meta.state_sizes = [hidden]
    model.doc_string = (f"robot_ppo policy for {meta.robot or env_id}: obs -> targets, "
                        "action_mean, action_std")
    model.producer_name = "robot_ppo"
    model.producer_version = __version__
    onnx.helper.set_model_props(model, meta.to_props())

    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise UserError(f"the exported graph fails the ONNX checker: {exc}") from None
    blob = model.SerializeToString()
    scale = float(module.scale.abs().max())
    if hidden:
        stats = check_parity_sequences(module, blob, parity_obs.astype(np.float32),
                                       atol=PARITY_ATOL, target_scale=scale, state_size=hidden)
    else:
        stats = check_parity(module, blob, parity_obs.astype(np.float32), atol=PARITY_ATOL,
                             target_scale=scale)

    out = atomic_write(out_path, blob)  # a crash leaves the old .onnx whole
    return out, stats


def normalizer_samples(actor: nn.Module, obs_dim: int, n: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Observations drawn from the normalizer's statistics: mean + σ·N(0, 1), plus a tail
    out to ±4σ (exercises the normalizer's clip). Stands in for recorded observations when
    no simulator is available."""
    norm = getattr(actor, "obs_normalizer", None)
    if norm is None:
        return rng.normal(0.0, 1.0, size=(n, obs_dim))
    mean = norm.mean.detach().double().numpy()
    std = np.sqrt(norm.var.detach().double().numpy())
    z = rng.normal(0.0, 1.0, size=(n, obs_dim))
    z[: n // 10] *= 4.0
    return mean + std * z


def random_samples(obs_dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Broad random observations (uniform ±10 and a few extremes of ±1e3)."""
    x = rng.uniform(-10.0, 10.0, size=(n, obs_dim))
    x[: max(1, n // 50)] *= 100.0
    return x
