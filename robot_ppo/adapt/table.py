"""The running table of `robot-ppo adapt`: one row per round, printed and in rounds.csv.

    round            1..R (R+1: the final check, which only collects)
    policy           what collected the round's episodes: reference or round_<k>
    episodes         episodes logged on the robot this round
    robot_s          seconds of robot time: the logged episodes' durations, summed
    mean_return      their mean return, scored from the logged states with the task reward
    falls            episodes ended by the task's termination (the pole fell, the robot tipped)
    safety_stops     episodes ended by a safety stop (joint limit, the safety latch)
    kl_to_reference  KL(π‖π_ref) of the policy this round's fine-tuning produced
    status           that policy's verdict, judged on the next round's episodes: accepted,
                     rolled back, pending (not judged yet), unjudged (no round left to judge
                     it), or why the round stopped
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from robot_ppo.atomic_write import atomic_write


@dataclass
class RoundRow:
    round: int
    policy: str
    episodes: int = 0
    robot_s: float = 0.0
    mean_return: float = math.nan
    falls: int = 0
    safety_stops: int = 0
    kl_to_reference: float = math.nan
    status: str = ""


COLUMNS = tuple(f.name for f in fields(RoundRow))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def to_csv(rows: list[RoundRow]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in asdict(row).items()})
    return buf.getvalue()


def write_table(path: Path, rows: list[RoundRow]) -> None:
    """rounds.csv, replaced atomically (a crash leaves the previous table whole)."""
    atomic_write(path, to_csv(rows))


def render(rows: list[RoundRow]) -> str:
    """The table as aligned text for the terminal."""
    cells = [list(COLUMNS)] + [[_cell(v) for v in asdict(r).values()] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
                     for row in cells)
