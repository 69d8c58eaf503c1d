#!/usr/bin/env bash
# Host tests (plain and under ASan/UBSan) and, when arm-none-eabi-gcc is installed, the
# Cortex-M4 build of the example board with its size. Run from anywhere; builds go to
# build/firmware-* at the repository root. Needs cmake, a C compiler and libcmocka-dev;
# the Cortex-M4 step also runs `robot-ppo firmware-config` for the 12-motor quadruped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/build"

for variant in host asan; do
  flags=()
  [ "$variant" = asan ] && flags=(-DFW_SANITIZE=ON)
  cmake -S "$here" -B "$out/firmware-$variant" -DCMAKE_BUILD_TYPE=Debug "${flags[@]}" >/dev/null
  cmake --build "$out/firmware-$variant" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
  ctest --test-dir "$out/firmware-$variant" --output-on-failure
done

if command -v arm-none-eabi-gcc >/dev/null; then
  cfg="$out/firmware-m4-config"
  robot-ppo firmware-config --robot quadruped -o "$cfg/robot_config.h"
  cmake -S "$here" -B "$out/firmware-m4" -DCMAKE_TOOLCHAIN_FILE="$here/cmake/arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DFW_MAX_MOTORS=12 -DFW_ROBOT_CONFIG_DIR="$cfg" >/dev/null
  cmake --build "$out/firmware-m4" -j 2 >/dev/null
  arm-none-eabi-size "$out/firmware-m4/libfwcore.a" "$out/firmware-m4/example_board.elf"
else
  echo "arm-none-eabi-gcc not installed: Cortex-M4 build skipped" >&2
fi
