"""Smart-servo buses (Dynamixel Protocol 2.0, Feetech STS/SCS) behind ``MotorBus``'s interface.

Files, one job each:
* ``tables.py``: the register-table records; ``tables_dynamixel.py`` / ``tables_feetech.py``:
  each vendor's models as plain data (``MODELS``, ``DEFAULT_MODEL``).
* ``calibration.py``: ticks <-> joint SI units; the only place servo units exist.
* ``protocol.py``: the ``PacketProtocol`` contract a vendor codec fulfils for the host bus.
* ``dynamixel.py`` / ``feetech.py``: the vendors' packet codecs (encode, decode, CRC/checksum).
* ``bus.py``: ``ServoBus``, the host side, same verbs and errors as ``firmware_bridge.bus``.
* ``chain.py``: ``ServoChain``, the emulator: servos with control tables over a ``Plant``,
  served by ``firmware_bridge.server.DeviceServer`` like the robot_ppo device.
* ``models.py``: ``resolve_models`` (model names -> ServoModel, errors list the known ones).

Like the rest of firmware_bridge this package imports no other project package: callers pass
plain numbers (ids, model names, calibration arrays).
"""
