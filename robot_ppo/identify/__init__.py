"""System identification from robot logs (`robot-ppo identify`).

The rollout logs hold, per control step, the measured state and the command sent. From a
logged state the simulator is put in exactly that state and driven with the logged
commands for H steps; the parameters of `sim.randomization.PARAMS` that are being fitted
decide how far the simulated states drift from the logged ones. CMA-ES (the `cmaes`
package) minimizes that multi-step prediction error:

    L(θ) = mean_{windows w, h = 1..H, dims d} ((x̂_{w,h,d}(θ) − x_{w,h,d}) / s_d)²

with x = (q, q̇) of every joint and s_d the spread of dimension d over the logs.

Unlike the algorithm part of robot_ppo this package drives the simulator (`replay.py`,
`params.py` and, to check the file it writes, `dynamics_file.py` import `sim`), so only the
`identify` command imports it, lazily; `config.py` is light, for `--help` on any install.

  config.py        the command's options
  segments.py      logs -> replay windows (start state, commands per control period, targets)
  params.py        which parameters to fit and their search bounds
  replay.py        the windows simulated in PyBullet for one parameter vector
  workers.py       a CMA-ES generation replayed here or in worker processes
  fit.py           CMA-ES over the windows' error, and the bootstrap of its estimate
  dynamics_file.py the dynamics YAML `--dynamics FILE` reads
  report.py        what is printed and written as JSON
  runner.py        the whole command, in the order it runs
"""
