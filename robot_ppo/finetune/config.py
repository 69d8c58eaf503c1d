"""FinetuneConfig: every option of `robot-ppo finetune`, one docstring each (shown by --help)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from robot_ppo.cli_config import Cli, config_dataclass


@config_dataclass
class FinetuneConfig:
    checkpoint: Path | None = None
    """The reference checkpoint to fine-tune (required); it stays frozen as the KL anchor."""
    rollouts: Annotated[tuple[str, ...], Cli(multi=True)] = ()
    """Rollout directories written by `robot-ppo run --log-dir` (required); each may hold
    several runs. Give several after --rollouts, or comma-separated."""
    out: Path | None = None
    """Output directory: checkpoint.pt, metrics.csv, summary.json (default
    runs/finetune-<timestamp>)."""
    overwrite: bool = False
    """Replace the run in a non-empty --out: its files are removed once fine-tuning has
    succeeded, just before the new ones are written (never the reference checkpoint's
    directory)."""
    kl_coef: float = 0.1
    """β: weight of the penalty β·KL(π_θ ‖ π_ref), the analytic Gaussian KL averaged over the
    logged observations (initial value when --adaptive-kl)."""
    kl_bound: float = 0.05
    """Hard bound on the mean KL(π_θ ‖ π_ref) over the logged observations: β adapts to keep
    KL near half of it, and parameters that exceed it are rolled back."""
    adaptive_kl: bool = True
    """Adapt β after every epoch (×2 when KL > 0.75·bound, ÷2 when KL < bound/3)."""
    iterations: int = 8
    """PPO iterations over the logged data; each recomputes values and GAE with the current
    critic and takes the current policy as the proximal policy."""
    epochs: int = 5
    """Passes over the batch per iteration."""
    minibatch_size: int = 256
    """Samples per gradient step."""
    lr: float = 3e-4
    """Adam learning rate."""
    value_warmup_epochs: int = 30
    """Epochs fitting the critic alone (policy frozen) to GAE(λ) targets of the logged data,
    before any policy update: the sim-trained critic has not seen the real dynamics."""
    gamma: float | None = None
    """Discount γ (default: the checkpoint's)."""
    gae_lambda: float | None = None
    """GAE λ (default: the checkpoint's)."""
    clip: float = 0.2
    """PPO ratio clip ε (around the proximal policy)."""
    is_clip: float = 2.0
    """Truncation c̄ of the importance weight π_prox/μ between the proximal policy and the
    logged behaviour policy μ (V-trace style); bounds the variance when exploring widened μ."""
    vf_coef: float = 0.5
    """Weight of the value loss during the policy updates."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    max_grad_norm: float = 0.5
    """Clip the global gradient norm to this."""
    sim_mix: float = 0.0
    """Fraction of each iteration's batch drawn from simulated rollouts of the current
    policy (same spec), 0 for robot data only; keeps sim competence while adapting."""
    sim_dynamics: str = "randomized"
    """Dynamics of the simulated rollouts mixed in with --sim-mix: nominal | randomized |
    shifted, or a dynamics YAML file (e.g. the one `robot-ppo identify` writes)."""
    seed: int = 0
    """Seed for minibatch order and simulated rollouts."""
    torch_threads: int = 1
    """torch intra-op threads; fine-tuning batches are small, and on a shared CPU more
    threads made each step 15-30x slower here (0: torch's default)."""
