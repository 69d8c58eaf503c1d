"""Shared helpers for the simulator tests (real PyBullet, DIRECT mode)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

CUSTOM_URDF = """\
<?xml version="1.0"?>
<robot name="mini_cartpole">
  <link name="rail">
    <inertial><mass value="0"/><inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/>
    </inertial>
  </link>
  <link name="sled">
    <collision><geometry><box size="0.2 0.2 0.1"/></geometry></collision>
    <inertial><mass value="0.5"/>
      <inertia ixx="0.01" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.01"/></inertial>
  </link>
  <link name="stick">
    <collision><origin xyz="0 0 0.25"/><geometry><box size="0.02 0.02 0.5"/></geometry>
    </collision>
    <inertial><origin xyz="0 0 0.25"/><mass value="0.05"/>
      <inertia ixx="0.05" ixy="0" ixz="0" iyy="0.05" iyz="0" izz="0.001"/></inertial>
  </link>
  <joint name="rail_to_sled" type="prismatic">
    <parent link="rail"/><child link="sled"/><axis xyz="1 0 0"/>
    <limit effort="100" lower="-3" upper="3" velocity="5"/>
  </joint>
  <joint name="sled_to_stick" type="continuous">
    <parent link="sled"/><child link="stick"/><axis xyz="0 1 0"/>
  </joint>
</robot>
"""

CUSTOM_YAML = """\
name: mini_cartpole
urdf: mini.urdf
base: fixed
rates: {physics_hz: 200, control_hz: 50}
joints:
  - {name: rail_to_sled, motor_id: 3, position_limits: [-2.0, 2.0], velocity_limit: 5.0,
     effort_limit: 5.0}
  - {name: sled_to_stick, motor_id: 4, actuated: false, position_limits: [-3.2, 3.2],
     velocity_limit: 30.0, effort_limit: 1.0}
observation:
  terms:
    - {name: joint_pos}
    - {name: joint_vel, scale: 0.2}
action: {mode: torque, scale: 5.0}
task:
  name: balance
  episode_steps: 50
  params: {max_pole_angle: 0.3, max_cart_position: 2.0}
randomization:
  payload_link: stick
  ranges: {payload_kg: [0.0, 0.02]}
"""


@pytest.fixture
def custom_spec_path(tmp_path: Path) -> Path:
    """A user's own robot: URDF + spec YAML written next to each other."""
    (tmp_path / "mini.urdf").write_text(CUSTOM_URDF)
    path = tmp_path / "mini.yaml"
    path.write_text(textwrap.dedent(CUSTOM_YAML))
    return path
