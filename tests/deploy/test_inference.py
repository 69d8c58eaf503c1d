"""OnnxPolicy: bad files, wrong robot, providers, no per-call allocation."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from deploy.inference import OnnxPolicy
from robot_ppo.errors import UserError
from robot_ppo.spec import spec_from_dict


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        OnnxPolicy(tmp_path / "nope.onnx")


def test_corrupt_file(tmp_path: Path, cartpole_onnx: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf at all" * 10)
    with pytest.raises(UserError, match="not a valid ONNX model"):
        OnnxPolicy(bad)
    half = tmp_path / "half.onnx"
    half.write_bytes(cartpole_onnx.read_bytes()[:300])
    with pytest.raises(UserError, match="not a valid ONNX model"):
        OnnxPolicy(half)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(UserError, match="empty"):
        OnnxPolicy(empty)


def test_plain_onnx_without_metadata_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Identity", ["obs"], ["targets"])], "g",
                          [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("targets", TensorProto.FLOAT, [1, 4])])
    p = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(g), str(p))
    with pytest.raises(UserError, match="not a robot_ppo policy"):
        OnnxPolicy(p)


def test_wrong_robot_refused_showing_both_layouts(cartpole_onnx: Path, cartpole) -> None:
    pol = OnnxPolicy(cartpole_onnx, provider="cpu", log=lambda s: None)
    d = cartpole.to_dict()
    d["name"] = "cartpole_v2"
    d["observation"]["terms"] = [{"name": "joint_vel", "scale": 0.2},
                                 {"name": "joint_pos", "scale": 1.0}]
    other = spec_from_dict(d)
    with pytest.raises(UserError) as exc:
        pol.meta.check_robot(other, "cartpole.onnx")
    msg = str(exc.value)
    assert "model observation layout (4): joint_pos/slider_to_cart" in msg
    assert "robot observation layout (4): joint_vel/slider_to_cart" in msg
    assert "action layout" in msg
    # same layout, other limits: refused by hash, unless allowed
    d = cartpole.to_dict()
    d["joints"][0]["effort_limit"] = 20.0
    other = spec_from_dict(d)
    with pytest.raises(UserError, match="spec hash"):
        pol.meta.check_robot(other, "cartpole.onnx")
    pol.meta.check_robot(other, "cartpole.onnx", allow_hash_mismatch=True)
    pol.meta.check_robot(cartpole, "cartpole.onnx")


def test_unavailable_provider_falls_back_with_one_line(cartpole_onnx: Path) -> None:
    lines: list[str] = []
    pol = OnnxPolicy(cartpole_onnx, provider="cuda", log=lines.append)
    assert pol.provider == "cpu"
    assert len(lines) == 1 and "cuda" in lines[0] and "cpu" in lines[0]
    pol = OnnxPolicy(cartpole_onnx, provider="auto", log=lines.append)
    assert pol.provider == "cpu"


def test_step_does_not_allocate_and_reuses_buffers(cartpole_onnx: Path) -> None:
    pol = OnnxPolicy(cartpole_onnx, provider="cpu", log=lambda s: None)
    obs = np.ones(4, dtype=np.float32)
    t1, _, _ = pol.step(obs)
    for _ in range(100):
        pol.step(obs)
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    for _ in range(2000):
        t2, _, _ = pol.step(obs)
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename") if s.size_diff > 0)
    assert grown < 4096, grown
    assert t1 is t2
