"""Opening ports: unknown ports list the ones that exist; permission errors mention dialout."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tty

import pytest

from firmware_bridge import MotorBus, PortNotFound
from firmware_bridge.ports import available_ports


def test_unknown_port_lists_existing_ports() -> None:
    with pytest.raises(PortNotFound) as info:
        MotorBus("/dev/ttyDOES_NOT_EXIST", 1).connect()
    msg = str(info.value)
    assert "/dev/ttyDOES_NOT_EXIST" in msg
    ports = available_ports()
    if ports:
        assert all(p in msg for p in ports)
    else:
        assert "no serial ports were found" in msg


def test_permission_denied_mentions_dialout() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.chmod(path, 0o600)
    code = textwrap.dedent(
        f"""
        import os, sys
        from firmware_bridge import MotorBus, PortPermissionDenied
        if os.geteuid() == 0:
            os.setgid(65534); os.setuid(65534)  # drop root so file permissions apply
        try:
            MotorBus({path!r}, 1).connect()
        except PortPermissionDenied as exc:
            print(exc); sys.exit(0)
        sys.exit(3)
        """
    )
    try:
        if os.geteuid() != 0:
            os.chmod(path, 0o000)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "permission denied" in r.stdout and "dialout" in r.stdout
