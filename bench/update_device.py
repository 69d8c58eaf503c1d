"""What a GPU would buy the PPO update: the same update on the CPU and on CUDA, side by side.

    python bench/update_device.py [--shapes preset,gpu_sim] [--repeats 3] [--json out.json]

Training runs on the CPU by design: PyBullet steps on the CPU, and the networks are small
(two 128-unit layers, a 64-unit GRU). This script measures what moving the update to a GPU
would save, so the choice rests on a number. For each of the quadruped's models (its MLP and its
GRU variant) and each batch shape it times one whole update (epochs × minibatches of forward,
PPO loss, backward, global grad-norm clip, Adam step) on random data:

- `production cpu`: robot_ppo's own `PPO.update()` (hand-written gradient for the MLP,
  autograd for the GRU; flat Adam), one torch thread as `robot-ppo train` uses;
- `autograd cpu` / `autograd cuda`: the same loss with autograd and torch's Adam, the model
  and the batch resident on that device (what a `--device cuda` option would run).

Batch shapes: the quadruped's preset (16 envs × 128 steps, minibatch 512, 5 epochs) and a
GPU-simulator-sized one (4096 envs × 24 steps in 4 minibatches, legged_gym's A1 default),
which this CPU simulator cannot feed but shows where a GPU starts to pay.
The wall time of an iteration (collection + update) is printed by `robot-ppo train` in
metrics.csv; the update's share of it bounds what any update speed-up can save.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable

import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.models import AnyActorCritic
from robot_ppo.algo.ppo import PPO, PPOParams, ppo_losses
from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.algo.sequence_storage import SequenceRolloutStorage
from robot_ppo.observation import ObservationBuilder
from robot_ppo.spec import load_spec
from robot_ppo.train.config import QUADRUPED_PRESET, ModelOptions
from robot_ppo.train.seeding import limit_blas_threads

P = QUADRUPED_PRESET
SHAPES = {  # name: (envs, steps, minibatch samples, epochs)
    "preset": (P["envs"], P["rollout_steps"], P["minibatch_size"], P["epochs"]),
    "gpu_sim": (4096, 32, 4096 * 32 // 4, 5),  # 32 steps: a multiple of the GRU seq_len
}
BIG = 20_000
"""Batches above this many samples are timed once (after the warm-up): seconds each on a CPU."""


def make_model(kind: str, obs_dim: int, act_dim: int, hidden: tuple[int, ...]
               ) -> AnyActorCritic:
    """The quadruped preset's network; `gru` adds `robot-ppo train`'s default GRU."""
    kw = {"hidden": hidden, "activation": P["activation"], "init_std": P["init_std"]}
    if kind == "gru":
        return RecurrentActorCritic(obs_dim, act_dim, rnn_hidden=ModelOptions().rnn_hidden, **kw)
    return ActorCritic(obs_dim, act_dim, **kw)


def fill(ppo: PPO, gen: torch.Generator) -> None:
    """Random rollout data in the PPO's own storage, then GAE, as after a collection."""
    s = ppo.storage
    for t in (s.obs, s.actions, s.values, s.rewards):
        t.copy_(torch.randn(t.shape, generator=gen))
    s.log_probs.copy_(-torch.rand(s.log_probs.shape, generator=gen) * 10)
    s.dones.copy_((torch.rand(s.dones.shape, generator=gen) < 0.005).float())
    if isinstance(s, SequenceRolloutStorage):
        s.starts.copy_(s.dones)
    s.step = s.num_steps
    s.compute_returns(torch.zeros(s.num_envs).numpy(), 0.99, 0.95)


def production_update(ppo: PPO, gen: torch.Generator) -> Callable[[], None]:
    fill(ppo, gen)
    s = ppo.storage

    def run() -> None:
        s.step = s.num_steps  # update() clears the storage; the data stays in place
        ppo.update()
    return run


def autograd_update(model: AnyActorCritic, ppo: PPO, device: torch.device,
                    params: PPOParams, gen: torch.Generator) -> Callable[[], None]:
    """The update's arithmetic with autograd, model and data on `device`."""
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=params.lr, eps=1e-5)
    fill(ppo, gen)
    s = ppo.storage
    adv = s.advantages
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)

    def step(logp: torch.Tensor, entropy: torch.Tensor, values: torch.Tensor,
             old_lp: torch.Tensor, a: torch.Tensor, old_v: torch.Tensor,
             ret: torch.Tensor) -> None:
        terms = ppo_losses(logp.reshape(-1), old_lp.reshape(-1), a.reshape(-1),
                           values.reshape(-1), old_v.reshape(-1), ret.reshape(-1), entropy,
                           params.clip, 0.0, params.vf_coef, params.ent_coef)
        opt.zero_grad(set_to_none=True)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), params.max_grad_norm)
        opt.step()
        terms.approx_kl.item()  # the trainer reads the KL every minibatch: one sync each

    if isinstance(model, RecurrentActorCritic):
        assert isinstance(s, SequenceRolloutStorage)
        seqs = s.sequences(params.seq_len, adv)
        seqs = type(seqs)._make([None if x is None else x.to(device) for x in seqs])
        per_batch = max(1, params.minibatch_size // params.seq_len)

        def run_seq() -> None:
            for _ in range(params.epochs):
                for mb in s.minibatches(seqs, per_batch):
                    logp, ent, v = model.evaluate_sequence(mb.obs, None, mb.actions,
                                                           mb.h_actor, mb.h_critic, mb.starts)
                    step(logp, ent, v, mb.old_log_prob, mb.advantages, mb.old_values,
                         mb.returns)
        return run_seq

    flat = s.flat()
    obs, act = flat.obs.to(device), flat.actions.to(device)
    old_lp, old_v = flat.old_log_prob.to(device), flat.old_values.to(device)
    a_all, ret = adv.reshape(-1).to(device), flat.returns.to(device)
    batch = obs.shape[0]
    mb_size = min(params.minibatch_size, batch)
    assert isinstance(model, ActorCritic)

    def run_flat() -> None:
        for _ in range(params.epochs):
            perm = torch.randperm(batch, device=device)
            for k in range(batch // mb_size):
                i = perm[k * mb_size:(k + 1) * mb_size]
                logp, ent, v = model.evaluate(obs[i], act[i])
                step(logp, ent, v, old_lp[i], a_all[i], old_v[i], ret[i])
    return run_flat


def timed(fn: Callable[[], None], repeats: int, device: torch.device) -> float:
    """Median seconds of `fn` over `repeats` runs after one warm-up."""
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", default="preset,gpu_sim", help="from: " + ", ".join(SHAPES))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default="")
    args = ap.parse_args()

    torch.set_num_threads(1)  # as `robot-ppo train` (torch_threads=1) ...
    limit_blas_threads(1)     # ... which also keeps numpy's BLAS to one thread
    spec = load_spec("quadruped")
    obs_dim, act_dim = ObservationBuilder(spec).obs_dim, len(spec.joints)
    hidden = tuple(P["hidden"])
    shapes = {k: SHAPES[k] for k in args.shapes.split(",")}
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available()
                                       else [])
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"cuda: {torch.cuda.get_device_name(0) if len(devices) > 1 else 'none'}")
    print(f"# quadruped: obs {obs_dim}, act {act_dim}, hidden {hidden}; median of "
          f"{args.repeats} (1 above {BIG} samples)\n")
    print("| model | batch (envs × steps, minibatch, epochs) | path | s per update | "
          "vs production cpu |")
    print("|---|---|---|---|---|")
    rows = []
    for kind in ("mlp", "gru"):
        for shape_name, (envs, steps, mb, epochs) in shapes.items():
            params = PPOParams(epochs=epochs, minibatch_size=mb, lr=P["lr"],
                               ent_coef=P["ent_coef"])
            gen = torch.Generator().manual_seed(0)
            torch.manual_seed(0)
            model = make_model(kind, obs_dim, act_dim, hidden)
            ppo = PPO(model, params, envs, steps)
            repeats = 1 if envs * steps > BIG else args.repeats
            base = timed(production_update(ppo, gen), repeats, devices[0])
            results = {"production cpu": base}
            for dev in devices:
                m = make_model(kind, obs_dim, act_dim, hidden)
                helper = PPO(make_model(kind, obs_dim, act_dim, hidden), params, envs, steps)
                results[f"autograd {dev.type}"] = timed(
                    autograd_update(m, helper, dev, params, gen), repeats, dev)
            for path, sec in results.items():
                print(f"| {kind} | {shape_name}: {envs} × {steps}, {mb}, {epochs} | {path} | "
                      f"{sec:.3f} | {base / sec:.2f}× |", flush=True)
                rows.append({"model": kind, "shape": shape_name, "envs": envs,
                             "steps": steps, "minibatch": mb, "epochs": epochs,
                             "path": path, "seconds": sec, "speedup": base / sec})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
