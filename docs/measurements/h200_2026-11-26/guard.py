"""On the GPU: the old binding (raw host pointers as inputs) computes wrong actions, and
agree_with_cpu must refuse it; the new one (device OrtValues) must pass."""
import sys

import numpy as np
import onnxruntime as ort

from deploy.inference import FP32_TOL, OUTPUTS, agree_with_cpu
from deploy.io_binding import SessionBinding
from deploy.providers import session_options

for path in sys.argv[1:]:
    cpu = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    cu = ort.InferenceSession(path, sess_options=session_options(),
                              providers=[("CUDAExecutionProvider", {"device_id": 0}),
                                         "CPUExecutionProvider"])
    ins = cu.get_inputs()
    obs = np.zeros((1, ins[0].shape[-1]), np.float32)
    state = ins[1].shape[-1] if len(ins) > 1 else 0
    act = cu.get_outputs()[0].shape[-1]
    for label, on in (("host pointers (old)", None), ("device OrtValues (new)", ("cuda", 0))):
        outs = {n: np.zeros((1, act), np.float32) for n in OUTPUTS}
        b = SessionBinding(cu, obs, outs, state, on)
        try:
            agree_with_cpu(b, cpu, FP32_TOL)
            print(path, cu.get_providers()[0], label, "ACCEPTED")
        except RuntimeError as e:
            print(path, cu.get_providers()[0], label, "REFUSED:", e)
