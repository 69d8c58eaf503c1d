"""CMA-ES over the replay error, and the uncertainty of its estimate.

The search runs in the unit box u = (θ − low) / (high − low) (each parameter's search
bounds; `cmaes.CMA` keeps samples inside), from nominal with step size `SIGMA0`. The
estimate is the best candidate evaluated. Every candidate's error is kept per window, so
the uncertainty costs no further simulation:

  bootstrap  resample the windows (back-to-back blocks of the logs) with replacement B
             times; each resample's estimate is the candidate with the least error on it.
             The 2.5 and 97.5 percentiles of those estimates bound a 95 % interval.
  spread     the standard deviation of CMA-ES's last population, per parameter: how finely
             the search had resolved the optimum when it stopped.

Half-width of the written range = width_scale · max(largest distance from the estimate to
either percentile, spread): on exact simulated logs the bootstrap collapses onto one
candidate and the spread is what remains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robot_ppo.identify.params import PHYSICAL_MIN, FitParam

SIGMA0 = 0.25
"""Initial CMA-ES step, as a fraction of each parameter's search width."""

BatchErrors = Callable[[np.ndarray], list[np.ndarray]]
"""(P, d) parameter vectors (physical units, FitParam order) -> P arrays (W,) of squared
error per window (`robot_ppo.identify.workers`)."""


@dataclass
class FitResult:
    params: list[FitParam]
    candidates: np.ndarray
    """(E, d) every evaluated parameter vector, in order."""
    errors: np.ndarray
    """(E, W) their squared errors per window."""
    best: int
    last_population: np.ndarray
    """(P, d) the last full generation."""
    generations: int
    stop: str
    values_per_window: int
    """horizon × compared dimensions: turns a window's sum into a mean."""

    @property
    def estimate(self) -> np.ndarray:
        return self.candidates[self.best]

    def loss(self, i: int) -> float:
        """Mean squared normalized error of candidate i."""
        return float(self.errors[i].sum() / (self.errors.shape[1] * self.values_per_window))


def fit_cmaes(params: list[FitParam], batch_errors: BatchErrors, values_per_window: int,
              evaluations: int, seed: int, popsize: int = 0,
              log: Callable[[str], None] = print) -> FitResult:
    """Minimize the summed window error with CMA-ES within `evaluations` candidates."""
    from cmaes import CMA

    low = np.array([p.low for p in params])
    width = np.array([p.high for p in params]) - low
    start = (np.array([p.nominal for p in params]) - low) / width
    opt = CMA(mean=np.clip(start, 0.0, 1.0), sigma=SIGMA0,
              bounds=np.tile([0.0, 1.0], (len(params), 1)), seed=seed,
              population_size=popsize or None)
    cands: list[np.ndarray] = []
    errs: list[np.ndarray] = []
    last = np.zeros((0, len(params)))
    stop = "evaluation budget spent"
    generations = 0
    while len(cands) + opt.population_size <= max(evaluations, opt.population_size):
        # a generation's samples do not depend on each other's errors: ask all, then
        # evaluate them as one batch (in parallel with --workers)
        us = np.array([opt.ask() for _ in range(opt.population_size)])
        xs = low + us * width
        gen_errs = batch_errors(xs)
        opt.tell([(u, float(e.sum())) for u, e in zip(us, gen_errs)])
        cands.extend(xs)
        errs.extend(gen_errs)
        generations += 1
        last = xs
        best = min(range(len(errs)), key=lambda i: errs[i].sum())
        if generations % 5 == 0 or generations == 1:
            mean_sq = errs[best].sum() / (errs[best].size * values_per_window)
            log(f"identify: generation {generations}, {len(cands)} evaluations, best "
                f"normalized RMS {np.sqrt(mean_sq):.4g}")
        if opt.should_stop():
            stop = "converged (CMA-ES stopping criteria)"
            break
    errors = np.array(errs)
    best = int(np.argmin(errors.sum(axis=1)))
    return FitResult(params, np.array(cands), errors, best, last, generations, stop,
                     values_per_window)


@dataclass(frozen=True)
class Uncertainty:
    low: np.ndarray
    """2.5th percentile of the bootstrap estimates, per parameter."""
    high: np.ndarray
    """97.5th percentile."""
    spread: np.ndarray
    """Standard deviation of the last CMA-ES population."""
    half_width: np.ndarray
    """Of the written range, before width_scale."""


def bootstrap(fit: FitResult, resamples: int, seed: int) -> Uncertainty:
    """The interval and half-width rule of the module doc."""
    rng = np.random.default_rng(seed)
    n_windows = fit.errors.shape[1]
    est = fit.estimate
    if resamples > 0 and n_windows > 1:
        counts = rng.multinomial(n_windows, np.full(n_windows, 1.0 / n_windows),
                                 size=resamples)
        picks = np.argmin(fit.errors @ counts.T, axis=0)  # (B,) best candidate per resample
        boot = fit.candidates[picks]
        lo, hi = np.percentile(boot, 2.5, axis=0), np.percentile(boot, 97.5, axis=0)
    else:
        lo, hi = est.copy(), est.copy()
    spread = fit.last_population.std(axis=0) if len(fit.last_population) > 1 \
        else np.zeros_like(est)
    half = np.maximum(np.maximum(est - lo, hi - est), spread)
    return Uncertainty(lo, hi, spread, half)


def written_range(p: FitParam, estimate: float, half_width: float) -> tuple[float, float]:
    """estimate ± half_width, never below the parameter's physical minimum."""
    floor = PHYSICAL_MIN.get(p.name, -np.inf)
    return max(estimate - half_width, floor), estimate + half_width
