"""Forward kinematics of a serial chain read from the URDF, in numpy (no PyBullet).

Task rewards use it so that they depend only on joint positions: the same function scores
simulated steps and logged real rollouts. T_link = Π_j T_origin(j) · T_motion(j, q_j) along the
chain from the root link to the requested link.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pybullet_data

from robot_ppo.spec import RobotSpec, SpecError


def _rpy_matrix(r: float, p: float, y: float) -> np.ndarray:
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def _axis_angle(axis: np.ndarray, a: float) -> np.ndarray:
    """Rodrigues: R = I + sin(a)·K + (1 − cos(a))·K²."""
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)


@dataclass(frozen=True)
class ChainJoint:
    name: str
    kind: str
    origin: np.ndarray  # 4x4
    axis: np.ndarray
    spec_index: int  # index in the spec's joints (-1: not a spec joint, held at 0)


class Chain:
    """Root-to-link kinematic chain with `position(q)` in the robot's base frame."""

    def __init__(self, joints: list[ChainJoint]):
        self.joints = joints

    def transform(self, q: np.ndarray) -> np.ndarray:
        t = np.eye(4)
        for j in self.joints:
            t = t @ j.origin
            v = float(q[j.spec_index]) if j.spec_index >= 0 else 0.0
            m = np.eye(4)
            if j.kind in ("revolute", "continuous"):
                m[:3, :3] = _axis_angle(j.axis, v)
            elif j.kind == "prismatic":
                m[:3, 3] = j.axis * v
            t = t @ m
        return t

    def position(self, q: np.ndarray) -> np.ndarray:
        return self.transform(q)[:3, 3]


def _urdf_path(spec: RobotSpec) -> Path:
    from sim.robot import urdf_path

    p = Path(urdf_path(spec))
    if p.is_file():
        return p
    alt = Path(pybullet_data.getDataPath()) / spec.urdf
    if alt.is_file():
        return alt
    raise SpecError(f"robot '{spec.name}': URDF {spec.urdf!r} not found")


@functools.lru_cache(maxsize=16)
def _chain_cached(urdf: str, joint_names: tuple[str, ...], link: str) -> Chain:
    root = ET.parse(urdf).getroot()
    by_child = {}
    for j in root.findall("joint"):
        by_child[j.find("child").get("link")] = j  # type: ignore[union-attr]
    if link not in by_child and link not in {e.get("name") for e in root.findall("link")}:
        raise SpecError(f"URDF {urdf}: no link {link!r}")
    chain: list[ChainJoint] = []
    cur = link
    while cur in by_child:
        j = by_child[cur]
        o = j.find("origin")
        xyz = np.array([float(v) for v in (o.get("xyz", "0 0 0") if o is not None
                                           else "0 0 0").split()])
        rpy = [float(v) for v in (o.get("rpy", "0 0 0") if o is not None else "0 0 0").split()]
        origin = np.eye(4)
        origin[:3, :3] = _rpy_matrix(*rpy)
        origin[:3, 3] = xyz
        ax = j.find("axis")
        axis = np.array([float(v) for v in (ax.get("xyz", "1 0 0") if ax is not None
                                            else "1 0 0").split()])
        axis = axis / (np.linalg.norm(axis) or 1.0)
        name = j.get("name", "")
        idx = joint_names.index(name) if name in joint_names else -1
        chain.append(ChainJoint(name, j.get("type", "fixed"), origin, axis, idx))
        cur = j.find("parent").get("link", "")  # type: ignore[union-attr]
    return Chain(chain[::-1])


def chain_to(spec: RobotSpec, link: str) -> Chain:
    """The kinematic chain from the URDF root to `link`, joints indexed in spec order."""
    return _chain_cached(str(_urdf_path(spec)), tuple(j.name for j in spec.joints), link)
