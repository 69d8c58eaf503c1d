"""The robot spec: loading, round trip, hashing, and validation errors that name the field."""

from __future__ import annotations

import copy

import pytest
import yaml

from robot_ppo.spec import SpecError, list_builtin_robots, load_spec, spec_from_dict


def cartpole_dict() -> dict:
    return load_spec("cartpole").to_dict()


def test_builtin_cartpole_loads_with_expected_shape():
    spec = load_spec("cartpole")
    assert spec.n_joints == 2
    assert spec.act_dim == 1
    assert spec.rates.decimation == 4
    assert "cartpole" in list_builtin_robots()


def test_round_trip_through_dict_keeps_spec_and_hash():
    spec = load_spec("cartpole")
    again = spec_from_dict(spec.to_dict())
    assert again == spec
    assert again.spec_hash == spec.spec_hash


def test_editing_to_dict_leaves_the_spec_and_its_hash_alone():
    spec = load_spec("quadruped")
    before = spec.spec_hash
    data = spec.to_dict()
    data["task"]["params"]["reward_weights"]["alive"] = 9.0
    data["randomization"]["ranges"]["payload_kg"] = [0.0, 9.0]
    assert spec.task.params["reward_weights"]["alive"] == 0.2
    assert spec.randomization["ranges"]["payload_kg"] == [-1.0, 1.0]
    assert spec.spec_hash == before


def test_hash_ignores_randomization_but_not_limits():
    base = cartpole_dict()
    h0 = spec_from_dict(base).spec_hash
    rand = copy.deepcopy(base)
    rand["randomization"] = {"friction": [0.1, 2.0]}
    assert spec_from_dict(rand).spec_hash == h0
    lim = copy.deepcopy(base)
    lim["joints"][0]["effort_limit"] = 11.0
    assert spec_from_dict(lim).spec_hash != h0


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("urdf"), "field 'urdf' is missing"),
        (lambda d: d["joints"][0].update(effort_limit=-1), "joints[0].effort_limit' must be > 0"),
        (lambda d: d["joints"][1].update(position_limits=[1, -1]), "needs lower < upper"),
        (lambda d: d["joints"][0].update(default_position=9.0), "outside position_limits"),
        (lambda d: d["rates"].update(control_hz=70), "whole number of steps"),
        (lambda d: d["action"].update(mode="velocity"), "must be one of position, torque"),
        (lambda d: d["observation"]["terms"].append({"name": "base_ang_vel"}), "needs imu: true"),
        (lambda d: d["joints"][1].update(motor_id=1), "duplicate motor_id"),
        (lambda d: d.update(colour="red"), "unknown field(s) colour"),
        (lambda d: d["action"].update(scale=[1.0, 2.0]), "must be a list of 1 numbers"),
    ],
)
def test_validation_errors_name_field_and_problem(mutate, expected):
    data = cartpole_dict()
    mutate(data)
    with pytest.raises(SpecError) as err:
        spec_from_dict(data, origin="my_robot.yaml")
    assert expected in str(err.value)
    assert "my_robot.yaml" in str(err.value)


def test_unknown_robot_lists_builtins():
    with pytest.raises(SpecError) as err:
        load_spec("hexapod")
    assert "cartpole" in str(err.value)


def test_user_yaml_with_relative_urdf(tmp_path):
    data = cartpole_dict()
    (tmp_path / "bot.urdf").write_text("<robot name='x'/>")
    data["urdf"] = "bot.urdf"
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(data))
    spec = load_spec(path)
    assert spec.resolve_urdf() == str(tmp_path / "bot.urdf")


def test_bad_yaml_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(path)
