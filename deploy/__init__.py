"""deploy: ONNX export, on-robot inference, the fixed-rate runtime and its safety layer.

Import boundaries (docs/deploy.md, ARCHITECTURE.md):
- `deploy.export` and `deploy.parity_check` may import torch and robot_ppo.algo/train;
- everything else (inference, runtime, safety, timing, stats, estop) imports only numpy,
  onnxruntime, firmware_bridge and the light core, so `robot-ppo run` on a robot needs
  neither torch nor PyBullet. This module imports nothing heavy on purpose.
"""
