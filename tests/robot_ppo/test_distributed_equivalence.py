"""Data-parallel PPO (torchrun) equals one process holding every rank's data.

Two real gloo ranks on 127.0.0.1 (subprocesses of tests/robot_ppo/distributed_rank.py)
each hold E envs of one fixed rollout; one process holds all 2E. With one minibatch per
epoch of each rank's whole batch, the global minibatch is the single process's whole batch,
so after the update (3 epochs, adaptive learning rate) the parameters, the learning rate
and the normalizer statistics must agree to float tolerance. Also: the normalizer merge
alone equals the statistics of the concatenated data.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_ppo.algo.normalizer import RunningMeanStd
from robot_ppo.train.distributed import chan_merge, increment, snapshot

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import distributed_rank as rank_mod  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_ranks(out: Path, world: int, manual: bool) -> list[dict[str, object]]:
    port = str(free_port())
    env = {**os.environ, "ROBOT_PPO_DIST_TIMEOUT_S": "60", "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(HERE / "distributed_rank.py"), str(r),
                               str(world), port, str(out), "1" if manual else "0"],
                              env=env, stderr=subprocess.PIPE, text=True)
             for r in range(world)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    return [torch.load(out / f"rank{r}.pt") for r in range(world)]


@pytest.mark.parametrize("manual", [True, False], ids=["manual_grad", "autograd"])
def test_two_ranks_update_equals_one_process_with_all_envs(tmp_path: Path,
                                                           manual: bool) -> None:
    world, e, t = 2, rank_mod.ENVS_PER_RANK, rank_mod.T
    ranks = run_ranks(tmp_path, world, manual)
    data = rank_mod.make_data(world * e)
    ref = rank_mod.build(100, world * e, world * e * t, manual)
    for step in range(t + 1):
        ref.policy.update_stats(data["obs"][step], None)
    before = ref.optimizer.flat.clone()
    ref_losses = rank_mod.fill_and_update(ref, data, slice(0, world * e))
    flat = ref.optimizer.flat
    assert not torch.allclose(before, flat, atol=1e-3)  # the update moved the weights
    assert ref.learning_rate != 3e-3  # and the adaptive rule fired on the KL
    norm = ref.model.obs_normalizer
    for r in ranks:
        torch.testing.assert_close(r["flat"], flat, atol=2e-5, rtol=1e-4)
        assert r["lr"] == pytest.approx(ref.learning_rate)
        torch.testing.assert_close(r["mean"], norm.mean, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(r["var"], norm.var, atol=1e-6, rtol=1e-5)
        assert r["count"] == float(norm.count)
    assert ranks[0]["losses"]["updates"] == ref_losses["updates"]
    torch.testing.assert_close(ranks[0]["flat"], ranks[1]["flat"], atol=0, rtol=0)


def test_normalizer_merge_equals_statistics_of_concatenated_data() -> None:
    rng = np.random.default_rng(5)
    dim = 4
    seen = rng.normal(3.0, 2.0, size=(500, dim))  # before the iteration, on every rank
    per_rank = [rng.normal(loc, scale, size=(n, dim))
                for loc, scale, n in ((0.0, 1.0, 300), (10.0, 0.1, 37), (-4.0, 5.0, 1000))]
    rms = RunningMeanStd(dim)
    rms.update(torch.from_numpy(seen))
    base = snapshot(rms.mean.numpy(), rms.var.numpy(), float(rms.count))
    increments = []
    for x in per_rank:
        local = RunningMeanStd(dim)
        local.load_state_dict(rms.state_dict())
        for chunk in np.array_split(x, 7):  # as collection does, a step at a time
            local.update(torch.from_numpy(chunk))
        increments.append(increment(base, local.mean.numpy(), local.var.numpy(),
                                    float(local.count)))
    n, mean, var = chan_merge([(base.count, base.mean, base.var), *increments])
    everything = np.concatenate([seen, *per_rank])
    assert n == len(everything)
    np.testing.assert_allclose(mean, everything.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(var, everything.var(0), rtol=1e-5)
