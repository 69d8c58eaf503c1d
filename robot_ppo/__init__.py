"""robot_ppo: PPO from PyBullet simulation to a real robot.

Importing this package is light (numpy + yaml): the robot runtime imports the
shared contract (`robot_ppo.spec`, `robot_ppo.state`, `robot_ppo.observation`,
`robot_ppo.action`, `robot_ppo.rollout_format`) without torch or PyBullet.
"""

__version__ = "0.1.0"
