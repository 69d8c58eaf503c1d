#!/usr/bin/env bash
# Launcher for robot-ppo.service (NOT verified on Jetson hardware; see docs/jetson.md).
# Settings come from /etc/default/robot-ppo, e.g.
#   ROBOT_PPO_VENV=/opt/robot_ppo/venv
#   ROBOT_PPO_POLICY=/opt/robot_ppo/policy.onnx
#   ROBOT_PPO_PORT=/dev/robot-motors
#   ROBOT_PPO_CPU=3                  # an isolated core (isolcpus=3)
#   ROBOT_PPO_PROVIDER=auto          # auto | cpu | cuda | tensorrt
#   ROBOT_PPO_ARGS="--duration 0 --log-dir /var/lib/robot_ppo/logs"
set -euo pipefail

VENV="${ROBOT_PPO_VENV:-/opt/robot_ppo/venv}"
POLICY="${ROBOT_PPO_POLICY:-/opt/robot_ppo/policy.onnx}"
PORT="${ROBOT_PPO_PORT:-/dev/ttyACM0}"
CPU="${ROBOT_PPO_CPU:--1}"
PROVIDER="${ROBOT_PPO_PROVIDER:-auto}"
STATE_DIR="${RUNTIME_DIRECTORY:-/run/robot-ppo}"
ESTOP="${STATE_DIR}/estop"

# USB-serial adapters (FTDI) wait up to 16 ms before sending a short packet: lower it to 1 ms.
dev="$(readlink -f "${PORT}" || true)"
timer="/sys/bus/usb-serial/devices/$(basename "${dev}")/latency_timer"
if [[ -w "${timer}" ]]; then
    echo 1 > "${timer}"
fi

# A stale e-stop file makes the runtime refuse to start, on purpose: after an e-stop the
# operator re-arms with `rm /run/robot-ppo/estop` (the directory is tmpfs: empty at boot).

exec "${VENV}/bin/robot-ppo" run \
    --policy "${POLICY}" --port "${PORT}" --provider "${PROVIDER}" \
    --cpu "${CPU}" --estop-file "${ESTOP}" \
    --stats-file "${STATE_DIR}/loop_stats.json" \
    --trt-cache-dir "${ROBOT_PPO_TRT_CACHE:-/var/cache/robot_ppo/trt}" \
    ${ROBOT_PPO_ARGS:-}
