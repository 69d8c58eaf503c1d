"""read_rollouts: CRC-checked chunks, torn tails and corrupt chunks skipped and reported;
runs that recorded no step are skipped and reported (an error only when all are empty)."""

from __future__ import annotations

import json
import warnings
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from robot_ppo.rollout_format.schema import (
    _CHUNK_CRC,
    _CHUNK_HEAD,
    CHUNK_HEADER_SIZE,
    CHUNK_MAGIC,
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_FILE,
    KIND_EVENT,
    KIND_STEPS,
    SEGMENT_GLOB,
    RolloutFormatError,
    _dtype_from_json,
)


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
    empty_runs: list[str] = field(default_factory=list)
    """Runs that recorded no step (e.g. killed before their first chunk was written):
    skipped, so that the other runs can still be read."""

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
        if self.empty_runs:
            parts.append(f"{len(self.empty_runs)} run(s) with no recorded steps skipped")
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


HEADER_KEYS = ("format", "format_version", "spec_hash", "spec", "fields")
"""Keys of header.json the reader needs."""


def _load_header(run: Path) -> dict[str, Any]:
    path = run / HEADER_FILE
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:  # random bytes, a binary file under the header's name
        raise RolloutFormatError(f"{path}: not a rollout header (not UTF-8 JSON text); this "
                                 "run was not written by `robot-ppo run --log-dir`, leave it "
                                 "out of --rollouts.") from None
    except (OSError, ValueError) as exc:
        raise RolloutFormatError(f"{path}: unreadable header: {exc}") from None
    if not isinstance(header, dict) or any(k not in header for k in HEADER_KEYS):
        raise RolloutFormatError(f"{path}: not a rollout header (a JSON object with "
                                 f"{', '.join(HEADER_KEYS)} expected); leave this run out of "
                                 "--rollouts.")
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
        try:
            dtype = _dtype_from_json(header["fields"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RolloutFormatError(f"{run / HEADER_FILE}: the step record's fields cannot be "
                                     f"read ({type(exc).__name__}: {exc}).") from None
        rows: list[np.ndarray] = []
        events: list[dict[str, Any]] = []
        files.append(str(run / HEADER_FILE))
        for seg in sorted(run.glob(SEGMENT_GLOB)):
            files.append(str(seg))
            _scan_segment(seg, dtype, report, rows, events)
        table = np.concatenate(rows) if rows else np.zeros(0, dtype=dtype)
        found = _split_episodes(run, table, events, report)
        if not found:  # e.g. a SIGKILL before the first chunk: nothing to read, not an error
            report.empty_runs.append(str(run))
        episodes.extend(found)
    if not episodes:
        names = ", ".join(str(r) for r in runs)
        raise RolloutFormatError(
            f"the rollouts recorded no steps: {names} ({report.summary()}). A run stopped or "
            "killed before its first chunk was written holds none; record one with "
            "`robot-ppo run --log-dir DIR`.")
    assert spec_hash is not None
    return RolloutData(episodes, spec_hash, headers[0]["spec"], headers, files, report)
