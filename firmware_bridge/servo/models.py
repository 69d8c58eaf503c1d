"""Model names -> ``ServoModel`` per vendor, and the vendor's packet protocol.

``resolve_models(protocol, names)`` maps "" to the vendor's default model and refuses an
unknown name with a ``ValueError`` that lists the known ones (the caller turns it into the
user's one-line error). Vendors register here by name; their tables stay plain data.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence

from firmware_bridge.servo.protocol import PacketProtocol
from firmware_bridge.servo.tables import ServoModel

__all__ = ["CHAINS", "VENDORS", "UnknownModel", "chain_class", "packet_protocol", "resolve_models"]


class UnknownModel(ValueError):
    """A model name the vendor's table does not know; ``index`` = which servo."""

    def __init__(self, index: int, protocol: str, name: str, known: list[str]) -> None:
        self.index, self.name, self.known = index, name, known
        super().__init__(f"unknown {protocol} model {name!r}; known models: {', '.join(known)}")

VENDORS = {
    "dynamixel": ("firmware_bridge.servo.tables_dynamixel", "firmware_bridge.servo.dynamixel",
                  "DynamixelProtocol"),
    "feetech": ("firmware_bridge.servo.tables_feetech", "firmware_bridge.servo.feetech",
                "FeetechProtocol"),
}
"""Bus protocol name -> (table module, codec module, codec class)."""

CHAINS = {
    "dynamixel": ("firmware_bridge.servo.chain", "ServoChain"),
    "feetech": ("firmware_bridge.servo.chain_feetech", "FeetechChain"),
}
"""Bus protocol name -> (module, class) of its emulator; the class takes
``(plant, ids, models, calibration, actuated)`` like ``chain.ServoChain``."""


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
            raise UnknownModel(i, protocol, name, sorted(models))
        out.append(models[key])
    return out


def chain_class(protocol: str) -> type:
    """The vendor's emulator class; ValueError if this build has none for it."""
    module, cls = CHAINS.get(protocol, ("", ""))
    try:
        chain: type = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"no servo emulator for protocol {protocol!r} in this build; "
                         f"emulated: {', '.join(p for p in CHAINS if _has(p))}") from None
    return chain


def _has(protocol: str) -> bool:
    return importlib.util.find_spec(CHAINS[protocol][0]) is not None


def packet_protocol(protocol: str) -> PacketProtocol:
    _, codec, cls = _vendor(protocol)
    proto: PacketProtocol = getattr(importlib.import_module(codec), cls)()
    return proto
