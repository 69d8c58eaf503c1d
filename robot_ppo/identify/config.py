"""`robot-ppo identify` options (each field's docstring is its --help text)."""

from __future__ import annotations

from typing import Annotated, Literal

from robot_ppo.cli_config import Cli, config_dataclass


@config_dataclass(frozen=True)
class IdentifyConfig:
    rollouts: Annotated[tuple[str, ...], Cli(multi=True)] = ()
    """Rollout directories written by `robot-ppo run --log-dir` (every run at or below each;
    several may follow the flag). Required."""
    checkpoint: str | None = None
    """Checkpoint of the policy that recorded the logs: the logs must come from its robot
    spec (same spec hash). Optional: without it the spec comes from --robot or the logs."""
    robot: str = ""
    """Robot spec name or YAML path (for a custom robot, so its URDF is found); its spec
    hash must match the logs. Empty = the checkpoint's spec, else the one in the logs."""
    output: Annotated[str, Cli(short="-o")] = "dynamics.yaml"
    """Dynamics file to write (-o), loadable by --dynamics FILE of train, eval and serve."""
    report: str = ""
    """JSON report of the fit; empty = next to --output as NAME.report.json."""
    overwrite: bool = False
    """Replace an existing --output / --report file."""
    params: str = ""
    """Parameters to fit, comma-separated, each NAME or NAME=LOW:HIGH (search bounds);
    empty = the spec's randomizable parameters that the logs inform."""
    horizon: int = 10
    """Logged steps replayed from each logged state (the multi-step prediction horizon)."""
    timing: Literal["reply", "lockstep"] = "reply"
    """When the device applies a command: reply = from the state it answers with (a real
    controller, `serve` in real time); lockstep = it steps once per command before
    answering (`serve --lockstep`)."""
    evaluations: int = 400
    """Budget: CMA-ES candidates to evaluate at most (each replays every window)."""
    popsize: int = 0
    """CMA-ES population size; 0 = its default, 4 + 3·ln(number of parameters)."""
    max_windows: int = 200
    """Budget: replay at most this many windows, evenly spaced over the logs (0 = all)."""
    workers: int = 1
    """Processes replaying a CMA-ES generation in parallel (0 = one per CPU core); the
    result does not depend on it."""
    bootstrap: int = 200
    """Bootstrap resamples of the windows for the 95-percent interval (0 = none)."""
    width_scale: float = 1.0
    """Multiplies the half-width of each written range (estimate ± scale · uncertainty)."""
    base: Literal["nominal", "randomized"] = "nominal"
    """Base set of the written file: nominal (the fitted parameters vary, nothing else), or
    randomized (the other parameters keep their training ranges, drift and pushes)."""
    seed: int = 0
    """Seed of CMA-ES and of the bootstrap: the same inputs and seed give the same file."""
