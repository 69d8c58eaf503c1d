"""`robot-ppo run --command`: the operator's task command reaches the observation."""

from __future__ import annotations

import numpy as np
import pytest

from deploy.runtime_config import parse_command
from robot_ppo.errors import UserError
from robot_ppo.observation import ObservationBuilder, observation_layout
from robot_ppo.spec import load_spec
from robot_ppo.state import RobotState


def test_named_components_in_spec_order_rest_zero() -> None:
    spec = load_spec("quadruped")
    names = list(spec.task.command)
    cmd = parse_command(spec, "vx=0.5")
    assert cmd.shape == (len(names),)
    assert cmd[names.index("vx")] == 0.5
    assert np.count_nonzero(cmd) == 1
    # and the shared builder puts it where the layout says
    obs = ObservationBuilder(spec).build(RobotState.zeros(spec.n_joints, imu=True), cmd)
    layout = observation_layout(spec)
    term = next(t for t in spec.observation.terms if t.name == "command")
    assert obs[layout.index("command/vx")] == pytest.approx(0.5 * term.scale)


@pytest.mark.parametrize(("robot", "text", "message"), [
    ("quadruped", "speed=1", "NAME one of: vx"),
    ("quadruped", "vx=fast", "not a number"),
    ("cartpole", "vx=1", "takes no command"),
])
def test_bad_commands_say_what_is_valid(robot: str, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_command(load_spec(robot), text)


def test_empty_command_is_zeros() -> None:
    assert parse_command(load_spec("cartpole"), "").shape == (0,)
