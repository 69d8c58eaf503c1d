"""Payload codecs: every message type round-trips within half an LSB of its scale."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from firmware_bridge.codec import (
    CommandCodec,
    PayloadError,
    StateCodec,
    decode_error,
    decode_hello_reply,
    encode_error,
    encode_hello_reply,
)
from firmware_bridge.layouts import (
    Q_SCALE,
    QD_SCALE,
    TAU_SCALE,
    ErrorCode,
    Mode,
    Status,
    command_payload_size,
    state_payload_size,
)
from firmware_bridge.messages import DeviceInfo, ErrorInfo, ImuState, JointCommand

from . import vectors

N = 12
finite = st.floats(-1000, 1000, allow_nan=False)
vec = arrays(np.float64, N, elements=finite)
gain = arrays(np.float64, N, elements=st.floats(0, 1000, width=32))


@given(vec, vec, vec, gain, gain, arrays(np.uint8, N, elements=st.integers(0, 2)))
def test_command_roundtrip(q, qd, tau, kp, kd, mode) -> None:  # type: ignore[no-untyped-def]
    codec = CommandCodec(N)
    cmd = JointCommand(mode=mode, q=q, qd=qd, tau=tau, kp=kp, kd=kd)
    payload = codec.encode(cmd)
    assert len(payload) == command_payload_size(N) == 21 * N
    out = codec.decode(payload)
    np.testing.assert_array_equal(out.mode, mode)
    np.testing.assert_allclose(out.q, q, rtol=0, atol=Q_SCALE / 2 + 1e-12)
    np.testing.assert_allclose(out.qd, qd, rtol=0, atol=QD_SCALE / 2 + 1e-12)
    np.testing.assert_allclose(out.tau, tau, rtol=0, atol=TAU_SCALE / 2 + 1e-12)
    np.testing.assert_array_equal(out.kp, kp)  # float32-representable gains are exact
    np.testing.assert_array_equal(out.kd, kd)


def test_command_saturates_instead_of_wrapping() -> None:
    codec = CommandCodec(2)
    cmd = JointCommand.pd(q=[1e9, -1e9], kp=1.0, kd=0.1)
    out = codec.decode(codec.encode(cmd))
    assert out.q[0] == pytest.approx(2147.483647)
    assert out.q[1] == pytest.approx(-2147.483648)


def test_command_rejects_nan_and_wrong_size() -> None:
    codec = CommandCodec(3)
    with pytest.raises(PayloadError):
        codec.encode(JointCommand.pd(q=[0.0, np.nan, 0.0], kp=1.0, kd=0.0))
    with pytest.raises(PayloadError):
        codec.encode(JointCommand.pd(q=[0.0, 0.0], kp=1.0, kd=0.0))
    with pytest.raises(PayloadError):
        codec.decode(b"\x00" * 20)


@pytest.mark.parametrize("with_imu", [False, True])
def test_state_roundtrip(with_imu: bool) -> None:
    rng = np.random.default_rng(0)
    codec = StateCodec(N)
    q, qd, tau = rng.normal(size=(3, N)) * [[3.0], [30.0], [50.0]]
    quat = rng.normal(size=4)
    imu = ImuState(quat / np.linalg.norm(quat), rng.normal(size=3), rng.normal(size=3) * 9.8)
    payload = codec.encode(12.345678, q, qd, tau, Status.ENABLED, 7, imu if with_imu else None)
    assert len(payload) == state_payload_size(N, with_imu)
    s = codec.decode(payload)
    assert s.t == pytest.approx(12.345678, abs=1e-6)
    assert s.enabled and s.fault_code == 7
    assert bool(s.flags & Status.IMU) == with_imu
    np.testing.assert_allclose(s.q, q, atol=Q_SCALE / 2 + 1e-12, rtol=0)
    np.testing.assert_allclose(s.qd, qd, atol=QD_SCALE / 2 + 1e-12, rtol=0)
    np.testing.assert_allclose(s.tau, tau, atol=TAU_SCALE / 2 + 1e-12, rtol=0)
    if with_imu:
        assert s.imu is not None
        np.testing.assert_allclose(s.imu.quat, imu.quat, atol=1e-9)
        np.testing.assert_allclose(s.imu.gyro, imu.gyro, atol=1e-6)
        np.testing.assert_allclose(s.imu.accel, imu.accel, atol=1e-5)
    else:
        assert s.imu is None
    with pytest.raises(PayloadError):
        StateCodec(N - 1).decode(payload)


def test_hello_reply_and_error_roundtrip() -> None:
    info = DeviceInfo(1, 7, True, 0.1, 0.002, b"\x01\x02\x03\x04\x05\x06\x07\x08", "virt v1.0")
    assert decode_hello_reply(encode_hello_reply(info), 1) == info
    text = "host 2, device 1 ✓"
    err = decode_error(encode_error(ErrorCode.VERSION_MISMATCH, 0x0102, text))
    assert (err.code, err.detail, err.text) == (ErrorCode.VERSION_MISMATCH, 0x0102, text)


def test_modes_are_the_documented_values() -> None:
    assert (Mode.OFF, Mode.PD, Mode.DAMPING) == (0, 1, 2)


# --- the shared vectors (firmware_bridge/firmware/test_vectors/vectors.txt; the C tests too) ---


@pytest.mark.parametrize("fields", [t[1:] for t in vectors.lines("command")])
def test_command_vectors(fields: tuple[str, ...]) -> None:
    n, payload, joints = int(fields[0]), vectors.hexb(fields[1]), fields[2].split(",")
    cmd = CommandCodec(n).decode(payload)
    for j, rec in enumerate(joints):
        mode, q, qd, tau, kp, kd = rec.split(":")
        assert cmd.mode[j] == int(mode)
        assert cmd.q[j] == int(q) / 1e6 and cmd.qd[j] == int(qd) / 1e5
        assert cmd.tau[j] == int(tau) / 1e5
        assert cmd.kp[j] == vectors.f32(kp) and cmd.kd[j] == vectors.f32(kd)
    assert CommandCodec(n).encode(cmd) == payload


@pytest.mark.parametrize("fields", [t[1:] for t in vectors.lines("state")])
def test_state_vectors(fields: tuple[str, ...]) -> None:
    n, t_us, flags, fault = (int(v) for v in fields[:4])
    q, qd, tau, imu_raw = (np.array(vectors.ints(f)) for f in fields[4:8])
    imu = None
    if imu_raw.size:
        imu = ImuState(imu_raw[:4] / 1e9, imu_raw[4:7] / 1e6, imu_raw[7:] / 1e5)
    payload = StateCodec(n).encode(t_us / 1e6, q / 1e6, qd / 1e5, tau / 1e5, flags, fault, imu)
    assert payload == vectors.hexb(fields[8])


@pytest.mark.parametrize("fields", [t[1:] for t in vectors.lines("hello")])
def test_hello_reply_vectors(fields: tuple[str, ...]) -> None:
    n, has_imu, wd_ms, period_us = (int(v) for v in fields[:4])
    info = DeviceInfo(1, n, bool(has_imu), wd_ms / 1000, period_us / 1e6,
                      vectors.hexb(fields[4]), vectors.hexb(fields[5]).decode())  # fmt: skip
    assert encode_hello_reply(info) == vectors.hexb(fields[6])
    assert decode_hello_reply(vectors.hexb(fields[6]), 1) == info


@pytest.mark.parametrize("fields", [t[1:] for t in vectors.lines("error")])
def test_error_vectors(fields: tuple[str, ...]) -> None:
    code, detail, text = int(fields[0]), int(fields[1]), vectors.hexb(fields[2]).decode()
    assert encode_error(code, detail, text) == vectors.hexb(fields[3])
    assert decode_error(vectors.hexb(fields[3])) == ErrorInfo(code, detail, text)
