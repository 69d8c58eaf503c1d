"""Training: config, vectorized envs, the loop owner, checkpoints, plots.

Import the submodules directly (`robot_ppo.train.checkpoint`, `.trainer`, ...): this
package file stays empty so that env worker processes, which import `vec_env`, do not
pay for torch.
"""
