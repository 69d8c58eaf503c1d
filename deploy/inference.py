"""`OnnxPolicy`: an exported policy on onnxruntime, ready for a real-time loop.

    policy = OnnxPolicy("policy.onnx", provider="auto")
    targets, mean, std = policy.step(obs)          # obs: (obs_dim,) float

`step` copies `obs` into a pre-allocated input buffer and runs the session through IO
binding onto pre-allocated output buffers: no allocation per call, and the returned arrays
are the SAME buffers every call (copy them if you keep them). No RunOptions is passed:
onnxruntime 1.32's Python wrapper spends ~39 µs on an empty one (docs/deploy.md).

Recurrent policies (metadata `state_inputs`, see deploy/export.py) carry their state
between calls: two pre-allocated state buffers A and B and two IO bindings, one reading A
and writing B, the other reading B and writing A; `step` alternates between them, so the
state moves with no allocation and no re-binding. It starts at zeros; `reset_state()`
zeroes it (call it at an episode start). `state` is the current state (a view).

The constructor reads the metadata (`deploy.onnx_metadata`), checks the graph's inputs
and outputs against it, and proves the provider with a warm-up inference (falling back to
the next provider with one log line). Missing or corrupt files raise `UserError`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

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
        # A CPU session first: it validates the file and gives the metadata.
        try:
            probe = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"policy file {origin!r} is not a valid ONNX model ({first}). "
                            "Re-export it with `robot-ppo export`.") from None
        self.meta = PolicyMetadata.from_props(probe.get_modelmeta().custom_metadata_map, origin)
        self.obs_dim, self.act_dim = self.meta.obs_dim, self.meta.act_dim
        self.state_size = _check_io(probe, self.meta, origin)
        del probe
        # the two state buffers (see module doc); width 1 when stateless (never bound)
        self._states = [np.zeros((1, max(self.state_size, 1)), dtype=np.float32)
                        for _ in range(2)]
        self._cur = 0  # index of the buffer holding the current state

        self.obs_buf = np.zeros((1, self.obs_dim), dtype=np.float32)
        self.out = {name: np.zeros((1, self.act_dim), dtype=np.float32) for name in OUTPUTS}
        self.targets = self.out[OUTPUT_TARGETS][0]
        self.mean = self.out[OUTPUT_MEAN][0]
        self.std = self.out[OUTPUT_STD][0]

        settings = settings or ProviderSettings()
        tried = candidates(provider)
        working: list[tuple[str, ort.InferenceSession, ort.IOBinding]] = []
        for name in tried:
            bound: dict[str, ort.IOBinding] = {}

            def warm(s: ort.InferenceSession, bound: dict[str, ort.IOBinding] = bound) -> None:
                io = self._bind(s)
                s.run_with_iobinding(io)
                bound["io"] = io

            sess, why = try_session(model, name, settings, warm)
            if sess is None:
                nxt = next((p for p in tried if p != name and p not in
                            [w[0] for w in working]), None)
                log(f"inference: provider {name} unusable ({why}); "
                    f"{'trying ' + nxt if nxt else 'no provider left'}")
                continue
            working.append((name, sess, bound["io"]))
            if provider != "auto" or not time_providers:
                break
        if not working:
            raise UserError(f"{origin}: no onnxruntime provider could run the model "
                            f"(tried {', '.join(tried) or 'none'}).")
        if len(working) > 1:
            # Tiny MLPs often run faster on the CPU than through GPU copies: measure.
            lat = {n: median_latency_us(_runner(s, io)) for n, s, io in working}
            best = min(lat, key=lat.__getitem__)
            log("inference: provider latency (µs, median) " +
                ", ".join(f"{n} {v:.1f}" for n, v in lat.items()) + f"; using {best}")
            working = [w for w in working if w[0] == best]
        self.provider, self.session, self._io = working[0]
        # bindings[k] reads state buffer k and writes buffer 1 − k
        self._bindings = [self._io]
        if self.state_size:
            self._bindings.append(self._bind(self.session, flip=True))
        self.reset_state()
        if provider not in ("auto", self.provider):
            log(f"inference: requested provider {provider} fell back to {self.provider}")

    def _bind(self, sess: ort.InferenceSession, flip: bool = False) -> ort.IOBinding:
        """Bind the pre-allocated numpy buffers (CPU memory) as input and outputs; with a
        state, read buffer 0 and write buffer 1 (or the reverse with `flip`)."""
        io = sess.io_binding()
        io.bind_input(INPUT_OBS, "cpu", 0, np.float32, list(self.obs_buf.shape),
                      self.obs_buf.ctypes.data)
        for name, buf in self.out.items():
            io.bind_output(name, "cpu", 0, np.float32, list(buf.shape), buf.ctypes.data)
        if self.state_size:
            src, dst = self._states[int(flip)], self._states[1 - int(flip)]
            io.bind_input(STATE_IN, "cpu", 0, np.float32, list(src.shape), src.ctypes.data)
            io.bind_output(STATE_OUT, "cpu", 0, np.float32, list(dst.shape), dst.ctypes.data)
        return io

    @property
    def state(self) -> np.ndarray:
        """The current recurrent state (size `state_size`; a view, valid until the next
        step), zeros-length 1 for a stateless policy."""
        return self._states[self._cur][0]

    def reset_state(self) -> None:
        """Zero the recurrent state (episode start). No-op cost for stateless policies."""
        for buf in self._states:
            buf.fill(0.0)
        self._cur = 0

    @property
    def provider_name(self) -> str:
        return ORT_NAMES[self.provider]

    def step(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One batch-1 inference: (targets, action_mean, action_std), each (act_dim,) float32,
        views of buffers reused by the next call."""
        self.obs_buf[0] = obs
        if self.state_size:
            # read the current buffer, write the other; the written one becomes current
            self.session.run_with_iobinding(self._bindings[self._cur])
            self._cur = 1 - self._cur
        else:
            self.session.run_with_iobinding(self._io)
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


def _runner(sess: ort.InferenceSession, io: ort.IOBinding) -> Callable[[], None]:
    def run() -> None:
        sess.run_with_iobinding(io)
    return run


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
