"""Trials in parallel: `jobs` worker processes (the objective is CPU-bound, so processes, not
threads), each opening the study from its storage and running one trial at a time until the
study holds `trials` trials. Several `tune` processes, on one machine or many, share a study
the same way: the storage is the only thing they share.

A trial whose process died (killed, out of memory) stays RUNNING in the storage; `reap_orphans`
marks such trials of this host FAIL, with the reason, when `tune` starts and when its workers
end, so a crashed trial is never silently lost.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from robot_ppo.errors import UserError
from robot_ppo.tune.samplers import make_pruner, make_sampler
from robot_ppo.tune.storage import StorageSpec, open_storage
from robot_ppo.tune.trial import TrialJob, run_trial


@dataclass(frozen=True)
class WorkerPlan:
    """What every worker process gets (picklable)."""

    job: TrialJob
    storage: StorageSpec
    study: str
    trials: int
    sampler: str
    pruner: str
    seed: int
    startup_trials: int
    warmup_steps: int


def counted(study: Any) -> int:
    """Trials that count toward --trials: finished, pruned, failed, or running now."""
    from optuna.trial import TrialState
    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
    return len(study.get_trials(deepcopy=False, states=states))


def load_study(plan: WorkerPlan, storage: Any, worker: int) -> Any:
    import optuna

    study = optuna.load_study(study_name=plan.study, storage=storage)
    # the trial count at start is mixed in so that a second `tune` joining the study with
    # the same --seed does not propose the first one's random start-up points again
    seed = plan.seed + 7919 * worker + 104_729 * len(study.trials)
    return optuna.load_study(
        study_name=plan.study, storage=storage,
        sampler=make_sampler(plan.sampler, seed, plan.startup_trials),
        pruner=make_pruner(plan.pruner, plan.warmup_steps,
                           plan.job.fixed.run.steps * plan.job.seeds, plan.startup_trials))


def quiet_optuna() -> None:
    """Optuna's own log lines and warnings off: `tune` reports each trial itself."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # TPE's note when it samples a parameter independently (categorical in a dynamic space)
    warnings.filterwarnings("ignore", message=".*independent sampl.*")


def work(plan: WorkerPlan, worker: int, after_trial: Callable[[], None] | None = None) -> None:
    """Run trials until the study holds `plan.trials`; `after_trial` after each one."""
    quiet_optuna()
    study = load_study(plan, open_storage(plan.storage), worker)
    objective = functools.partial(run_trial, plan.job)
    parent = os.getppid()
    # a worker whose `tune` died (killed) starts no further trial
    while counted(study) < plan.trials and os.getppid() == parent:
        # catch: a trial's exception fails that trial (its message kept as the `error`
        # attribute), and the search goes on
        study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=True)
        if after_trial is not None:
            after_trial()


def worker_main(plan: WorkerPlan, worker: int) -> None:
    """A worker process (see `work`)."""
    try:
        work(plan, worker)
    except UserError as exc:
        print(f"robot-ppo tune: worker {worker}: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(storage: Any, study_name: str) -> list[int]:
    """Mark FAIL the RUNNING trials of this host whose process is gone; their numbers."""
    from optuna.trial import TrialState

    study_id = storage.get_study_id_from_name(study_name)
    host = socket.gethostname()
    reaped = []
    for t in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") != host or not isinstance(pid, int) or _alive(pid):
            continue
        storage.set_trial_user_attr(t._trial_id, "error",
                                    f"its process (pid {pid}) ended before the trial finished")
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        reaped.append(t.number)
    return reaped


def run_workers(plan: WorkerPlan, jobs: int, storage: Any,
                poll: Callable[[], None], interval_s: float = 1.0) -> list[int]:
    """Start `jobs` worker processes, call `poll` every `interval_s` until they end; the exit
    codes. Ctrl-C stops the workers; their unfinished trials are marked failed."""
    import multiprocessing

    if jobs == 1:
        # one trial at a time: in this process (no start-up of a second interpreter); a
        # kill of `tune` then ends the trial with it, and the next run reaps it
        try:
            work(plan, 0, after_trial=poll)
        finally:
            reap_orphans(storage, plan.study)
        return [0]
    ctx = multiprocessing.get_context("spawn")  # no forked torch / PyBullet state
    procs = [ctx.Process(target=worker_main, args=(plan, i), name=f"tune-worker-{i}")
             for i in range(jobs)]
    for p in procs:
        p.start()
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(interval_s)
            poll()
    except BaseException:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(10)
        reap_orphans(storage, plan.study)
        raise
    for p in procs:
        p.join()
    reap_orphans(storage, plan.study)
    poll()
    return [int(p.exitcode or 0) for p in procs]
