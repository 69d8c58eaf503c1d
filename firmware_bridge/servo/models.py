"""Model names -> ``ServoModel`` per vendor, and the vendor's packet protocol.

``resolve_models(protocol, names)`` maps "" to the vendor's default model and refuses an
unknown name with a ``ValueError`` that lists the known ones (the caller turns it into the
user's one-line error). Vendors register here by name; their tables stay plain data.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from firmware_bridge.servo.protocol import PacketProtocol
from firmware_bridge.servo.tables import ServoModel

__all__ = ["VENDORS", "packet_protocol", "resolve_models"]

VENDORS = {
    "dynamixel": ("firmware_bridge.servo.tables_dynamixel", "firmware_bridge.servo.dynamixel",
                  "DynamixelProtocol"),
    "feetech": ("firmware_bridge.servo.tables_feetech", "firmware_bridge.servo.feetech",
                "FeetechProtocol"),
}
"""Bus protocol name -> (table module, codec module, codec class)."""


def _vendor(protocol: str) -> tuple[str, str, str]:
    if protocol not in VENDORS:
        raise ValueError(f"unknown servo protocol {protocol!r}; known: {', '.join(VENDORS)}")
    return VENDORS[protocol]


def vendor_models(protocol: str) -> tuple[dict[str, ServoModel], str]:
    """The vendor's MODELS table and its default model name."""
    mod = importlib.import_module(_vendor(protocol)[0])
    return mod.MODELS, mod.DEFAULT_MODEL


def resolve_models(protocol: str, names: Sequence[str]) -> list[ServoModel]:
    models, default = vendor_models(protocol)
    out = []
    for i, name in enumerate(names):
        key = name or default
        if key not in models:
            raise ValueError(f"servo {i}: unknown {protocol} model {name!r}; known models: "
                             f"{', '.join(sorted(models))}")
        out.append(models[key])
    return out


def packet_protocol(protocol: str) -> PacketProtocol:
    _, codec, cls = _vendor(protocol)
    proto: PacketProtocol = getattr(importlib.import_module(codec), cls)()
    return proto
