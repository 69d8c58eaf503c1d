"""IO binding: the device-resident input path (used on GPUs) computes exactly what the
in-place host path computes, state included, and `agree_with_cpu` refuses a session whose
actions differ from the CPU reference. Here the "device" is onnxruntime's CPU device: the
same OrtValue code path as on CUDA, minus the GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from deploy.inference import FP32_TOL, OUTPUTS, agree_with_cpu
from deploy.io_binding import SessionBinding
from robot_ppo.spec import RobotSpec
from tests.deploy.conftest import export_for
from tests.deploy.test_export_recurrent import export_recurrent


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def binding(path: Path, inputs_on: tuple[str, int] | None) -> SessionBinding:
    sess = session(path)
    obs_dim = sess.get_inputs()[0].shape[-1]
    act_dim = sess.get_outputs()[0].shape[-1]
    state = sess.get_inputs()[1].shape[-1] if len(sess.get_inputs()) > 1 else 0
    outs = {n: np.zeros((1, act_dim), dtype=np.float32) for n in OUTPUTS}
    return SessionBinding(sess, np.zeros((1, obs_dim), dtype=np.float32), outs, state,
                          inputs_on)


@pytest.fixture(scope="module")
def gru_onnx(tmp_path_factory: pytest.TempPathFactory, cartpole: RobotSpec) -> Path:
    return export_recurrent(cartpole, tmp_path_factory.mktemp("iob") / "gru.onnx")[0]


@pytest.mark.parametrize("model", ["cartpole_onnx", "gru_onnx"])
def test_device_inputs_match_host_inputs(model: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(model)
    host, dev = binding(path, None), binding(path, ("cpu", 0))
    rng = np.random.default_rng(3)
    for _episode in range(2):
        host.reset_state()
        dev.reset_state()
        for _ in range(40):
            x = rng.normal(size=host.obs_buf.shape[1]).astype(np.float32) * 2
            host.obs_buf[0] = x
            dev.obs_buf[0] = x
            host.run()
            dev.run()
            for name in OUTPUTS:
                np.testing.assert_array_equal(dev.outputs[name], host.outputs[name])
            np.testing.assert_array_equal(dev.state, host.state)
    if host.state_size:
        assert np.abs(dev.state).max() > 1e-3, "the state moved"
        dev.reset_state()
        assert not dev.state.any()


def test_agree_with_cpu_accepts_the_same_model_and_refuses_another(
        cartpole_onnx: Path, cartpole: RobotSpec, tmp_path: Path) -> None:
    same = binding(cartpole_onnx, ("cpu", 0))
    same.obs_buf[0] = 0.5
    agree_with_cpu(same, session(cartpole_onnx), FP32_TOL)
    assert np.all(same.obs_buf == 0.5), "the caller's observation is restored"

    other = export_for(cartpole, tmp_path / "other.onnx", seed=7)
    wrong = binding(other, ("cpu", 0))
    with pytest.raises(RuntimeError, match="differs from the CPU's"):
        agree_with_cpu(wrong, session(cartpole_onnx), FP32_TOL)


def test_agree_with_cpu_checks_the_state_of_a_recurrent_policy(
        gru_onnx: Path, cartpole: RobotSpec, tmp_path: Path) -> None:
    agree_with_cpu(binding(gru_onnx, ("cpu", 0)), session(gru_onnx), FP32_TOL)
    other, _, _ = export_recurrent(cartpole, tmp_path / "gru_other.onnx", seed=5)
    with pytest.raises(RuntimeError, match="differs from the CPU's"):
        agree_with_cpu(binding(other, ("cpu", 0)), session(gru_onnx), FP32_TOL)
