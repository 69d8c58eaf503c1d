"""Spec errors seen through the simulator: they name the field and the problem."""

from __future__ import annotations

import copy

import pytest

import sim
from robot_ppo.spec import SpecError, load_spec


def test_unknown_robot_lists_builtins() -> None:
    with pytest.raises(SpecError, match="arm, cartpole, quadruped"):
        sim.make_env("hexapod")


def _spec(**changes: object) -> dict:
    data = copy.deepcopy(load_spec("cartpole").to_dict())
    data.update(changes)
    return data


def test_joint_missing_from_urdf_lists_urdf_joints() -> None:
    data = _spec()
    data["joints"][0]["name"] = "slider"
    with pytest.raises(SpecError, match=r"slider.*not in URDF.*slider_to_cart"):
        sim.make_env(data)


def test_missing_urdf_file() -> None:
    with pytest.raises(SpecError, match=r"cannot load URDF 'nope\.urdf'"):
        sim.make_env(_spec(urdf="nope.urdf"))


def test_unknown_task() -> None:
    data = _spec()
    data["task"]["name"] = "juggle"
    with pytest.raises(SpecError, match=r"task\.name.*juggle.*balance, reach, walk"):
        sim.make_env(data)


def test_bad_field_names_the_field() -> None:
    data = _spec()
    data["joints"][0]["effort_limit"] = -1
    with pytest.raises(SpecError, match=r"joints\[0\]\.effort_limit.*> 0"):
        sim.make_env(data)


def test_payload_link_must_exist() -> None:
    data = _spec(randomization={"payload_link": "tip"})
    with pytest.raises(SpecError, match="no link 'tip'"):
        sim.make_env(data)
