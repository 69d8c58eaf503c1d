"""Motor bus over serial: wire protocol, host-side bus, device-side reference logic."""
