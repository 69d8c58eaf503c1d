"""Motor bus over serial: wire protocol, host-side bus, device-side reference logic.

Imports only the standard library, numpy and pyserial; everything robot-specific arrives as
plain numbers (motor count, limits, spec hash bytes). The protocol is specified in
docs/protocol.md.
"""

from firmware_bridge.bus import MotorBus
from firmware_bridge.device import Device, DeviceConfig
from firmware_bridge.errors import (
    BusError,
    BusTimeout,
    DeviceError,
    DeviceFault,
    LinkLost,
    PortNotFound,
    PortPermissionDenied,
    ProtocolMismatch,
)
from firmware_bridge.faults import FaultConfig
from firmware_bridge.ideal_plant import IdealPlant
from firmware_bridge.layouts import PROTOCOL_VERSION, ErrorCode, Mode, MsgType, Status
from firmware_bridge.messages import (
    DeviceInfo,
    DeviceState,
    ErrorInfo,
    ImuState,
    JointCommand,
    PlantReading,
)
from firmware_bridge.plant import Plant
from firmware_bridge.server import DeviceServer
from firmware_bridge.transports import PtyTransport, SocketTransport, Transport, open_transport

__all__ = [
    "PROTOCOL_VERSION",
    "BusError",
    "BusTimeout",
    "Device",
    "DeviceConfig",
    "DeviceError",
    "DeviceFault",
    "DeviceInfo",
    "DeviceServer",
    "DeviceState",
    "ErrorCode",
    "ErrorInfo",
    "FaultConfig",
    "IdealPlant",
    "ImuState",
    "JointCommand",
    "LinkLost",
    "Mode",
    "MotorBus",
    "MsgType",
    "Plant",
    "PlantReading",
    "PortNotFound",
    "PortPermissionDenied",
    "ProtocolMismatch",
    "PtyTransport",
    "SocketTransport",
    "Status",
    "Transport",
    "open_transport",
]
