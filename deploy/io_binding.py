"""`SessionBinding`: one onnxruntime session bound to the policy's pre-allocated buffers.

Contract: the caller writes the observation into `obs_buf` and calls `run()`; the outputs
are then in the host buffers `outputs[name]` (the same arrays every call). A recurrent
policy's state is carried from run to run with no allocation: two state buffers A and B
and two IO bindings, one reading A and writing B, the other the reverse; `run` alternates.

Where the buffers live depends on the provider:
- CPU: the session reads and writes the numpy buffers in place (raw pointers, no copy).
- GPU (CUDA, TensorRT): the inputs must not be raw host pointers. With onnxruntime-gpu
  1.31.1 on an H200 such a binding ran without error but returned wrong actions (max
  |Δ| up to 16 against the CPU, bench/providers.py; docs/jetson.md), while outputs bound
  to host buffers were right. So the observation goes into a device OrtValue
  (`update_inplace` copies it in before each run), the recurrent state stays on the
  device between steps, and the outputs are written into the host buffers.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from deploy.onnx_metadata import INPUT_OBS, STATE_IN, STATE_OUT


class SessionBinding:
    """A session with its IO bindings (see module doc). `inputs_on`: None binds the host
    buffers in place (CPU sessions); (device type, id), e.g. ("cuda", 0), keeps the inputs
    and the state in OrtValues on that device (GPU sessions)."""

    def __init__(self, sess: ort.InferenceSession, obs_buf: np.ndarray,
                 outputs: dict[str, np.ndarray], state_size: int,
                 inputs_on: tuple[str, int] | None = None) -> None:
        self.session = sess
        self.obs_buf = obs_buf
        self.outputs = outputs
        self.state_size = state_size
        width = (1, max(state_size, 1))  # width 1 when stateless (never bound)
        self._host_states = [np.zeros(width, dtype=np.float32) for _ in range(2)]
        self._obs_value: ort.OrtValue | None = None
        self._dev_states: list[ort.OrtValue] = []
        if inputs_on is not None:
            device, device_id = inputs_on
            self._obs_value = ort.OrtValue.ortvalue_from_numpy(obs_buf, device, device_id)
            self._dev_states = [ort.OrtValue.ortvalue_from_numpy(s, device, device_id)
                                for s in self._host_states]
        # bindings[k] reads state buffer k and writes buffer 1 − k
        self._bindings = [self._bind(flip=False)]
        if state_size:
            self._bindings.append(self._bind(flip=True))
        self._cur = 0

    def _bind(self, flip: bool) -> ort.IOBinding:
        io = self.session.io_binding()
        if self._obs_value is None:
            io.bind_input(INPUT_OBS, "cpu", 0, np.float32, list(self.obs_buf.shape),
                          self.obs_buf.ctypes.data)
        else:
            io.bind_ortvalue_input(INPUT_OBS, self._obs_value)
        for name, buf in self.outputs.items():
            io.bind_output(name, "cpu", 0, np.float32, list(buf.shape), buf.ctypes.data)
        if self.state_size:
            src, dst = int(flip), 1 - int(flip)
            if self._dev_states:
                io.bind_ortvalue_input(STATE_IN, self._dev_states[src])
                io.bind_ortvalue_output(STATE_OUT, self._dev_states[dst])
            else:
                a, b = self._host_states[src], self._host_states[dst]
                io.bind_input(STATE_IN, "cpu", 0, np.float32, list(a.shape), a.ctypes.data)
                io.bind_output(STATE_OUT, "cpu", 0, np.float32, list(b.shape), b.ctypes.data)
        return io

    def run(self) -> None:
        """One inference on the current `obs_buf`; outputs land in `outputs`."""
        if self._obs_value is not None:
            self._obs_value.update_inplace(self.obs_buf)
        self.session.run_with_iobinding(self._bindings[self._cur])
        if self.state_size:  # the buffer just written becomes the current state
            self._cur = 1 - self._cur

    @property
    def state(self) -> np.ndarray:
        """The current recurrent state: a view on the CPU (valid until the next run), a
        copy from a GPU."""
        if self._dev_states:
            return self._dev_states[self._cur].numpy()[0]
        return self._host_states[self._cur][0]

    def reset_state(self) -> None:
        """Zero the recurrent state (episode start)."""
        for buf in self._host_states:
            buf.fill(0.0)
        for value, buf in zip(self._dev_states, self._host_states):
            value.update_inplace(buf)
        self._cur = 0
