"""PPOParams: the PPO update's hyperparameters, and the `ppo` section of `robot-ppo train`.

Torch-free, so that `robot-ppo train --help` needs no torch. Its defaults are the training
defaults (robot_ppo/train/config.py explains how they were chosen): one place for each.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from robot_ppo.cli_config import config_dataclass

KLMode = Literal["none", "early_stop", "adaptive"]
AdvNorm = Literal["batch", "minibatch", "none"]


@config_dataclass
class PPOParams:
    minibatch_size: Annotated[int, Field(ge=1)] = 256
    """Samples per gradient step."""
    epochs: Annotated[int, Field(ge=1)] = 10
    """Passes over each batch per iteration."""
    lr: Annotated[float, Field(gt=0)] = 1e-3
    """Adam learning rate (initial value when kl_mode=adaptive)."""
    lr_min: Annotated[float, Field(gt=0)] = 1e-5
    """kl_mode=adaptive: the learning rate never falls below this."""
    lr_max: Annotated[float, Field(gt=0)] = 1e-2
    """kl_mode=adaptive: the learning rate never rises above this."""
    seq_len: Annotated[int, Field(ge=1)] = 16
    """Sequence length of the recurrent update's minibatches; rollout_steps must be a
    multiple. Each sequence starts from the stored collection-time GRU state."""
    noise: Literal["white", "lowpass"] = "white"
    """Exploration noise: white = i.i.d. N(0,1) per step; lowpass = per-env AR(1)
    ε_t = β ε_(t-1) + sqrt(1-β²) ξ_t (unit variance, autocorrelation β^k; reset at episode
    starts), gentler on motors. The PPO ratio treats it as i.i.d. (accepted approximation)."""
    noise_beta: Annotated[float, Field(ge=0, lt=1)] = 0.9
    """β of the lowpass noise, in [0, 1): correlation time about 1/(1-β) steps."""
    gamma: Annotated[float, Field(gt=0, le=1)] = 0.99
    """Discount factor γ."""
    gae_lambda: Annotated[float, Field(ge=0, le=1)] = 0.95
    """GAE λ."""
    clip: Annotated[float, Field(gt=0)] = 0.2
    """PPO ratio clip ε."""
    value_clip: float = 0.0
    """Clip the value update to ±value_clip around the old value; 0 turns it off."""
    vf_coef: float = 0.5
    """Weight of the value loss."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    max_grad_norm: float = 0.5
    """Clip the global gradient norm to this."""
    manual_grad: bool = True
    """Compute the update's gradient with the hand-written numpy backward
    (robot_ppo/algo/manual_grad.py, ~2.5x faster than autograd at these sizes) wherever the
    model allows it (an MLP with std_mode state_independent); false: torch autograd. Both
    give the same update up to float rounding (tests/robot_ppo/test_update_paths.py)."""
    adv_norm: AdvNorm = "batch"
    """Advantage normalization: once per batch, per minibatch, or off."""
    kl_mode: KLMode = "none"
    """KL control: early_stop stops the update when approx KL > 1.5·target_kl (SB3);
    adaptive divides lr by 1.5 when KL > 2·target_kl, multiplies by 1.5 when < target_kl/2."""
    target_kl: float = 0.01
    """Target approximate KL for kl_mode."""
    reward_scaling: bool = True
    """Divide rewards by the running std of the discounted return."""
