"""onnxruntime vs torch on the same observations; the export refuses to write on a mismatch.

Deployment bugs of this kind only show up on the robot (ppo.md: rl_games #226, SB3 #1211),
so every export compares all three outputs element by element:
    |onnx − torch| <= atol · max(1, |torch|)        (atol = 1e-5)
for the mean and σ: absolute below 1, relative above it. float32 keeps ~7 digits, so a
pre-clip action mean of 100 (a trained policy on the random parity observations) cannot be
held to 1e-5 absolute: one rounding there is 7.6e-6. For the targets the same bound is
expressed in target units, atol · max(1, |scale|) · max(1, |torch|): targets = offset +
scale·a, so a float32 rounding of a (~1e-7 relative) is multiplied by the action scale
(10 N for the cartpole) before it reaches the targets. A real export bug (a missing
normalizer, a wrong clip) moves outputs by orders of magnitude more.

Recurrent policies (`check_parity_sequences`) are compared over sequences, carrying each
side's own state from step to step, so errors that compound through the state show up:
the state output must match within atol as well.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from deploy.onnx_metadata import (
    INPUT_OBS,
    OUTPUT_MEAN,
    OUTPUT_STD,
    OUTPUT_TARGETS,
    STATE_IN,
    STATE_OUT,
)
from robot_ppo.errors import UserError

NAMES = (OUTPUT_TARGETS, OUTPUT_MEAN, OUTPUT_STD)


def _session(model_bytes: bytes) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(model_bytes, sess_options=so,
                                providers=["CPUExecutionProvider"])


def _verdict(worst: dict[str, float], atol: float, target_scale: float, n: int,
             what: str) -> dict[str, float]:
    limit = dict.fromkeys(worst, atol)
    limit[OUTPUT_TARGETS] = atol * max(1.0, target_scale)
    bad = {k: v for k, v in worst.items() if v > limit[k]}
    if bad:
        raise UserError("export parity failed: onnxruntime differs from torch by " +
                        ", ".join(f"{k} {v:.2e}" for k, v in bad.items()) +
                        f" (|difference| / max(1, |value|); limit {atol:.0e} in the action "
                        f"space) over {n} {what}; no file written.")
    worst["n_obs"] = float(n)
    return worst


def check_parity_sequences(module: nn.Module, model_bytes: bytes, obs: np.ndarray,
                           atol: float, state_size: int, target_scale: float = 1.0,
                           seq_len: int = 100) -> dict[str, float]:
    """Like `check_parity` for a stateful graph (obs, state_in) → (..., state_out).

    The first `seq_len` observations run as one batch-1 sequence (the robot's path); the
    rest as parallel sequences of `seq_len` steps ([L, B] time-major; a ragged tail is
    dropped). Both sides start from zeros and carry their own state.
    """
    sess = _session(model_bytes)
    names = [*NAMES, STATE_OUT]
    worst = dict.fromkeys(names, 0.0)
    L = min(seq_len, len(obs))
    rest = obs[L:]
    b = len(rest) // L
    seqs = [obs[:L, None, :]]
    if b:
        seqs.append(rest[:b * L].reshape(b, L, -1).transpose(1, 0, 2))
    with torch.inference_mode():
        for seq in seqs:
            h_t = torch.zeros(seq.shape[1], state_size)
            h_o = np.zeros((seq.shape[1], state_size), dtype=np.float32)
            for x in seq:
                x = np.ascontiguousarray(x)
                ref = module(torch.from_numpy(x), h_t)
                got = sess.run(names, {INPUT_OBS: x, STATE_IN: h_o})
                _accumulate(worst, names, ref, got)
                h_t, h_o = ref[3], got[3]
    n = L + b * L
    return _verdict(worst, atol, target_scale, n, f"observations in sequences of {L}")


def _accumulate(worst: dict[str, float], names: Sequence[str], ref: Sequence[torch.Tensor],
                got: Sequence[np.ndarray]) -> None:
    """worst[name] = max(worst[name], max |torch − ORT| / max(1, |torch|)) per output;
    non-finite outputs are refused (a broken checkpoint, not a rounding difference)."""
    for name, r, g in zip(names, ref, got):
        r_np = r.numpy()
        if not (np.isfinite(g).all() and np.isfinite(r_np).all()):
            raise UserError(f"export parity: non-finite {name} output; the "
                            "checkpoint's weights or normalizer are broken.")
        scaled = np.abs(r_np - g) / np.maximum(1.0, np.abs(r_np))
        worst[name] = max(worst[name], float(np.max(scaled)))


def check_parity(module: nn.Module, model_bytes: bytes, obs: np.ndarray, atol: float,
                 target_scale: float = 1.0, batch: int = 256) -> dict[str, float]:
    """Max scaled difference per output over `obs` [N, obs_dim] (module doc); raises
    UserError above atol.

    Runs in batches of `batch` and also one single-observation call, so both the dynamic
    batch dimension and the batch-1 path the robot uses are covered.
    """
    sess = _session(model_bytes)
    worst = dict.fromkeys(NAMES, 0.0)
    chunks = [obs[:1]] + [obs[i:i + batch] for i in range(0, len(obs), batch)]
    with torch.inference_mode():
        for chunk in chunks:
            ref = module(torch.from_numpy(np.ascontiguousarray(chunk)))
            got = sess.run(list(NAMES), {INPUT_OBS: chunk})
            _accumulate(worst, NAMES, ref, got)
    return _verdict(worst, atol, target_scale, len(obs), "observations")
