"""Hyperparameter search over TrainConfig with Optuna (`robot-ppo tune`, docs/tuning.md).

One file per job: `config` (the command's options), `space` (the search space, plain data
read from YAML; shipped spaces in `spaces/`), `objective` (what a trial scores), `samplers`
(sampler and pruner), `storage` (where the study lives), `evaluation` (one deterministic
evaluation), `trial` (one trial: the `train` Trainer plus `eval`'s evaluation), `workers`
(trials in parallel processes, orphaned trials marked failed), `progress` (a line per trial
and the bar), `results` (best.yaml, trials.csv, the summary), `plots` (PNG figures),
`out_dir` (the output-directory rule) and `report` (the phases after the checks).

Like `robot_ppo/commands/`, it sits in the CLI layer: a trial trains and evaluates a robot, so
it reaches the simulator through the `train` and `eval` commands' code.
"""
