"""`python -m robot_ppo ...` is `robot-ppo ...` (torchrun starts modules: `-m robot_ppo`)."""

import sys

from robot_ppo.cli import main

if __name__ == "__main__":
    sys.exit(main())
