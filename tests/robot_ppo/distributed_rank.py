"""One rank of tests/robot_ppo/test_distributed_equivalence.py, run as a subprocess:

    python distributed_rank.py RANK WORLD PORT OUT_DIR MANUAL_GRAD

It joins a gloo group on 127.0.0.1:PORT through robot_ppo's own `Distributed.from_env`,
merges its observations into the normalizer with the trainer's IterationSync, fills the
rollout storage with its slice of the fixed data (make_data) and runs one PPO update;
then saves its parameters and normalizer statistics to OUT_DIR/rank<RANK>.pt.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.ppo import PPO, PPOParams

OBS, ACT, T, ENVS_PER_RANK = 3, 2, 16, 3


def make_data(total_envs: int) -> dict[str, np.ndarray]:
    """A fixed rollout of `total_envs` envs × T steps (raw observations, actions, rewards,
    dones): the same numbers whichever process builds it."""
    rng = np.random.default_rng(1234)
    return {"obs": (rng.normal(size=(T + 1, total_envs, OBS)) * [1.0, 3.0, 0.2]
                    + [0.5, -2.0, 0.0]).astype(np.float32),
            "actions": rng.normal(size=(T, total_envs, ACT)).astype(np.float32),
            "rewards": rng.normal(size=(T, total_envs)).astype(np.float32),
            "dones": (rng.random(size=(T, total_envs)) < 0.1)}


def build(seed: int, envs: int, minibatch: int, manual_grad: bool) -> PPO:
    torch.manual_seed(seed)
    model = ActorCritic(OBS, ACT, hidden=(16, 16), normalize_obs=True)
    params = PPOParams(epochs=3, minibatch_size=minibatch, lr=3e-3, kl_mode="adaptive",
                       target_kl=1e-4, manual_grad=manual_grad)
    return PPO(model, params, envs, T)


def fill_and_update(ppo: PPO, data: dict[str, np.ndarray], cols: slice) -> dict[str, float]:
    """Store the rollout of envs `cols` (already merged into the normalizer) and update."""
    model = ppo.model
    assert isinstance(model, ActorCritic)
    with torch.no_grad():
        for t in range(T):
            obs_n, _ = ppo.policy.normalize(data["obs"][t, cols], None)
            actions = data["actions"][t, cols]
            log_prob, _, values = model.evaluate(torch.from_numpy(obs_n),
                                                 torch.from_numpy(actions))
            ppo.storage.add_policy_step(obs_n, None, actions, log_prob.numpy(),
                                        values.numpy())
            ppo.storage.add_env_step(data["rewards"][t, cols], data["dones"][t, cols], 0.0)
        ppo.compute_returns(data["obs"][T, cols])
    return ppo.update()


def main() -> None:
    rank, world, port, out, manual = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                      Path(sys.argv[4]), sys.argv[5] == "1")
    os.environ.update({"WORLD_SIZE": str(world), "RANK": str(rank), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port})
    from robot_ppo.train.distributed import Distributed
    from robot_ppo.train.distributed_sync import IterationSync

    dist = Distributed.from_env()
    # a different seed per rank: only rank 0's initial weights may survive the broadcast
    ppo = build(100 + rank, ENVS_PER_RANK, ENVS_PER_RANK * T, manual)
    sync = IterationSync(dist, ppo, ppo.model)
    sync.start()
    data = make_data(world * ENVS_PER_RANK)
    cols = slice(rank * ENVS_PER_RANK, (rank + 1) * ENVS_PER_RANK)
    sync.begin_iteration()
    for t in range(T + 1):  # collection is where the normalizer moves
        ppo.policy.update_stats(data["obs"][t, cols], None)
    sync.end_rollout([], [], [], None)
    losses = fill_and_update(ppo, data, cols)
    norm = ppo.model.obs_normalizer
    torch.save({"flat": ppo.optimizer.flat.clone(), "lr": ppo.learning_rate,
                "mean": norm.mean.clone(), "var": norm.var.clone(),
                "count": float(norm.count), "losses": losses}, out / f"rank{rank}.pt")
    dist.close()


if __name__ == "__main__":
    main()
