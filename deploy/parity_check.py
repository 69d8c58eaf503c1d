"""onnxruntime vs torch on the same observations; the export refuses to write on a mismatch.

Deployment bugs of this kind only show up on the robot (ppo.md: rl_games #226, SB3 #1211),
so every export compares all three outputs: max |onnx − torch| <= atol (1e-5) for the mean
and σ, and for the targets the same 1e-5 expressed in target units, atol · max(1, |scale|):
targets = offset + scale·a, so a float32 rounding of a (~1e-7 relative) is multiplied by
the action scale (10 N for the cartpole) before it reaches the targets.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from deploy.onnx_metadata import INPUT_OBS, OUTPUT_MEAN, OUTPUT_STD, OUTPUT_TARGETS
from robot_ppo.errors import UserError

NAMES = (OUTPUT_TARGETS, OUTPUT_MEAN, OUTPUT_STD)


def check_parity(module: nn.Module, model_bytes: bytes, obs: np.ndarray, atol: float,
                 target_scale: float = 1.0, batch: int = 256) -> dict[str, float]:
    """Max abs difference per output over `obs` [N, obs_dim]; raises UserError above atol.

    Runs in batches of `batch` and also one single-observation call, so both the dynamic
    batch dimension and the batch-1 path the robot uses are covered.
    """
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes, sess_options=so,
                                providers=["CPUExecutionProvider"])
    worst = dict.fromkeys(NAMES, 0.0)
    chunks = [obs[:1]] + [obs[i:i + batch] for i in range(0, len(obs), batch)]
    with torch.inference_mode():
        for chunk in chunks:
            ref = module(torch.from_numpy(np.ascontiguousarray(chunk)))
            got = sess.run(list(NAMES), {INPUT_OBS: chunk})
            for name, r, g in zip(NAMES, ref, got):
                r_np = r.numpy()
                if not (np.isfinite(g).all() and np.isfinite(r_np).all()):
                    raise UserError(f"export parity: non-finite {name} output; the "
                                    "checkpoint's weights or normalizer are broken.")
                worst[name] = max(worst[name], float(np.max(np.abs(r_np - g))))
    limit = {OUTPUT_TARGETS: atol * max(1.0, target_scale), OUTPUT_MEAN: atol,
             OUTPUT_STD: atol}
    bad = {k: v for k, v in worst.items() if v > limit[k]}
    if bad:
        raise UserError("export parity failed: onnxruntime differs from torch by " +
                        ", ".join(f"{k} {v:.2e}" for k, v in bad.items()) +
                        f" (limit {atol:.0e} in the action space) over {len(obs)} observations; "
                        "no file written.")
    worst["n_obs"] = float(len(obs))
    return worst
