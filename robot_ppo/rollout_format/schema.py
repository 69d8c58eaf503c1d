"""Rollout log schema: format constants, the step record dtype, chunk framing, errors,
and the Gaussian log-prob that the runtime and fine-tuning share (see package doc)."""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path
from typing import Any, Literal

import numpy as np

from robot_ppo.errors import UserError
from robot_ppo.observation import observation_layout
from robot_ppo.spec import RobotSpec

FORMAT_NAME = "robot_ppo.rollout"
FORMAT_VERSION = 1
HEADER_FILE = "header.json"
SEGMENT_GLOB = "seg-*.rlog"

CHUNK_MAGIC = b"RPPOCHNK"
# magic, kind, reserved, seq, n_rows, payload_len, payload_crc  (28 bytes) + header_crc
_CHUNK_HEAD = struct.Struct("<8sHHIIII")
_CHUNK_CRC = struct.Struct("<I")
CHUNK_HEADER_SIZE = _CHUNK_HEAD.size + _CHUNK_CRC.size  # 32
KIND_STEPS = 0
KIND_EVENT = 1

EpisodeMark = Literal["start", "stop", "safety_trip"]
_MARKS = ("start", "stop", "safety_trip")

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class RolloutFormatError(UserError):
    """A rollout directory cannot be used (missing, empty, wrong robot, unknown version)."""


class RolloutWriteError(RuntimeError):
    """The background writer failed (disk full, I/O error); raised by the next call."""


# ---- the Gaussian both sides must agree on --------------------------------------------


def gaussian_log_prob(action: np.ndarray, mean: np.ndarray, std: np.ndarray) -> Any:
    """log N(a; μ, diag σ²) summed over the last axis:
        Σ_i [ −½((a_i − μ_i)/σ_i)² − log σ_i − ½ log 2π ].
    Returns a float for 1-D inputs, an array over the leading axes otherwise. σ is the std
    actually sampled with (the policy's std times the runtime's --explore scale)."""
    a = np.asarray(action, dtype=np.float64)
    mu = np.asarray(mean, dtype=np.float64)
    sd = np.asarray(std, dtype=np.float64)
    z = (a - mu) / sd
    out = np.sum(-0.5 * z * z - np.log(sd) - _LOG_SQRT_2PI, axis=-1)
    return float(out) if np.ndim(out) == 0 else out


# ---- the step record ------------------------------------------------------------------


def step_dtype(spec: RobotSpec) -> np.dtype:
    """The structured dtype of one logged control step for `spec` (little-endian, packed).

    Physical quantities are float64 (as RobotState/JointCommand carry them); policy-space
    quantities are float32 (what the ONNX graph computes in). `logp` and `std` are NaN
    when the step was not exploring; `action_mean` equals `action` then.
    """
    nj, na = spec.n_joints, spec.act_dim
    nobs = len(observation_layout(spec))
    fields: list[tuple[Any, ...]] = [
        ("t", "<f8"), ("state_t", "<f8"), ("step", "<i8"), ("episode", "<i4"),
        ("safety_flags", "<u4"),
        ("q", "<f8", (nj,)), ("qd", "<f8", (nj,)), ("tau", "<f8", (nj,)),
    ]
    if spec.imu:
        fields += [("base_quat", "<f8", (4,)), ("base_ang_vel", "<f8", (3,))]
    fields += [
        ("obs", "<f4", (nobs,)),
        ("cmd_mode", "u1", (nj,)), ("cmd_q", "<f8", (nj,)), ("cmd_qd", "<f8", (nj,)),
        ("cmd_tau", "<f8", (nj,)), ("cmd_kp", "<f8", (nj,)), ("cmd_kd", "<f8", (nj,)),
        ("action", "<f4", (na,)), ("action_mean", "<f4", (na,)), ("std", "<f4", (na,)),
        ("logp", "<f4"),
    ]
    return np.dtype(fields)


def _dtype_to_json(dt: np.dtype) -> list[dict[str, Any]]:
    assert dt.names is not None
    out = []
    for name in dt.names:
        sub = dt.fields[name][0]  # type: ignore[index]
        base, shape = (sub.base, list(sub.shape)) if sub.shape else (sub, [])
        out.append({"name": name, "dtype": base.str, "shape": shape})
    return out


def _dtype_from_json(fields: list[dict[str, Any]]) -> np.dtype:
    return np.dtype([(f["name"], f["dtype"], tuple(f["shape"])) if f["shape"]
                     else (f["name"], f["dtype"]) for f in fields])


def _chunk_header(kind: int, seq: int, n_rows: int, payload: bytes | memoryview) -> bytes:
    head = _CHUNK_HEAD.pack(CHUNK_MAGIC, kind, 0, seq & 0xFFFFFFFF, n_rows, len(payload),
                            zlib.crc32(payload))
    return head + _CHUNK_CRC.pack(zlib.crc32(head))


def sha256_file(path: str | Path) -> str:
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- writer ---------------------------------------------------------------------------
