"""RolloutWriter: preallocated step rows, chunks written and fsynced off the control loop."""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

from robot_ppo.action import JointCommand
from robot_ppo.atomic_write import atomic_write, fsync_dir
from robot_ppo.observation import observation_layout
from robot_ppo.rollout_format.schema import (
    _MARKS,
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_FILE,
    KIND_EVENT,
    KIND_STEPS,
    EpisodeMark,
    RolloutWriteError,
    _chunk_header,
    _dtype_to_json,
    step_dtype,
)
from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState


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
        atomic_write(self.run_dir / HEADER_FILE, json.dumps(header, indent=1))

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
            fsync_dir(self.run_dir)
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
        fsync_dir(log_dir)
        return path
    raise RuntimeError(f"cannot create a run directory in {log_dir}")


# ---- reader ---------------------------------------------------------------------------
