"""Rollout log: the crash-safe record of what a policy saw and did on the robot.

Light core: numpy + stdlib only, so the on-robot runtime writes it without torch and
fine-tuning reads it without the runtime. The byte layout is in docs/rollout_format.md.

A run is a directory `<log_dir>/run-<UTC time>-<pid>[-k]/` holding
  header.json         format name + version, spec dict + spec_hash, policy metadata,
                      the step record's fields (name, dtype, shape), written atomically;
  seg-000000.rlog ... append-only segment files, each a sequence of framed chunks:
      32-byte chunk header  magic "RPPOCHNK", kind (0 steps, 1 event), seq, n_rows,
                            payload length, CRC32(payload), CRC32(first 28 header bytes)
      payload               n_rows packed step records (kind 0) or one JSON event (kind 1).

Durability: the control loop writes one row of a preallocated structured array per
step (`append`, a few µs); a full chunk (≤ `chunk_seconds` of data, by count at the
spec's control rate and by wall time) is handed to a background thread that writes
and fsyncs it, so disk latency never stalls the loop. A crash (SIGKILL, power loss)
loses the chunk being filled and at most the one being written: in the log it shows as
a torn tail, which the reader skips and reports. A chunk whose CRC fails is skipped
with a warning, never read as data; a damaged chunk header is skipped by scanning for
the next magic.
"""

from robot_ppo.rollout_format.reader import (
    ChunkProblem,
    Episode,
    RolloutData,
    RolloutReport,
    find_runs,
    read_rollouts,
)
from robot_ppo.rollout_format.schema import (
    CHUNK_HEADER_SIZE,
    FORMAT_NAME,
    FORMAT_VERSION,
    KIND_STEPS,
    RolloutFormatError,
    RolloutWriteError,
    gaussian_log_prob,
    sha256_file,
    step_dtype,
)
from robot_ppo.rollout_format.writer import RolloutWriter

__all__ = [
    "CHUNK_HEADER_SIZE", "FORMAT_NAME", "FORMAT_VERSION", "KIND_STEPS", "ChunkProblem",
    "Episode", "RolloutData",
    "RolloutFormatError", "RolloutReport", "RolloutWriteError", "RolloutWriter",
    "find_runs", "gaussian_log_prob", "read_rollouts", "sha256_file", "step_dtype",
]
