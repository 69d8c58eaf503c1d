"""Progress on stderr: one line per finished trial and an overall bar (when stderr is a
terminal), read from the storage by the `tune` process itself, so the lines of every worker
(and of other processes sharing the study) arrive in order and never break the bar."""

from __future__ import annotations

import sys
from typing import Any

from robot_ppo.cli_config import format_value


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={format_value(v)}"
                    for k, v in params.items())


def trial_line(t: Any, best: Any | None) -> str:
    """One line for a finished trial (FrozenTrial); `best`: the study's best trial so far."""
    state = t.state.name.lower()
    took = (t.datetime_complete - t.datetime_start).total_seconds() \
        if t.datetime_complete and t.datetime_start else float("nan")
    head = f"trial {t.number} {state}"
    if state == "complete":
        head += f": value {t.value:.4g}"
    elif state == "pruned":
        evals = t.user_attrs.get("evaluations") or [[0, float("nan")]]
        head += f" at {int(evals[-1][0])} env steps (return {evals[-1][1]:.4g})"
    elif state == "fail":
        head += f": {t.user_attrs.get('error', 'no error recorded')}"
    tail = f" in {took:.1f} s | {_params(t.params)}"
    if best is not None:
        tail += f" | best: trial {best.number} ({best.value:.4g})"
    return head + tail


class Reporter:
    """Prints each newly finished trial once; `poll()` is called every second."""

    def __init__(self, study: Any, total: int) -> None:
        from optuna.trial import TrialState

        self.study = study
        self.finished = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        done = study.get_trials(deepcopy=False, states=self.finished)
        self.seen = {t.number for t in done}
        self.bar: Any = None
        if sys.stderr.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=min(len(done), total), unit="trial",
                            desc="tune", dynamic_ncols=True)

    def _best(self, upto: int) -> Any | None:
        """The best complete trial among those numbered <= `upto` (the best at that time)."""
        from optuna.study import StudyDirection
        from optuna.trial import TrialState

        done = [t for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.number <= upto]
        if not done:
            return None
        sign = 1.0 if self.study.direction == StudyDirection.MAXIMIZE else -1.0
        return max(done, key=lambda t: sign * t.value)

    def poll(self) -> None:
        new = [t for t in self.study.get_trials(deepcopy=False, states=self.finished)
               if t.number not in self.seen]
        for t in sorted(new, key=lambda t: t.number):
            self.seen.add(t.number)
            line = trial_line(t, self._best(t.number))
            if self.bar is not None:
                self.bar.write(line, file=sys.stderr)
                self.bar.update(1)
            else:
                print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
