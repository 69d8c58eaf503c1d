"""Why do CUDA outputs differ from CPU? Variants of run / IO binding on one policy."""
import sys

import numpy as np
import onnxruntime as ort

from deploy.providers import session_options

CUDA = [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]


def d(a, b):
    return " ".join(f"{float(np.abs(u - v).max()):.1e}" for u, v in zip(a, b))


for path in sys.argv[1:]:
    print("##", path)
    cpu = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in cpu.get_outputs() if not o.name.startswith("state")]
    ins = {i.name: i.shape for i in cpu.get_inputs()}
    if len(ins) > 1:
        print("stateful, skipping deep checks; inputs", ins)
    dim = ins["obs"][-1]
    act = cpu.get_outputs()[0].shape[-1]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, dim)).astype(np.float32)
    feed = (lambda x: {"obs": x[None]}) if len(ins) == 1 else (
        lambda x, ins=ins: {"obs": x[None],
                            "state_in_0": np.zeros((1, ins["state_in_0"][-1]), np.float32)})
    ref = [cpu.run(names, feed(x)) for x in X]
    for label, so in (("ours", session_options()), ("default", ort.SessionOptions())):
        cu = ort.InferenceSession(path, sess_options=so, providers=CUDA)
        print(label, cu.get_providers())
        print(" run():", [d(cu.run(names, feed(x)), r) for x, r in zip(X, ref)])
    if len(ins) > 1:
        continue
    cu = ort.InferenceSession(path, sess_options=session_options(), providers=CUDA)
    obs = np.zeros((1, dim), np.float32)
    outs = {n: np.zeros((1, act), np.float32) for n in names}
    io = cu.io_binding()
    io.bind_input("obs", "cpu", 0, np.float32, [1, dim], obs.ctypes.data)
    for n in names:
        io.bind_output(n, "cpu", 0, np.float32, [1, act], outs[n].ctypes.data)
    res, prev = [], []
    for i, x in enumerate(X):
        obs[0] = x
        cu.run_with_iobinding(io)
        got = [outs[n].copy() for n in names]
        io.synchronize_outputs()
        got2 = [outs[n].copy() for n in names]
        res.append(d(got, ref[i]) + " | synced " + d(got2, ref[i]))
        prev.append(d(got, ref[i - 1]) if i else "-")
        print(" iobind cpu bufs: vs same step", res[-1], "; vs previous step", prev[-1])
    # outputs left to ORT (cpu), copied out
    io2 = cu.io_binding()
    for i, x in enumerate(X):
        obs[0] = x
        io2.bind_cpu_input("obs", obs)
        for n in names:
            io2.bind_output(n, "cpu")
        cu.run_with_iobinding(io2)
        print(" iobind bind_cpu_input + ORT-allocated outputs:",
              d(io2.copy_outputs_to_cpu(), ref[i]))
    io3 = cu.io_binding()
    for i, x in enumerate(X):
        obs[0] = x
        io3.bind_cpu_input("obs", obs)
        for n in names:
            io3.bind_output(n, "cuda")
        cu.run_with_iobinding(io3)
        print(" iobind outputs on cuda:", d(io3.copy_outputs_to_cpu(), ref[i]))
    # input as an OrtValue on the device
    for i, x in enumerate(X[:3] if "CUDAExecutionProvider" in cu.get_providers() else []):
        v = ort.OrtValue.ortvalue_from_numpy(x[None], "cuda", 0)
        io4 = cu.io_binding()
        io4.bind_ortvalue_input("obs", v)
        for n in names:
            io4.bind_output(n, "cpu", 0, np.float32, [1, act], outs[n].ctypes.data)
        cu.run_with_iobinding(io4)
        print(" obs OrtValue on cuda, outputs into cpu bufs:", d([outs[n] for n in names], ref[i]))
