"""The policy file's metadata contract: what `export` writes into `metadata_props` and what
the runtime reads back (via onnxruntime's `custom_metadata_map`; no `onnx` import here).

Every value is a string; structured values are JSON. Keys (all prefixed `robot_ppo.`):

    format_version      EXPORT_FORMAT_VERSION; the runtime refuses other major versions
    package_version     robot_ppo version that exported the file
    robot               robot name ("" for a gymnasium checkpoint)
    spec_hash           RobotSpec.spec_hash ("" without a spec)
    spec                the spec as JSON (spec.to_dict()) or "null"; the runtime rebuilds
                        the ActionMapping, limits and gains from it when no --robot is given
    observation_layout  JSON list of entry names (robot_ppo.observation.observation_layout)
    action_layout       JSON list of actuated joint names
    action_mode         "position" | "torque" | "gym"
    control_hz          control rate the policy was trained at (0 without a spec)
    obs_dim, act_dim    integers
    action_low/high     JSON lists (the clip of a gymnasium checkpoint's targets)
    env_id              the training environment id
    training_config     JSON of the trainer's config
    opset               ONNX opset of the graph
    inputs, outputs     JSON lists of tensor names, in order
    state_inputs        JSON list of [input, output] pairs carrying recurrent/history state
                        between calls (empty for a feed-forward policy). A recurrent (GRU)
                        policy has one pair, [STATE_IN, STATE_OUT] = ["state_in_0",
                        "state_out_0"], each float32 [B, state_size]; the caller starts
                        from zeros, feeds each output back as the next input and zeroes it
                        at an episode start.
    state_sizes         JSON list of ints, the size of each state pair (optional; [] when
                        there is none)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from robot_ppo.errors import UserError
from robot_ppo.observation import action_layout, observation_layout
from robot_ppo.spec import RobotSpec, spec_from_dict

EXPORT_FORMAT_VERSION = "1.0"
PREFIX = "robot_ppo."

INPUT_OBS = "obs"
OUTPUT_TARGETS = "targets"
OUTPUT_MEAN = "action_mean"
OUTPUT_STD = "action_std"
STATE_IN = "state_in_0"
STATE_OUT = "state_out_0"


@dataclass
class PolicyMetadata:
    """Parsed metadata of an exported policy (see module doc for the meaning of each)."""

    format_version: str
    package_version: str
    robot: str
    spec_hash: str
    spec: dict[str, Any] | None
    observation_layout: list[str]
    action_layout: list[str]
    action_mode: str
    control_hz: float
    obs_dim: int
    act_dim: int
    action_low: list[float]
    action_high: list[float]
    env_id: str = ""
    training_config: dict[str, Any] = field(default_factory=dict)
    opset: int = 0
    inputs: list[str] = field(default_factory=lambda: [INPUT_OBS])
    outputs: list[str] = field(default_factory=lambda: [OUTPUT_TARGETS, OUTPUT_MEAN,
                                                        OUTPUT_STD])
    state_inputs: list[list[str]] = field(default_factory=list)
    state_sizes: list[int] = field(default_factory=list)

    # ---- encode / decode --------------------------------------------------------------
    def to_props(self) -> dict[str, str]:
        """Flat {key: string} for onnx `metadata_props`."""
        raw: dict[str, Any] = {
            "format_version": self.format_version, "package_version": self.package_version,
            "robot": self.robot, "spec_hash": self.spec_hash, "spec": self.spec,
            "observation_layout": self.observation_layout,
            "action_layout": self.action_layout, "action_mode": self.action_mode,
            "control_hz": self.control_hz, "obs_dim": self.obs_dim, "act_dim": self.act_dim,
            "action_low": self.action_low, "action_high": self.action_high,
            "env_id": self.env_id, "training_config": self.training_config,
            "opset": self.opset, "inputs": self.inputs, "outputs": self.outputs,
            "state_inputs": self.state_inputs, "state_sizes": self.state_sizes,
        }
        return {PREFIX + k: (v if isinstance(v, str) else json.dumps(v, sort_keys=True))
                for k, v in raw.items()}

    @classmethod
    def from_props(cls, props: dict[str, str], origin: str) -> PolicyMetadata:
        """Parse `custom_metadata_map`; a file that is not a robot_ppo export is refused."""
        def get(key: str) -> str:
            if PREFIX + key not in props:
                raise UserError(f"{origin}: not a robot_ppo policy file (metadata key "
                                f"{PREFIX + key!r} missing). Export it with `robot-ppo export`.")
            return props[PREFIX + key]

        def js(key: str) -> Any:
            try:
                return json.loads(get(key))
            except json.JSONDecodeError as exc:
                raise UserError(f"{origin}: metadata {PREFIX + key!r} is not valid JSON "
                                f"({exc}); the file is damaged.") from None

        version = get("format_version")
        if version.split(".")[0] != EXPORT_FORMAT_VERSION.split(".")[0]:
            raise UserError(f"{origin}: export format {version} is not supported by this "
                            f"runtime (it reads {EXPORT_FORMAT_VERSION}); re-export the "
                            "checkpoint with this version of robot_ppo.")
        return cls(
            format_version=version, package_version=get("package_version"),
            robot=get("robot"), spec_hash=get("spec_hash"), spec=js("spec"),
            observation_layout=list(js("observation_layout")),
            action_layout=list(js("action_layout")), action_mode=get("action_mode"),
            control_hz=float(js("control_hz")), obs_dim=int(js("obs_dim")),
            act_dim=int(js("act_dim")), action_low=list(js("action_low")),
            action_high=list(js("action_high")), env_id=get("env_id"),
            training_config=dict(js("training_config") or {}), opset=int(js("opset")),
            inputs=list(js("inputs")), outputs=list(js("outputs")),
            state_inputs=[list(p) for p in js("state_inputs")],
            state_sizes=[int(n) for n in (json.loads(props[PREFIX + "state_sizes"])
                                          if PREFIX + "state_sizes" in props else [])],
        )

    # ---- the robot ------------------------------------------------------------------
    def robot_spec(self, origin: str) -> RobotSpec:
        """The spec stored in the file (for running without --robot)."""
        if self.spec is None:
            raise UserError(f"{origin}: this policy was trained on the gymnasium environment "
                            f"{self.env_id!r} and has no robot spec; it cannot drive a robot.")
        return spec_from_dict(self.spec, origin=f"{origin} (embedded spec)")

    def check_robot(self, spec: RobotSpec, origin: str, allow_hash_mismatch: bool = False) -> None:
        """Refuse a model made for another robot, showing both layouts."""
        if self.spec is None:
            self.robot_spec(origin)  # raises the 'no spec' error
        obs, act = observation_layout(spec), action_layout(spec)
        problems = []
        if obs != self.observation_layout:
            problems.append("observation layout differs")
        if act != self.action_layout:
            problems.append("action layout differs")
        if spec.action.mode != self.action_mode:
            problems.append(f"action mode: model {self.action_mode}, robot {spec.action.mode}")
        if problems:
            raise UserError(
                f"{origin} was exported for robot {self.robot!r} and does not fit robot "
                f"{spec.name!r}: {'; '.join(problems)}.\n"
                f"  model observation layout ({len(self.observation_layout)}): "
                f"{', '.join(self.observation_layout)}\n"
                f"  robot observation layout ({len(obs)}): {', '.join(obs)}\n"
                f"  model action layout ({len(self.action_layout)}): "
                f"{', '.join(self.action_layout)}\n"
                f"  robot action layout ({len(act)}): {', '.join(act)}")
        if self.spec_hash != spec.spec_hash and not allow_hash_mismatch:
            raise UserError(
                f"{origin}: spec hash {self.spec_hash[:12]} (robot {self.robot!r}) differs from "
                f"the robot's {spec.spec_hash[:12]} ({spec.name!r}) although the layouts match "
                "(limits, gains, scales or rates changed). Re-export for this spec, or pass "
                "--allow-spec-mismatch if you know the difference is harmless.\n"
                f"  observation layout: {', '.join(obs)}\n  action layout: {', '.join(act)}")


def metadata_for_spec(spec: RobotSpec | None, **kwargs: Any) -> PolicyMetadata:
    """Fill the robot part of the metadata from a spec (None for gymnasium checkpoints)."""
    if spec is None:
        return PolicyMetadata(robot="", spec_hash="", spec=None, action_mode="gym",
                              control_hz=0.0, **kwargs)
    return PolicyMetadata(robot=spec.name, spec_hash=spec.spec_hash, spec=spec.to_dict(),
                          action_mode=spec.action.mode,
                          control_hz=float(spec.rates.control_hz), **kwargs)
