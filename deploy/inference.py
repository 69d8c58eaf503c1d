"""`OnnxPolicy`: an exported policy on onnxruntime, ready for a real-time loop.

    policy = OnnxPolicy("policy.onnx", provider="auto")
    targets, mean, std = policy.step(obs)          # obs: (obs_dim,) float

`step` copies `obs` into a pre-allocated input buffer and runs the session through IO
binding onto pre-allocated output buffers: no allocation per call, and the returned arrays
are the SAME buffers every call (copy them if you keep them). No RunOptions is passed:
onnxruntime 1.32's Python wrapper spends ~39 µs on an empty one (docs/deploy.md).

Recurrent policies (metadata `state_inputs`, see deploy/export.py) carry their state
between calls with no allocation and no re-binding (deploy/io_binding.py: two state
buffers, two bindings). It starts at zeros; `reset_state()` zeroes it (call it at an
episode start). `state` is the current state.

The constructor reads the metadata (`deploy.onnx_metadata`), checks the graph's inputs
and outputs against it, and proves each GPU provider by running 8 steps through it and
through the CPU and comparing the actions (`agree_with_cpu`): a provider that loads but
computes wrong actions is refused like one that does not load, and the next is tried
with one log line. Missing or corrupt files raise `UserError`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from deploy.io_binding import SessionBinding
from deploy.onnx_metadata import (
    INPUT_OBS,
    OUTPUT_MEAN,
    OUTPUT_STD,
    OUTPUT_TARGETS,
    STATE_IN,
    STATE_OUT,
    PolicyMetadata,
)
from deploy.providers import (
    ORT_NAMES,
    Provider,
    ProviderSettings,
    candidates,
    median_latency_us,
    try_session,
)
from robot_ppo.errors import UserError

OUTPUTS = (OUTPUT_TARGETS, OUTPUT_MEAN, OUTPUT_STD)


def _read_model(path: Path) -> bytes:
    if not path.exists():
        raise UserError(f"policy file {str(path)!r} does not exist. Export one with "
                        "`robot-ppo export CHECKPOINT -o policy.onnx`.")
    if not path.is_file():
        raise UserError(f"policy path {str(path)!r} is not a file.")
    data = path.read_bytes()
    if not data:
        raise UserError(f"policy file {str(path)!r} is empty.")
    return data


class OnnxPolicy:
    """An exported robot_ppo policy on onnxruntime (see module doc)."""

    def __init__(self, path: str | Path, provider: Provider = "auto",
                 settings: ProviderSettings | None = None,
                 log: Callable[[str], None] = print, time_providers: bool = True) -> None:
        self.path = Path(path)
        origin = str(self.path)
        model = _read_model(self.path)
        self._log = log
        # A CPU session first: it validates the file, gives the metadata, and is the
        # reference every other provider must agree with.
        try:
            probe = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"policy file {origin!r} is not a valid ONNX model ({first}). "
                            "Re-export it with `robot-ppo export`.") from None
        self.meta = PolicyMetadata.from_props(probe.get_modelmeta().custom_metadata_map, origin)
        self.obs_dim, self.act_dim = self.meta.obs_dim, self.meta.act_dim
        self.state_size = _check_io(probe, self.meta, origin)

        self.obs_buf = np.zeros((1, self.obs_dim), dtype=np.float32)
        self.out = {name: np.zeros((1, self.act_dim), dtype=np.float32) for name in OUTPUTS}
        self.targets = self.out[OUTPUT_TARGETS][0]
        self.mean = self.out[OUTPUT_MEAN][0]
        self.std = self.out[OUTPUT_STD][0]

        settings = settings or ProviderSettings()
        tried = candidates(provider)
        working: list[tuple[str, SessionBinding]] = []
        for name in tried:
            bound: dict[str, SessionBinding] = {}

            def warm(s: ort.InferenceSession, name: str = name,
                     bound: dict[str, SessionBinding] = bound) -> None:
                b = SessionBinding(s, self.obs_buf, self.out, self.state_size,
                                   None if name == "cpu" else ("cuda", settings.device_id))
                if name != "cpu":  # loading is not enough: it must compute the same actions
                    tol = FP16_TOL if name == "tensorrt" and settings.trt_fp16 else FP32_TOL
                    agree_with_cpu(b, probe, tol)
                b.run()
                bound["b"] = b

            sess, why = try_session(model, name, settings, warm)
            if sess is None:
                nxt = next((p for p in tried if p != name and p not in
                            [w[0] for w in working]), None)
                log(f"inference: provider {name} unusable ({why}); "
                    f"{'trying ' + nxt if nxt else 'no provider left'}")
                continue
            working.append((name, bound["b"]))
            if provider != "auto" or not time_providers:
                break
        if not working:
            raise UserError(f"{origin}: no onnxruntime provider could run the model "
                            f"(tried {', '.join(tried) or 'none'}).")
        if len(working) > 1:
            # Tiny MLPs often run faster on the CPU than through GPU copies: measure.
            lat = {n: median_latency_us(b.run) for n, b in working}
            best = min(lat, key=lat.__getitem__)
            log("inference: provider latency (µs, median) " +
                ", ".join(f"{n} {v:.1f}" for n, v in lat.items()) + f"; using {best}")
            working = [w for w in working if w[0] == best]
        self.provider, self._binding = working[0]
        self.session = self._binding.session
        self.reset_state()
        if provider not in ("auto", self.provider):
            log(f"inference: requested provider {provider} fell back to {self.provider}")

    @property
    def state(self) -> np.ndarray:
        """The current recurrent state (size `state_size`; on the CPU a view valid until
        the next step), zeros-length 1 for a stateless policy."""
        return self._binding.state

    def reset_state(self) -> None:
        """Zero the recurrent state (episode start). No-op cost for stateless policies."""
        self._binding.reset_state()

    @property
    def provider_name(self) -> str:
        return ORT_NAMES[self.provider]

    def step(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One batch-1 inference: (targets, action_mean, action_std), each (act_dim,) float32,
        views of buffers reused by the next call."""
        self.obs_buf[0] = obs
        self._binding.run()
        return self.targets, self.mean, self.std

    def run_batch(self, obs: np.ndarray, state: np.ndarray | None = None
                  ) -> dict[str, np.ndarray]:
        """Plain `run()` on a batch [B, obs_dim] (allocates; for tests and offline use).
        Recurrent policies: `state` [B, state_size] (zeros when None); the result then
        also holds STATE_OUT."""
        x = np.asarray(obs, dtype=np.float32)
        if not self.state_size:
            return dict(zip(OUTPUTS, self.session.run(list(OUTPUTS), {INPUT_OBS: x})))
        h = (np.zeros((x.shape[0], self.state_size), dtype=np.float32) if state is None
             else np.asarray(state, dtype=np.float32))
        names = [*OUTPUTS, STATE_OUT]
        return dict(zip(names, self.session.run(names, {INPUT_OBS: x, STATE_IN: h})))


FP32_TOL = 1e-4
"""A GPU provider's actions may differ from the CPU's by rounding (≈1e-6 measured on an
H200 with TF32 off), never by more than this (relative and absolute)."""
FP16_TOL = 2e-2
"""The same for TensorRT FP16 engines (10-bit mantissa)."""


def agree_with_cpu(binding: SessionBinding, cpu: ort.InferenceSession, tol: float,
                   steps: int = 8) -> None:
    """Run `steps` random observations (carrying the state) through `binding` and through
    the CPU session; raise RuntimeError if action_mean or the targets differ by more than
    `tol`. Restores `obs_buf` and zeroes the state afterwards."""
    rng = np.random.default_rng(0)
    saved = binding.obs_buf.copy()
    h = np.zeros((1, binding.state_size), dtype=np.float32)
    binding.reset_state()
    try:
        for _ in range(steps):
            binding.obs_buf[0] = rng.normal(size=binding.obs_buf.shape[1])
            feed = {INPUT_OBS: binding.obs_buf.copy()}
            names = [OUTPUT_TARGETS, OUTPUT_MEAN]
            if binding.state_size:
                feed[STATE_IN] = h
                names.append(STATE_OUT)
            ref = cpu.run(names, feed)
            binding.run()
            for name, want in zip(names, ref):
                got = binding.state[None] if name == STATE_OUT else binding.outputs[name]
                if not np.allclose(got, want, rtol=tol, atol=tol):
                    worst = float(np.max(np.abs(got - want)))
                    raise RuntimeError(f"its {name} differs from the CPU's by {worst:.2g} "
                                       f"(tolerance {tol:g}): it computes wrong actions")
            if binding.state_size:
                h = ref[-1]
    finally:
        binding.obs_buf[:] = saved
        binding.reset_state()


def _check_io(sess: ort.InferenceSession, meta: PolicyMetadata, origin: str) -> int:
    """Check the graph against its metadata; returns the state size (0: stateless)."""
    inputs = {i.name: i for i in sess.get_inputs()}
    outputs = {o.name: o for o in sess.get_outputs()}
    if INPUT_OBS not in inputs:
        raise UserError(f"{origin}: the graph has no input {INPUT_OBS!r} "
                        f"(inputs: {', '.join(inputs)}).")
    missing = [o for o in OUTPUTS if o not in outputs]
    if missing:
        raise UserError(f"{origin}: the graph lacks output(s) {', '.join(missing)}.")
    dim = inputs[INPUT_OBS].shape[-1]
    if isinstance(dim, int) and dim != meta.obs_dim:
        raise UserError(f"{origin}: input {INPUT_OBS!r} has {dim} entries but the metadata "
                        f"says obs_dim={meta.obs_dim}; the file is inconsistent.")
    if not meta.state_inputs:
        return 0
    if meta.state_inputs != [[STATE_IN, STATE_OUT]]:
        raise UserError(f"{origin}: state inputs {meta.state_inputs} are not supported by "
                        f"this runtime version (it carries one pair [{STATE_IN}, "
                        f"{STATE_OUT}]).")
    if STATE_IN not in inputs or STATE_OUT not in outputs:
        raise UserError(f"{origin}: the metadata lists a recurrent state but the graph lacks "
                        f"{STATE_IN!r}/{STATE_OUT!r}; the file is inconsistent.")
    size = inputs[STATE_IN].shape[-1]
    if not isinstance(size, int) or size != outputs[STATE_OUT].shape[-1]:
        raise UserError(f"{origin}: state input/output sizes are not fixed and equal "
                        f"({inputs[STATE_IN].shape} vs {outputs[STATE_OUT].shape}).")
    return size
