"""Sampler and pruner of a study, from the command's options.

Pruner warm-up: a trial is never pruned before it has trained `warmup_steps` env steps
(median: `n_warmup_steps`; successive halving and Hyperband: `min_resource`, their first rung),
and the median pruner also waits for `startup_trials` finished trials to compare with.
"""

from __future__ import annotations

from typing import Any

from robot_ppo.errors import UserError


def make_sampler(name: str, seed: int, startup_trials: int) -> Any:
    import optuna

    if name == "tpe":
        # multivariate TPE models the parameters jointly (lr and epochs interact); the
        # constant liar keeps parallel workers from proposing the same point
        return optuna.samplers.TPESampler(multivariate=True, constant_liar=True, seed=seed,
                                          n_startup_trials=startup_trials)
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401  (optuna imports it lazily, too late for a clear error)
        except ImportError:
            raise UserError("--sampler cmaes needs the Python package 'cmaes': "
                            "pip install cmaes (part of the [tune] extra)") from None
        return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=startup_trials)
    return optuna.samplers.RandomSampler(seed=seed)


def make_pruner(name: str, warmup_steps: int, budget: int, startup_trials: int) -> Any:
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials,
                                           n_warmup_steps=warmup_steps)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=warmup_steps,
                                                      reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=warmup_steps,
                                              max_resource=max(budget, warmup_steps + 1),
                                              reduction_factor=3)
    return optuna.pruners.NopPruner()
