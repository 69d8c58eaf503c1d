"""`robot-ppo firmware-config`: a robot_config.h that compiles with the C core and makes the
firmware's handshake announce the spec the policy was trained on, with serve's limits."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_bridge.c_device import firmware_source_dir
from firmware_bridge.codec import decode_hello_reply
from firmware_bridge.framing import FrameDecoder, encode_frame
from firmware_bridge.layouts import MsgType
from robot_ppo.cli import main as cli_main
from robot_ppo.spec import load_spec

# A board's main in miniature: the generated config, one HELLO through the byte path, the
# reply and every limit printed for the test to check.
PROGRAM = r"""
#include <stdio.h>
#include "fw_device.h"
#include "fw_port.h"
#include "robot_config.h"
static unsigned char tx[4096]; static size_t tx_len;
void fw_port_uart_write(void *b, const uint8_t *d, size_t n) { (void)b;
    for (size_t i = 0; i < n && tx_len < sizeof tx; ++i) tx[tx_len++] = d[i]; }
uint64_t fw_port_micros(void *b) { (void)b; return 0; }
void fw_port_set_outputs(void *b, const fw_joint_cmd *c, uint8_t n) { (void)b; (void)c; (void)n; }
void fw_port_read_sensors(void *b, fw_sensors *s) { (void)b; (void)s; }
static fw_device dev;
int main(int argc, char **argv) {
    if (fw_device_init(&dev, &fw_robot_config, NULL) != 0) return 3;
    for (int i = 1; i < argc; ++i) { unsigned v; sscanf(argv[i], "%2x", &v);
        fw_device_rx_byte(&dev, (uint8_t)v, 0); }
    for (size_t i = 0; i < tx_len; ++i) printf("%02x", tx[i]);
    printf("\n");
    for (int j = 0; j < fw_robot_config.motor_count; ++j) {
        const fw_joint_limits *l = &fw_robot_config.joint[j];
        printf("%ld %ld %ld %ld %ld %ld %.9g %.9g %.9g\n", (long)l->q_lo, (long)l->q_hi,
               (long)l->qd_lo, (long)l->qd_hi, (long)l->tau_lo, (long)l->tau_hi,
               (double)l->kp_max, (double)l->kd_max, (double)l->kd_safe);
    }
    printf("%u %u %u\n", (unsigned)fw_robot_config.watchdog_us, fw_robot_config.safe_mode,
           (unsigned)fw_robot_config.control_period_us);
    return 0;
}
"""


def _cc() -> str:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    return cc


@pytest.mark.parametrize("robot", ["cartpole", "quadruped"])
def test_generated_header_compiles_and_announces_the_spec(robot: str, tmp_path: Path) -> None:
    header = tmp_path / "inc" / "robot_config.h"
    assert cli_main(["firmware-config", "--robot", robot, "-o", str(header),
                     "--watchdog-ms", "80", "--safe-mode", "off"]) == 0  # fmt: skip
    src = firmware_source_dir()
    (tmp_path / "main.c").write_text(PROGRAM)
    exe = tmp_path / "board"
    subprocess.run([_cc(), "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{src / 'include'}",
                    f"-I{header.parent}", str(tmp_path / "main.c"),
                    *map(str, sorted((src / "src").glob("*.c"))), "-lm", "-o", str(exe)],
                   check=True)  # fmt: skip
    hello = encode_frame(1, MsgType.HELLO, 5)
    out = subprocess.run([str(exe), *(f"{b:02x}" for b in hello)], capture_output=True,
                         text=True, check=True).stdout.splitlines()  # fmt: skip
    [frame] = FrameDecoder().feed(bytes.fromhex(out[0]))
    assert (frame.msg_type, frame.seq) == (MsgType.HELLO_REPLY, 5)
    spec = load_spec(robot)
    info = decode_hello_reply(frame.payload, frame.version)
    assert info.spec_hash == bytes.fromhex(spec.spec_hash)[:8]  # what MotorBus checks
    assert info.motor_count == spec.n_joints
    assert info.watchdog_s == 0.08
    assert info.control_period_s == pytest.approx(1.0 / spec.rates.control_hz, abs=1e-6)
    # serve's limits (sim.plant.device_limits), in wire units, rounded inward
    for j, line in zip(spec.joints, out[1:-1], strict=True):
        q_lo, q_hi, qd_lo, qd_hi, tau_lo, tau_hi = (int(v) for v in line.split()[:6])
        assert j.position_limits[0] <= q_lo / 1e6 < j.position_limits[0] + 1e-6
        assert j.position_limits[1] - 1e-6 < q_hi / 1e6 <= j.position_limits[1]
        assert qd_hi / 1e5 <= j.velocity_limit and -qd_lo / 1e5 <= j.velocity_limit
        assert tau_hi / 1e5 <= j.effort_limit and -tau_lo / 1e5 <= j.effort_limit
        assert j.effort_limit - 1e-5 < tau_hi / 1e5
    assert out[-1].split()[:2] == ["80000", "0"]  # watchdog 80 ms, safe mode OFF


def test_bad_robot_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "robot_config.h"
    cmd = [sys.executable, "-m", "robot_ppo.cli", "firmware-config", "--robot", "no-such-robot",
           "-o", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "no-such-robot" in proc.stderr
    assert not out.exists()


def test_output_that_is_a_directory_is_refused(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["firmware-config", "--robot", "cartpole", "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
