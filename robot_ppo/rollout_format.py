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

from __future__ import annotations

import json
import math
import os
import queue
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

from robot_ppo.action import JointCommand
from robot_ppo.errors import UserError
from robot_ppo.observation import observation_layout
from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState

FORMAT_NAME = "robot_ppo.rollout"
FORMAT_VERSION = 1
HEADER_FILE = "header.json"
SEGMENT_GLOB = "seg-*.rlog"

CHUNK_MAGIC = b"RPPOCHNK"
# magic, kind, reserved, seq, n_rows, payload_len, payload_crc  (28 bytes) + header_crc
_CHUNK_HEAD = struct.Struct("<8sHHIIII")
_CHUNK_CRC = struct.Struct("<I")
CHUNK_HEADER_SIZE = _CHUNK_HEAD.size + _CHUNK_CRC.size  # 32
KIND_STEPS = 0
KIND_EVENT = 1

EpisodeMark = Literal["start", "stop", "safety_trip"]
_MARKS = ("start", "stop", "safety_trip")

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class RolloutFormatError(UserError):
    """A rollout directory cannot be used (missing, empty, wrong robot, unknown version)."""


class RolloutWriteError(RuntimeError):
    """The background writer failed (disk full, I/O error); raised by the next call."""


# ---- the Gaussian both sides must agree on --------------------------------------------


def gaussian_log_prob(action: np.ndarray, mean: np.ndarray, std: np.ndarray) -> Any:
    """log N(a; μ, diag σ²) summed over the last axis:
        Σ_i [ −½((a_i − μ_i)/σ_i)² − log σ_i − ½ log 2π ].
    Returns a float for 1-D inputs, an array over the leading axes otherwise. σ is the std
    actually sampled with (the policy's std times the runtime's --explore scale)."""
    a = np.asarray(action, dtype=np.float64)
    mu = np.asarray(mean, dtype=np.float64)
    sd = np.asarray(std, dtype=np.float64)
    z = (a - mu) / sd
    out = np.sum(-0.5 * z * z - np.log(sd) - _LOG_SQRT_2PI, axis=-1)
    return float(out) if np.ndim(out) == 0 else out


# ---- the step record ------------------------------------------------------------------


def step_dtype(spec: RobotSpec) -> np.dtype:
    """The structured dtype of one logged control step for `spec` (little-endian, packed).

    Physical quantities are float64 (as RobotState/JointCommand carry them); policy-space
    quantities are float32 (what the ONNX graph computes in). `logp` and `std` are NaN
    when the step was not exploring; `action_mean` equals `action` then.
    """
    nj, na = spec.n_joints, spec.act_dim
    nobs = len(observation_layout(spec))
    fields: list[tuple[Any, ...]] = [
        ("t", "<f8"), ("state_t", "<f8"), ("step", "<i8"), ("episode", "<i4"),
        ("safety_flags", "<u4"),
        ("q", "<f8", (nj,)), ("qd", "<f8", (nj,)), ("tau", "<f8", (nj,)),
    ]
    if spec.imu:
        fields += [("base_quat", "<f8", (4,)), ("base_ang_vel", "<f8", (3,))]
    fields += [
        ("obs", "<f4", (nobs,)),
        ("cmd_mode", "u1", (nj,)), ("cmd_q", "<f8", (nj,)), ("cmd_qd", "<f8", (nj,)),
        ("cmd_tau", "<f8", (nj,)), ("cmd_kp", "<f8", (nj,)), ("cmd_kd", "<f8", (nj,)),
        ("action", "<f4", (na,)), ("action_mean", "<f4", (na,)), ("std", "<f4", (na,)),
        ("logp", "<f4"),
    ]
    return np.dtype(fields)


def _dtype_to_json(dt: np.dtype) -> list[dict[str, Any]]:
    assert dt.names is not None
    out = []
    for name in dt.names:
        sub = dt.fields[name][0]  # type: ignore[index]
        base, shape = (sub.base, list(sub.shape)) if sub.shape else (sub, [])
        out.append({"name": name, "dtype": base.str, "shape": shape})
    return out


def _dtype_from_json(fields: list[dict[str, Any]]) -> np.dtype:
    return np.dtype([(f["name"], f["dtype"], tuple(f["shape"])) if f["shape"]
                     else (f["name"], f["dtype"]) for f in fields])


def _chunk_header(kind: int, seq: int, n_rows: int, payload: bytes | memoryview) -> bytes:
    head = _CHUNK_HEAD.pack(CHUNK_MAGIC, kind, 0, seq & 0xFFFFFFFF, n_rows, len(payload),
                            zlib.crc32(payload))
    return head + _CHUNK_CRC.pack(zlib.crc32(head))


def _fsync_dir(path: Path) -> None:
    """Make a new directory entry durable (POSIX: fsync the directory itself)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: str | Path) -> str:
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- writer ---------------------------------------------------------------------------


class RolloutWriter:
    """Records control steps of one run into a new run directory under `log_dir`.

    Hot path: `append` copies the step into row n of a preallocated structured buffer
    (per-field views, no allocation). A buffer holding `chunk_seconds` of data (by wall
    time since its first row, or full at the spec's control rate) goes to a background
    thread that writes + fsyncs it; the thread also flushes a partly filled buffer that
    has waited `chunk_seconds` (a stalled loop). Buffers come from a fixed pool: if the
    disk falls `pool - 1` chunks behind, the current chunk is dropped (and counted in
    `dropped_rows`) rather than block the control loop; `backpressure="block"` waits
    instead, for writers that run faster than real time (logging simulated rollouts).
    """

    def __init__(self, log_dir: str | Path, spec: RobotSpec, policy_meta: dict[str, Any],
                 chunk_seconds: float = 1.0, explore: bool = False, *,
                 safety_flag_names: Sequence[str] = (), segment_chunks: int = 600,
                 pool: int = 4, chunk_rows: int | None = None,
                 backpressure: Literal["drop", "block"] = "drop") -> None:
        if chunk_seconds <= 0:
            raise ValueError("chunk_seconds must be > 0")
        self.spec = spec
        self.spec_hash = spec.spec_hash
        self.dtype = step_dtype(spec)
        self.chunk_seconds = float(chunk_seconds)
        self.explore = bool(explore)
        self.segment_chunks = int(segment_chunks)
        if backpressure not in ("drop", "block"):
            raise ValueError(f"backpressure must be 'drop' or 'block', got {backpressure!r}")
        self.backpressure = backpressure
        self.capacity = int(chunk_rows or max(1, math.ceil(chunk_seconds
                                                           * spec.rates.control_hz)))
        self.run_dir = _new_run_dir(Path(log_dir))
        header = {
            "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "created_utc": datetime.now(timezone.utc).isoformat(),
            "spec_hash": self.spec_hash, "spec": spec.to_dict(),
            "policy": dict(policy_meta), "explore": self.explore,
            "chunk_seconds": self.chunk_seconds, "chunk_rows": self.capacity,
            "control_hz": spec.rates.control_hz,
            "observation_layout": observation_layout(spec),
            "safety_flag_names": list(safety_flag_names),
            "fields": _dtype_to_json(self.dtype), "record_size": self.dtype.itemsize,
        }
        tmp = self.run_dir / (HEADER_FILE + ".tmp")
        with open(tmp, "w") as fh:
            json.dump(header, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.run_dir / HEADER_FILE)
        _fsync_dir(self.run_dir)

        self._free: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        for _ in range(max(2, pool) - 1):
            self._free.put(np.zeros(self.capacity, dtype=self.dtype))
        self._todo: queue.SimpleQueue[tuple[int, Any, int] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._set_active(np.zeros(self.capacity, dtype=self.dtype))
        self._n = 0
        self._t0 = 0.0
        self._step = 0
        self._episode = -1
        self._open = False
        self._seq = 0
        self._closed = False
        self._error: BaseException | None = None
        self.dropped_rows = 0
        self.chunks_written = 0
        self._segment: Any = None
        self._segment_index = -1
        self._segment_chunks_done = 0
        self._thread = threading.Thread(target=self._writer_loop, name="rollout-writer",
                                        daemon=True)
        self._thread.start()

    # -- hot path --------------------------------------------------------------------
    def _set_active(self, buf: np.ndarray) -> None:
        self._buf = buf
        # Field views once per buffer: row writes are then plain ndarray item assignments.
        f = {name: buf[name] for name in self.dtype.names or ()}
        self._f = f
        self._imu = "base_quat" in f

    def append(self, t: float, state: RobotState, obs: np.ndarray, command: JointCommand,
               action_raw: np.ndarray, logp: float | None = None,
               std: np.ndarray | None = None, safety_flags: int = 0, *,
               action_mean: np.ndarray | None = None) -> None:
        """Record one control step.

        t: host time of the step (s); state: what the bus read; obs: the observation the
        policy saw; command: what was sent after safety; action_raw: the action in the
        policy's space that produced the command (sampled when exploring); logp/std: its
        log-probability under N(action_mean, std²) and that std, when exploring;
        action_mean: the policy's mean (defaults to action_raw); safety_flags: bit flags
        of the interventions safety made at this step (names in the header).
        """
        if self._error is not None:
            raise RolloutWriteError(f"rollout writer failed: {self._error}") from self._error
        with self._lock:
            if self._closed:
                raise RuntimeError("RolloutWriter is closed")
            if not self._open:
                self._mark("start", "implicit (append before mark_episode)")
            i = self._n
            if i == 0:
                self._t0 = time.monotonic()
            f = self._f
            f["t"][i] = t
            f["state_t"][i] = state.t
            f["step"][i] = self._step
            f["episode"][i] = self._episode
            f["safety_flags"][i] = safety_flags
            f["q"][i] = state.q
            f["qd"][i] = state.qd
            f["tau"][i] = state.tau
            if self._imu:
                f["base_quat"][i] = state.base_quat
                f["base_ang_vel"][i] = state.base_ang_vel
            f["obs"][i] = obs
            f["cmd_mode"][i] = command.mode
            f["cmd_q"][i] = command.q
            f["cmd_qd"][i] = command.qd
            f["cmd_tau"][i] = command.tau
            f["cmd_kp"][i] = command.kp
            f["cmd_kd"][i] = command.kd
            f["action"][i] = action_raw
            f["action_mean"][i] = action_raw if action_mean is None else action_mean
            f["std"][i] = np.nan if std is None else std
            f["logp"][i] = np.nan if logp is None else logp
            self._step += 1
            self._n = i + 1
            if self._n >= self.capacity or time.monotonic() - self._t0 >= self.chunk_seconds:
                self._submit_locked()

    def _submit_locked(self) -> None:
        if self._n == 0:
            return
        try:
            if self.backpressure == "block":
                # Offline writers (sim collection, tests) run faster than real time: wait.
                spare = self._free.get(timeout=60.0)
            else:
                spare = self._free.get_nowait()
        except queue.Empty:
            # The disk is pool-1 chunks behind: keep the loop real-time, lose this chunk.
            self.dropped_rows += self._n
            self._n = 0
            return
        self._todo.put((KIND_STEPS, self._buf, self._n))
        self._set_active(spare)
        self._n = 0

    # -- episodes ----------------------------------------------------------------------
    def mark_episode(self, kind: EpisodeMark, reason: str = "") -> None:
        """Episode boundary: "start" (operator), "stop" (operator; the episode is cut, not
        failed) or "safety_trip" (terminal: safety ended it). Rows logged before the next
        boundary belong to the episode."""
        if kind not in _MARKS:
            raise ValueError(f"kind must be one of {_MARKS}, got {kind!r}")
        with self._lock:
            if self._closed:
                raise RuntimeError("RolloutWriter is closed")
            self._mark(kind, reason)

    def _mark(self, kind: str, reason: str) -> None:
        if kind == "start":
            if self._open:
                self._mark("stop", "restarted")
            self._episode += 1
            self._open = True
        elif not self._open:
            return  # nothing to end
        else:
            self._open = False
        # Rows before the event go out first so the file keeps the logical order.
        self._submit_locked()
        event = {"kind": kind, "reason": reason, "episode": self._episode, "step": self._step,
                 "wall_time": time.time()}
        self._todo.put((KIND_EVENT, json.dumps(event).encode(), 0))

    def close(self) -> None:
        """End an open episode ("stop"), flush, fsync and stop the writer thread."""
        with self._lock:
            if self._closed:
                return
            if self._open:
                self._mark("stop", "writer closed")
            self._submit_locked()
            info = {"kind": "close", "reason": "", "episode": self._episode, "step": self._step,
                    "wall_time": time.time(), "dropped_rows": self.dropped_rows}
            self._todo.put((KIND_EVENT, json.dumps(info).encode(), 0))
            self._todo.put(None)
            self._closed = True
        self._thread.join()
        if self._segment is not None:
            self._segment.close()
        if self._error is not None:
            raise RolloutWriteError(f"rollout writer failed: {self._error}") from self._error

    def __enter__(self) -> RolloutWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- background thread ---------------------------------------------------------------
    def _writer_loop(self) -> None:
        poll = self.chunk_seconds / 4
        while True:
            try:
                item = self._todo.get(timeout=poll)
            except queue.Empty:
                # Loop stalled with a partly filled chunk: do not let it age past chunk_seconds.
                with self._lock:
                    if (not self._closed and self._n
                            and time.monotonic() - self._t0 >= self.chunk_seconds):
                        self._submit_locked()
                continue
            if item is None:
                return
            kind, data, n = item
            try:
                if kind == KIND_STEPS:
                    payload = data[:n].tobytes()
                    self._free.put(data)
                else:
                    payload = data
                self._write_chunk(kind, n, payload)
            except BaseException as exc:  # surfaced by the next append/close
                self._error = exc
                return

    def _write_chunk(self, kind: int, n_rows: int, payload: bytes) -> None:
        if self._segment is None or self._segment_chunks_done >= self.segment_chunks:
            if self._segment is not None:
                self._segment.close()
            self._segment_index += 1
            path = self.run_dir / f"seg-{self._segment_index:06d}.rlog"
            self._segment = open(path, "ab")  # noqa: SIM115 (held across chunks)
            _fsync_dir(self.run_dir)
            self._segment_chunks_done = 0
        fh = self._segment
        fh.write(_chunk_header(kind, self._seq, n_rows, payload))
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
        self._seq += 1
        self._segment_chunks_done += 1
        self.chunks_written += 1


def _new_run_dir(log_dir: Path) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    base = f"run-{stamp}-{os.getpid()}"
    for k in range(1000):
        path = log_dir / (base if k == 0 else f"{base}-{k}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        _fsync_dir(log_dir)
        return path
    raise RuntimeError(f"cannot create a run directory in {log_dir}")


# ---- reader ---------------------------------------------------------------------------


@dataclass
class ChunkProblem:
    """A chunk (or byte range) the reader did not use, and why."""

    file: str
    offset: int
    length: int
    problem: str


@dataclass
class RolloutReport:
    chunks_read: int = 0
    rows_read: int = 0
    torn_tails: list[ChunkProblem] = field(default_factory=list)
    """Incomplete chunk at the end of a segment: the write a crash interrupted."""
    corrupt: list[ChunkProblem] = field(default_factory=list)
    """Chunks whose CRC failed, or damaged headers skipped by resync."""
    unclosed_runs: list[str] = field(default_factory=list)
    """Runs without a close event (the writer crashed or was killed)."""
    dropped_rows: int = 0
    """Rows the writer dropped to keep the loop real-time (from close events)."""

    def summary(self) -> str:
        parts = [f"{self.rows_read} steps from {self.chunks_read} chunks"]
        if self.torn_tails:
            parts.append(f"{len(self.torn_tails)} torn tail(s) skipped")
        if self.corrupt:
            parts.append(f"{len(self.corrupt)} corrupt chunk(s) skipped")
        if self.unclosed_runs:
            parts.append(f"{len(self.unclosed_runs)} run(s) not closed cleanly")
        if self.dropped_rows:
            parts.append(f"{self.dropped_rows} step(s) dropped by the writer")
        return "; ".join(parts)


@dataclass
class Episode:
    """One episode's steps (a structured array with the fields of `step_dtype`)."""

    run_dir: str
    index: int
    rows: np.ndarray
    start_reason: str
    end: Literal["stop", "safety_trip", "unterminated"]
    """stop: cut by the operator; safety_trip: terminal; unterminated: the log ended."""
    end_reason: str

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.rows[name]

    @property
    def terminal(self) -> bool:
        return self.end == "safety_trip"


@dataclass
class RolloutData:
    episodes: list[Episode]
    spec_hash: str
    spec: dict[str, Any]
    headers: list[dict[str, Any]]
    files: list[str]
    """Every header and segment file read (for lineage hashes)."""
    report: RolloutReport

    @property
    def n_steps(self) -> int:
        return sum(len(e) for e in self.episodes)


def find_runs(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Run directories (holding header.json) at or below each path, sorted per path."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    runs: list[Path] = []
    for p in map(Path, items):
        if not p.exists():
            raise RolloutFormatError(f"rollout directory {str(p)!r} does not exist.")
        if (p / HEADER_FILE).is_file():
            runs.append(p)
            continue
        found = sorted(h.parent for h in p.rglob(HEADER_FILE))
        if not found:
            raise RolloutFormatError(
                f"rollout directory {str(p)!r} is empty: no run found (a run is a directory "
                f"with {HEADER_FILE}, written by `robot-ppo run --log-dir`).")
        runs.extend(found)
    return runs


def _load_header(run: Path) -> dict[str, Any]:
    try:
        header = json.loads((run / HEADER_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RolloutFormatError(f"{run / HEADER_FILE}: unreadable header: {exc}") from None
    if header.get("format") != FORMAT_NAME:
        raise RolloutFormatError(f"{run}: not a robot_ppo rollout (format "
                                 f"{header.get('format')!r}).")
    if header.get("format_version") != FORMAT_VERSION:
        raise RolloutFormatError(f"{run}: rollout format version {header.get('format_version')}"
                                 f" is not supported (this reader knows {FORMAT_VERSION}).")
    return header


def _scan_segment(path: Path, dtype: np.dtype, report: RolloutReport,
                  rows: list[np.ndarray], events: list[dict[str, Any]]) -> None:
    blob = path.read_bytes()
    size = len(blob)
    pos = 0
    while pos < size:
        if size - pos < CHUNK_HEADER_SIZE:
            report.torn_tails.append(ChunkProblem(str(path), pos, size - pos,
                                                  "incomplete chunk header at end of file"))
            return
        head = blob[pos:pos + _CHUNK_HEAD.size]
        magic, kind, _res, _seq, n_rows, plen, pcrc = _CHUNK_HEAD.unpack(head)
        (hcrc,) = _CHUNK_CRC.unpack_from(blob, pos + _CHUNK_HEAD.size)
        if magic != CHUNK_MAGIC or zlib.crc32(head) != hcrc:
            nxt = blob.find(CHUNK_MAGIC, pos + 1)
            end = size if nxt < 0 else nxt
            problem = ChunkProblem(str(path), pos, end - pos,
                                   "damaged chunk header; skipped to the next chunk")
            report.corrupt.append(problem)
            warnings.warn(f"rollout {path}: {problem.problem} (offset {pos}, "
                          f"{problem.length} bytes)", stacklevel=3)
            pos = end
            continue
        start = pos + CHUNK_HEADER_SIZE
        if start + plen > size:
            report.torn_tails.append(ChunkProblem(str(path), pos, size - pos,
                                                  "chunk cut short at end of file"))
            return
        payload = blob[start:start + plen]
        pos = start + plen
        if zlib.crc32(payload) != pcrc:
            report.corrupt.append(ChunkProblem(str(path), start - CHUNK_HEADER_SIZE,
                                               CHUNK_HEADER_SIZE + plen, "payload CRC mismatch"))
            warnings.warn(f"rollout {path}: chunk at offset {start - CHUNK_HEADER_SIZE} failed "
                          "its CRC check and was skipped", stacklevel=3)
            continue
        report.chunks_read += 1
        if kind == KIND_STEPS:
            if plen != n_rows * dtype.itemsize:
                report.corrupt.append(ChunkProblem(str(path), start - CHUNK_HEADER_SIZE, plen,
                                                   "payload size does not match row count"))
                continue
            rows.append(np.frombuffer(payload, dtype=dtype).copy())
            report.rows_read += n_rows
        elif kind == KIND_EVENT:
            events.append(json.loads(payload.decode()))


def _split_episodes(run: Path, table: np.ndarray, events: list[dict[str, Any]],
                    report: RolloutReport) -> list[Episode]:
    starts = {e["episode"]: e.get("reason", "") for e in events if e["kind"] == "start"}
    ends = {e["episode"]: (e["kind"], e.get("reason", "")) for e in events
            if e["kind"] in ("stop", "safety_trip")}
    if not any(e["kind"] == "close" for e in events):
        report.unclosed_runs.append(str(run))
    report.dropped_rows += sum(int(e.get("dropped_rows", 0)) for e in events
                               if e["kind"] == "close")
    if table.size == 0:
        return []
    table = table[np.argsort(table["step"], kind="stable")]
    out = []
    ids, first = np.unique(table["episode"], return_index=True)
    bounds = [*first.tolist(), table.shape[0]]
    for k, ep in enumerate(ids.tolist()):
        rows = table[bounds[k]:bounds[k + 1]]
        end_kind, end_reason = ends.get(ep, ("unterminated", "log ended before a stop event"))
        # A skipped chunk leaves a hole in the step counter: split there, so no return or
        # advantage is ever computed across missing steps.
        cuts = np.flatnonzero(np.diff(rows["step"]) != 1) + 1
        pieces = np.split(rows, cuts)
        for j, piece in enumerate(pieces):
            last = j == len(pieces) - 1
            lost = 0 if last else int(pieces[j + 1]["step"][0] - piece["step"][-1] - 1)
            out.append(Episode(str(run), int(ep), piece,
                               starts.get(ep, "") if j == 0 else "resumed after lost steps",
                               end_kind if last else "unterminated",
                               end_reason if last else f"{lost} step(s) lost in a skipped chunk"))
    return out


def read_rollouts(paths: str | Path | Iterable[str | Path],
                  expected_spec_hash: str | None = None) -> RolloutData:
    """Read every run at or below `paths` into episodes, skipping torn and corrupt chunks
    (listed in `.report`; corrupt ones also warn). All runs must share one spec hash, and
    equal `expected_spec_hash` when it is given."""
    runs = find_runs(paths)
    report = RolloutReport()
    episodes: list[Episode] = []
    headers: list[dict[str, Any]] = []
    files: list[str] = []
    spec_hash = expected_spec_hash
    for run in runs:
        header = _load_header(run)
        if spec_hash is None:
            spec_hash = header["spec_hash"]
        elif header["spec_hash"] != spec_hash:
            what = "the checkpoint's spec" if expected_spec_hash else "the first run's spec"
            raise RolloutFormatError(
                f"rollout {run} was recorded for a different robot spec: its spec_hash is "
                f"{header['spec_hash']}, {what} has {spec_hash}. Fine-tune only on logs of "
                "the same robot interface.")
        headers.append(header)
        dtype = _dtype_from_json(header["fields"])
        rows: list[np.ndarray] = []
        events: list[dict[str, Any]] = []
        files.append(str(run / HEADER_FILE))
        for seg in sorted(run.glob(SEGMENT_GLOB)):
            files.append(str(seg))
            _scan_segment(seg, dtype, report, rows, events)
        table = np.concatenate(rows) if rows else np.zeros(0, dtype=dtype)
        episodes.extend(_split_episodes(run, table, events, report))
    if not episodes:
        names = ", ".join(str(r) for r in runs)
        raise RolloutFormatError(f"no recorded steps in {names} ({report.summary()}).")
    assert spec_hash is not None
    return RolloutData(episodes, spec_hash, headers[0]["spec"], headers, files, report)

