"""Hyperparameter search over TrainConfig with Optuna (`robot-ppo tune`).

One file per job: `config` (the command's options), `space` (the search space, plain data
read from YAML), `objective` (what a trial scores), `samplers` (sampler and pruner),
`storage` (where the study lives), `trial` (one trial: the `train` Trainer plus `eval`'s
evaluation), `workers` (trials in parallel processes), `results` (best.yaml, trials.csv,
the summary) and `plots` (PNG figures). Like `robot_ppo/commands/`, it sits in the CLI
layer: a trial trains and evaluates a robot, so it reaches the simulator through the
`train` and `eval` commands' code.
"""
