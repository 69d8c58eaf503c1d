"""Plain data for bench/robustness.py: the variants, each robot's budget, the ablation
components, and the derived robot specs the history/GRU variants train on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Budget:
    steps: int
    """Env steps per training."""
    seeds: int
    """Training seeds per variant."""
    episodes: int
    """Evaluation episodes per (seed, dynamics set)."""
    extra: tuple[tuple[str, int, int], ...] = ()
    """(variant, steps, seeds): a row beyond the grid (another budget, run directory
    <variant>_<steps/1000>k), or more seeds for a row of it (same steps)."""


# Per-robot defaults. The cartpole balances in ~60k steps on nominal dynamics but the
# randomized variants need ~400k; the quadruped walks (nominal) after ~1M of the 1.8M steps
# documented in docs/robots.md; two seeds of four 1M-step trainings take ~1.5 h on 2 cores.
# The quadruped's memory variants get 4 seeds: their seeds spread widely (docs/robustness.md).
# (d) also runs at 5M steps (2 seeds, ~1.5 h each on 2 cores): its ADR ranges were still
# widening at 1M. The optional ADR rows (gru_adr_low, gru_adr_corner, gru_adr_hard,
# gru_adr_hard_06, gru_adr_std025, gru_adr_ent0, gru_adr_rel, gru_adr_guard,
# gru_adr_probe, gru_adr_anchor, gru_adr_std) get (d)'s 4 seeds; gru_adr_probe_ent0 (both
# of its seeds' mean actions stood on a nominal set), gru_adr_probe_anchor and
# gru_adr_probe_std (both far below (d) after 2 seeds), the other *_fixed rows (standing
# on nominal, or far below (d)), gru_adr_reach and the diagnostics gru_oracle and gru_hull
# the default 2;
# gru_adr_rel_fixed_09 gets 4 (its first two seeds kept 86 %, one walking), and so does
# gru_adr_rel_fixed_air (its first two: 73 %, the best walker against the reference), and
# gru_adr_rel_fixed_sigma (both of its first two seeds' mean actions walked).
# The rows that continue gru_adr_rel_fixed_sigma's 1 M runs train to 2 M steps:
# gru_adr_rel_fixed_sigma_reach on 4 seeds (its first two kept 96 %, both walking), its
# control gru_adr_rel_fixed_sigma_cont on 2.
BUDGETS: dict[str, Budget] = {
    "cartpole": Budget(steps=400_000, seeds=3, episodes=20),
    "quadruped": Budget(steps=1_000_000, seeds=2, episodes=20,
                        extra=(("gru", 1_000_000, 4), ("gru_adr", 1_000_000, 4),
                               ("gru_adr_priv", 1_000_000, 4), ("gru_adr", 5_000_000, 2),
                               ("gru_adr_low", 1_000_000, 4), ("gru_adr_corner", 1_000_000, 4),
                               ("gru_adr_hard", 1_000_000, 4), ("gru_adr_hard_06", 1_000_000, 4),
                               ("gru_adr_std025", 1_000_000, 4), ("gru_adr_ent0", 1_000_000, 4),
                               ("gru_adr_rel", 1_000_000, 4),
                               ("gru_adr_guard", 1_000_000, 4),
                               ("gru_adr_probe", 1_000_000, 4),
                               ("gru_adr_anchor", 1_000_000, 4),
                               ("gru_adr_std", 1_000_000, 4),
                               ("gru_adr_rel_fixed_09", 1_000_000, 4),
                               ("gru_adr_rel_fixed_air", 1_000_000, 4),
                               ("gru_adr_rel_fixed_sigma", 1_000_000, 4),
                               ("gru_adr_rel_fixed_sigma_reach", 2_000_000, 4),
                               ("gru_adr_rel_fixed_sigma_cont", 2_000_000, 2))),
}


REFERENCE: dict[str, str] = {"quadruped": "bench/dynamics/nominal_latency_10ms.yaml"}
"""A second nominal set per robot, evaluated for every row beside `nominal`: the quadruped's
`nominal` has exactly zero latency, the edge of what its randomized trainings draw, and a
real robot never has zero; this one adds 10 ms of action and of observation latency."""


@dataclass(frozen=True)
class Variant:
    dynamics: str
    """`robot-ppo train --dynamics`."""
    spec: str
    """base: the built-in spec; history: H stacked frames + last_action; last_action: one frame
    + last_action (what the GRU sees)."""
    extra: tuple[str, ...] = ()
    """Further `robot-ppo train` arguments."""
    reward: tuple[tuple[str, float], ...] = ()
    """Reward weights (task.params.reward_weights) the variant's spec changes; such a spec is
    derived from the built-in and named for them (it has its own spec hash)."""
    reward_params: tuple[tuple[str, float], ...] = ()
    """Other reward-only task params (the task's `reward_params`, e.g. walk's
    tracking_sigma) the variant's spec changes, derived and named the same way."""
    robots: tuple[str, ...] = ()
    """The robots this variant applies to (its dynamics file or options are one robot's);
    the bench skips it for the others. Empty: every robot."""
    init: str = ""
    """Warm start: the variant whose run of the same robot and seed, at the robot's BUDGETS
    steps, this one continues (`robot-ppo train --resume`: its weights, optimizer and reward
    scaling; the settings here win). The row's steps count that run's too, so the row
    exists only at a budget above BUDGETS' (an extra row, or `--steps`). Empty: train from
    scratch."""


GRU = ("--set", "recurrent=gru")
REL = (*GRU, "--adr-sides", "hard", "--adr-relative", "true")
"""gru_adr_rel's options, which the rows after it build on."""
FIXED = ("--adr-fixed", "friction,motor_strength,kp_scale,kd_scale")
"""Parameters the *_fixed rows keep at their plain-DR range: those the quadruped's `shifted`
set also keeps there, because beyond it, together with the extra mass, the A1 cannot stand
with no policy (robot_ppo/robots/quadruped.yaml, bench/standing_check.py)."""
VARIANTS: dict[str, Variant] = {
    "nominal": Variant("nominal", "base"),              # (a) no randomization
    "randomized": Variant("randomized", "base"),        # (b) domain randomization
    "adr": Variant("adr", "base"),                      # feed-forward MLP + ADR
    "history": Variant("randomized", "history"),        # (c) with observation history
    "history_adr": Variant("adr", "history"),           # (d) with history
    "gru": Variant("randomized", "last_action", GRU),   # (c) with recurrence
    "gru_adr": Variant("adr", "last_action", GRU),      # (d) with recurrence
    # (c) + the privileged critic, without ADR: does the critic help or hurt on its own?
    "gru_priv": Variant("randomized", "last_action", (*GRU, "--privileged", "true")),
    # (d) with ADR's boundary thresholds lowered from 0.8 / 0.4 to 0.5 / 0.25: the
    # quadruped's walk score rarely reaches 0.8 at a boundary, so its ranges hardly grew
    "gru_adr_low": Variant("adr", "last_action",
                           (*GRU, "--adr-high", "0.5", "--adr-low", "0.25")),
    # (d) where a quarter of the episodes draw every parameter from the harder quarter of
    # its current ADR range (the held-out set is hard in all parameters at once)
    "gru_adr_corner": Variant("adr", "last_action", (*GRU, "--adr-corner", "0.25")),
    # (d) where ADR moves only each range's harder end (heavier, weaker, later, ...): (d)'s
    # ADR also widened the easy ends, e.g. the mass down to x0.4 while its upper end stayed
    "gru_adr_hard": Variant("adr", "last_action", (*GRU, "--adr-sides", "hard")),
    # gru_adr_hard with thresholds 0.6 / 0.3: at 0.8 the heavy end of the mass never grew
    # (the 1 M policies' mean walk score in training is about 0.6)
    "gru_adr_hard_06": Variant("adr", "last_action", (*GRU, "--adr-sides", "hard",
                                                       "--adr-high", "0.6", "--adr-low", "0.3")),
    # (d) with half the initial exploration noise: (d)'s policies walk with sampled actions
    # but some stand or fall with the mean action, which is what is exported
    "gru_adr_std025": Variant("adr", "last_action", (*GRU, "--init-std", "0.25")),
    # (d) without the preset's entropy bonus (0.005): gru_adr_std025's PPO raised σ back to
    # (d)'s level; without the bonus nothing pushes σ up, so the mean action (the one that is
    # exported) should carry more of the walking
    "gru_adr_ent0": Variant("adr", "last_action", (*GRU, "--ent-coef", "0")),
    # gru_adr_hard with relative thresholds: a hard end widens while it keeps 80 % of the
    # policy's mean walk score on its current ranges, and narrows below 40 % of it; the
    # absolute 0.8 / 0.4 (and 0.6 / 0.3) judged the policy's level more than the boundary
    "gru_adr_rel": Variant("adr", "last_action", REL),
    # gru_adr_rel grew its ranges until its policy's level fell to about 0.3 and some seeds
    # stood: here no range widens while that level is below 0.5, and without the entropy
    # bonus the sampled actions ADR judges come close to the mean action that is exported
    "gru_adr_guard": Variant("adr", "last_action", (*REL, "--adr-min-reference", "0.5",
                                                     "--ent-coef", "0")),
    # as gru_adr_rel, but ADR is judged by 8 extra envs that run the policy's mean action
    # (what the robot runs) and stay out of the PPO batch: gru_adr_rel's ranges grew for
    # a gait that walked only with the exploration noise (--adr-probe-envs, docs/training.md)
    "gru_adr_probe": Variant("adr", "last_action", (*REL, "--adr-probe-envs", "8")),
    # gru_adr_probe's mean action walked far less than its sampled one in training (column
    # adr/probe_performance against adr/performance): without the entropy bonus σ falls
    # and the mean takes over the gait (gru_adr_ent0), so ADR's judge has a gait to judge
    "gru_adr_probe_ent0": Variant("adr", "last_action", (*REL, "--adr-probe-envs", "8",
                                                          "--ent-coef", "0")),
    # gru_adr_rel's (and gru_adr_probe's) mean actions stood on `nominal` and walked better
    # on `shifted`: a quarter of the episodes keep drawing from the plain-DR ranges, so the
    # easy end stays in training while ADR grows the hard ends (--adr-anchor)
    "gru_adr_anchor": Variant("adr", "last_action", (*REL, "--adr-anchor", "0.25")),
    # both of the last two: ADR judged by the mean action (probes) while a quarter of the
    # episodes keep the plain-DR ranges in training (anchors), since the probe rows stood on
    # `nominal` and the anchor row's ranges grew for a gait its mean action did not run
    "gru_adr_probe_anchor": Variant("adr", "last_action", (*REL, "--adr-probe-envs", "8",
                                                            "--adr-anchor", "0.25")),
    # gru_adr_probe with the exploration std bounded on a falling schedule down to 0.2 at
    # 75 % of the steps (--std-final): its sampled actions walked while the mean action it
    # exports stood, so the last quarter trains close to the mean action that ADR's probes judge
    "gru_adr_probe_std": Variant("adr", "last_action", (*REL, "--adr-probe-envs", "8",
                                                         "--std-final", "0.2")),
    # (d) with the same falling std bound: does training close to the exported mean action
    # help the row whose mean action already walks?
    "gru_adr_std": Variant("adr", "last_action", (*GRU, "--std-final", "0.2")),
    # (d) with the floor friction, motor strength and PD gains left at their plain-DR ranges
    # (--adr-fixed): weaker motors and gains are easy at nominal mass, so ADR widens them
    # ((d): motor strength, Kp or Kd down to x0.6-0.7 in three of four seeds), but with
    # them beyond DR and extra mass the A1 cannot stand (bench/standing_check.py)
    "gru_adr_fixed": Variant("adr", "last_action", (*GRU, *FIXED)),
    # gru_adr_hard_06 with the same four left at DR: that row grew the ranges but its hard
    # ends took motor strength and Kd down to x0.4, where the mean action stood
    "gru_adr_hard_06_fixed": Variant("adr", "last_action",
                                     (*GRU, "--adr-sides", "hard", "--adr-high", "0.6",
                                      "--adr-low", "0.3", *FIXED)),
    # gru_adr_hard_06_fixed covered every shifted band, the heavy mass included, and its
    # mean action stood: a quarter of the episodes keep the plain-DR ranges (anchors)
    "gru_adr_hard_06_fixed_anchor": Variant("adr", "last_action",
                                            (*GRU, "--adr-sides", "hard", "--adr-high", "0.6",
                                             "--adr-low", "0.3", *FIXED, "--adr-anchor",
                                             "0.25")),
    # gru_adr_rel with the same four left at DR: gru_adr_rel covered every shifted band but
    # also took motor strength and Kd down to x0.5, and its policy's level fell to ~0.3
    "gru_adr_rel_fixed": Variant("adr", "last_action", (*REL, *FIXED)),
    # gru_adr_rel_fixed with a stricter widening threshold: a hard end widens only while it
    # keeps 90 % of the policy's level (narrows below 50 %); at 80 % the ranges grew well
    # past the shifted bands (latency to 40 ms) and the mean action stood
    "gru_adr_rel_fixed_09": Variant("adr", "last_action", (*REL, *FIXED, "--adr-high", "0.9",
                                                            "--adr-low", "0.5")),
    # gru_adr_rel_fixed with the falling std bound (--std-final 0.2): its ranges covered every
    # shifted band while its sampled actions walked and its mean action stood (sigma 0.42-0.47)
    "gru_adr_rel_fixed_std": Variant("adr", "last_action", (*REL, *FIXED, "--std-final", "0.2")),
    # gru_adr_hard (the ADR row that walks best on `shifted`, but whose ranges grew too
    # little at 0.8) with the four infeasible parameters at DR: the growth has to go to
    # mass, payload, inertia, latency and tilt, the parameters the shifted set moves
    "gru_adr_hard_fixed": Variant("adr", "last_action", (*GRU, "--adr-sides", "hard", *FIXED)),
    # gru_adr_rel_fixed trained with legged_gym's stepping reward (feet_air_time 1.0, swings
    # longer than 0.5 s paid at touchdown, shorter ones charged), scored like every row with
    # the task's own reward: its sampled actions walk by tapping the feet (20-26 touchdowns
    # a second after 34-39 ms in the air), which its mean action does not do
    "gru_adr_rel_fixed_air": Variant("adr", "last_action", (*REL, *FIXED),
                                     reward=(("feet_air_time", 1.0),)),
    # gru_adr_rel_fixed with low-pass exploration noise (AR(1), beta 0.9: about 0.2 s
    # correlation): with white noise at sigma ~0.45 the sampled actions tap the feet 20-26
    # times a second, a gait the mean action does not make
    "gru_adr_rel_fixed_lowpass": Variant("adr", "last_action",
                                         (*REL, *FIXED, "--set", "noise=lowpass")),
    # gru_adr_rel_fixed trained with a tighter speed-tracking width (tracking_sigma, the σ² of
    # exp(−|v* − v|²/σ²), 0.1 instead of the task's 0.25), scored with the task's own: at
    # 0.25 a robot that stands earns ~39 % of the tracking term over the commanded speeds
    # (0.25-0.75 m/s), at 0.1 ~15 %; its mean actions stood while the ranges covered the
    # shifted bands
    "gru_adr_rel_fixed_sigma": Variant("adr", "last_action", (*REL, *FIXED),
                                       reward_params=(("tracking_sigma", 0.1),),
                                       robots=("quadruped",)),
    # not a candidate: trains ON the held-out set, to show what the set allows at this budget
    "gru_oracle": Variant("shifted", "last_action", GRU),
    # not a candidate either: trains on the hull of the randomized and shifted sets (is one
    # policy for both within this budget?); the quadruped's set only
    "gru_hull": Variant("bench/dynamics/quadruped_randomized_hull.yaml", "last_action", GRU),
    # plain DR over the ranges gru_adr_rel_fixed's ADR grows to (its hard limits), from the
    # first step: is the width why those rows' mean actions stand, or ADR's growth? Not
    # fitted to the held-out set (the ADR limits are one training width, the same rule for
    # every parameter); the quadruped's set only
    "gru_adr_reach": Variant("bench/dynamics/quadruped_adr_reach.yaml", "last_action", GRU),
    # gru_adr_reach trained with tracking_sigma 0.1 (as gru_adr_rel_fixed_sigma): plain DR
    # over ADR's reach stood at the task's 0.25, where standing earns ~39 % of the tracking
    # term; at 0.1 gru_adr_rel_fixed_sigma's mean actions walked and fell on `shifted`: do
    # ranges this wide from the first step, with that reward, give a gait that holds?
    "gru_adr_reach_sigma": Variant("bench/dynamics/quadruped_adr_reach.yaml", "last_action",
                                   GRU, reward_params=(("tracking_sigma", 0.1),)),
    # (d) trained with tracking_sigma 0.1: (d) is the wide-range row whose mean action walks
    "gru_adr_sigma": Variant("adr", "last_action", GRU,
                             reward_params=(("tracking_sigma", 0.1),)),
    # gru_adr_hard (ADR on the harder ends at 0.8 / 0.4, the ADR row that walks best on
    # `shifted`) trained with tracking_sigma 0.1
    "gru_adr_hard_sigma": Variant("adr", "last_action", (*GRU, "--adr-sides", "hard"),
                                  reward_params=(("tracking_sigma", 0.1),)),
    # gru_adr_rel_fixed_sigma's 1 M policies (whose mean actions walk, and fall on
    # `shifted`) trained on with plain DR over ADR's reach (gru_adr_reach_sigma's ranges):
    # from scratch those ranges gave a mean action that stands; does a gait learned first
    # hold when the ranges jump to their full width? (a 2 M row: BUDGETS' extra rows)
    "gru_adr_rel_fixed_sigma_reach": Variant("bench/dynamics/quadruped_adr_reach.yaml",
                                             "last_action", GRU,
                                             reward_params=(("tracking_sigma", 0.1),),
                                             init="gru_adr_rel_fixed_sigma",
                                             robots=("quadruped",)),
    # its control: the same 1 M policies trained on as they were (ADR, from the saved
    # ranges), so the two rows differ only in the ranges of the second million steps
    "gru_adr_rel_fixed_sigma_cont": Variant("adr", "last_action", (*REL, *FIXED),
                                            reward_params=(("tracking_sigma", 0.1),),
                                            init="gru_adr_rel_fixed_sigma",
                                            robots=("quadruped",)),
    # (e) (d) + asymmetric actor-critic: the critic also sees the true dynamics, base velocity
    # and contacts (the exported actor never does)
    "gru_adr_priv": Variant("adr", "last_action", (*GRU, "--privileged", "true")),
}
DEFAULT_VARIANTS = ("nominal", "randomized", "gru", "gru_adr", "gru_adr_priv",
                    "gru_adr_rel_fixed_sigma_reach")
"""The issue's (a)–(d), with a GRU as (c)'s memory (at 200k steps on the cartpole the
history-8 MLP did worse than plain DR: docs/robustness.md, earlier measurements), and (e),
which adds the privileged critic, the one ingredient (a)–(d) leave out, and (f), the
quadruped's curriculum in two stages: gru_adr_rel_fixed_sigma's ADR run (a row of its own,
trained first), continued over the full width ADR can reach (gru_adr_rel_fixed_sigma_reach)."""

ABLATION: dict[str, tuple[str, ...]] = {
    "mass": ("mass_scale", "payload_kg"),
    "inertia": ("inertia_scale",),
    "friction": ("friction",),
    "motor_strength": ("motor_strength",),
    "gains": ("kp_scale", "kd_scale"),
    "joint_damping": ("joint_damping",),
    "joint_friction": ("joint_friction",),
    "latency": ("action_latency_s", "obs_latency_s"),
    "gyro_bias": ("gyro_bias_x", "gyro_bias_y", "gyro_bias_z"),
    "gravity_tilt_x": ("gravity_tilt_x",),
    "gravity_tilt_y": ("gravity_tilt_y",),
}
"""Shifted-set components evaluated one at a time (a component whose keys cannot affect
the robot is skipped: gains in torque mode, gyro bias without an IMU, a range the shifted set leaves
at its training value)."""


def variant_spec(robot: str, variant: Variant, out: Path, history: int) -> str:
    """The `--robot` argument for a variant: the built-in name, or a YAML derived from it
    (written into `out`) that stacks `history` frames and/or observes the last action (with
    action latency the policy cannot otherwise know the commands still in flight), and/or
    changes reward weights or reward-only params (`Variant.reward`, `Variant.reward_params`)."""
    from robot_ppo.spec import BUILTIN_DIR, load_spec

    data = load_spec(robot).to_dict()
    name = robot
    if variant.spec != "base":
        frames = history if variant.spec == "history" else 1
        terms = data["observation"]["terms"]
        has_last = any(t["name"] == "last_action" for t in terms)
        # (the quadruped's built-in already observes last_action with one frame)
        if frames != data["observation"]["history"] or not has_last:
            if not has_last:
                terms.append({"name": "last_action", "scale": 1.0, "noise": 0.0})
            data["observation"]["history"] = frames
            name = f"{robot}_history{frames}_lastaction"
    if variant.reward:
        weights = data["task"]["params"].setdefault("reward_weights", {})
        weights.update(dict(variant.reward))
        name += "".join(f"_{k}{w:g}" for k, w in variant.reward)
    if variant.reward_params:
        data["task"]["params"].update(dict(variant.reward_params))
        name += "".join(f"_{k}{w:g}" for k, w in variant.reward_params)
    if name == robot:
        return robot
    data["name"] = name
    urdf = BUILTIN_DIR / data["urdf"]
    if urdf.is_file():  # else a pybullet_data name (the quadruped's), found by search path
        data["urdf"] = str(urdf.resolve())
    path = out / f"{data['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def ablation_components(robot: str) -> dict[str, tuple[str, ...]]:
    """ABLATION restricted to what can change this robot's behaviour."""
    from robot_ppo.spec import load_spec
    from sim.dynamics import resolve_dynamics

    spec = load_spec(robot)
    shifted = resolve_dynamics(spec, "shifted").ranges
    train = resolve_dynamics(spec, "randomized").ranges
    out = {}
    for comp, keys in ABLATION.items():
        keys = tuple(k for k in keys if k in shifted and tuple(shifted[k]) != tuple(train[k]))
        if comp == "gains" and spec.action.mode == "torque":
            continue
        if comp == "gyro_bias" and not spec.imu:
            continue
        if keys:
            out[comp] = keys
    return out


def ablation_files(robot: str, out: Path) -> dict[str, Path]:
    """`only_<c>`: the randomized set (drift on) with component c at its shifted range;
    `shifted_without_<c>`: the shifted set with c back at its training range."""
    from robot_ppo.spec import load_spec
    from sim.dynamics import resolve_dynamics

    spec = load_spec(robot)
    shifted = resolve_dynamics(spec, "shifted").ranges
    train = resolve_dynamics(spec, "randomized").ranges
    d = out / "ablation"
    d.mkdir(parents=True, exist_ok=True)
    files = {}
    for comp, keys in ablation_components(robot).items():
        for tag, base, src in (("only", "randomized", shifted),
                               ("shifted_without", "shifted", train)):
            path = d / f"{tag}_{comp}.yaml"
            path.write_text(yaml.safe_dump(
                {"base": base, "ranges": {k: [float(x) for x in src[k]] for k in keys}}))
            files[f"{tag}_{comp}"] = path
    return files
