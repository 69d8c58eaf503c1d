"""bench/robustness/rows/*.yaml (bench/robustness_rows.py): the rows docs/robustness.md
reports, as data. Each row must train exactly what its Variant of the code it replaced
trained (the options, the spec, the budgets), and a bad row file is a clear error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import robustness_rows as rr  # noqa: E402

GRU = ["--set", "recurrent=gru"]
REL = [*GRU, "--adr-sides", "hard", "--adr-relative", "true"]
FIXED = ["--adr-fixed", "friction,motor_strength,kp_scale,kd_scale"]
REACH = "bench/dynamics/quadruped_adr_reach.yaml"
BEFORE = {  # row: (robot it was measured on, --dynamics, the Variant's own arguments)
    "nominal": ("cartpole", "nominal", []),
    "randomized": ("quadruped", "randomized", []),
    "gru": ("cartpole", "randomized", GRU),
    "gru_adr": ("quadruped", "adr", GRU),
    "gru_adr_priv": ("quadruped", "adr", [*GRU, "--privileged", "true"]),
    "gru_priv": ("cartpole", "randomized", [*GRU, "--privileged", "true"]),
    "gru_adr_rel_fixed_sigma": ("quadruped", "adr", [*REL, *FIXED]),
    "gru_adr_rel_fixed_sigma_reach": ("quadruped", REACH, GRU),
    "gru_adr_rel_fixed_sigma_cont": ("quadruped", "adr", [*REL, *FIXED]),
}
"""What bench/robustness_variants.py (commit 3fc0a3a) passed to `robot-ppo train`."""


def test_the_rows_are_the_reported_ones() -> None:
    assert set(rr.ROWS) == set(BEFORE)
    assert rr.DEFAULT_ROWS == ("nominal", "randomized", "gru", "gru_adr", "gru_adr_priv",
                               "gru_priv", "gru_adr_rel_fixed_sigma_reach")


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_each_row_trains_what_its_variant_trained(name: str) -> None:
    from robot_ppo.commands.train import parse

    robot, dynamics, before = BEFORE[name]
    row = rr.ROWS[name]
    assert row.dynamics == dynamics
    base = ["--robot", robot, "--dynamics", dynamics, "--steps", "1000"]
    assert parse([*base, *row.args()]) == parse([*base, *before])


def test_specs_keep_their_names(tmp_path: Path) -> None:
    """The derived specs (and so their hashes and run directories) are those of before."""
    rows = rr.ROWS
    assert rr.row_spec("cartpole", rows["nominal"], tmp_path) == "cartpole"
    assert Path(rr.row_spec("cartpole", rows["gru"], tmp_path)).name == \
        "cartpole_history1_lastaction.yaml"
    assert rr.row_spec("quadruped", rows["gru"], tmp_path) == "quadruped"  # built-in has it
    sigma = rows["gru_adr_rel_fixed_sigma"]
    assert Path(rr.row_spec("quadruped", sigma, tmp_path)).name == \
        "quadruped_tracking_sigma0.1.yaml"
    assert rr.row_spec("quadruped", sigma, tmp_path, scored=True) == "quadruped"


def test_budgets_and_extra_runs_are_those_of_before() -> None:
    cart, quad = rr.BUDGETS["cartpole"], rr.BUDGETS["quadruped"]
    assert (cart.steps, cart.seeds, cart.episodes, cart.extra) == (400_000, 3, 20, ())
    assert (quad.steps, quad.seeds, quad.episodes) == (1_000_000, 2, 20)
    assert sorted(quad.extra) == sorted([
        ("gru", 1_000_000, 4), ("gru_adr", 1_000_000, 4), ("gru_adr_priv", 1_000_000, 4),
        ("gru_adr", 5_000_000, 2), ("gru_adr_rel_fixed_sigma", 1_000_000, 4),
        ("gru_adr_rel_fixed_sigma_reach", 2_000_000, 4),
        ("gru_adr_rel_fixed_sigma_cont", 2_000_000, 2)])
    assert rr.REFERENCE == {"quadruped": "bench/dynamics/nominal_latency_10ms.yaml"}
    reach = rr.ROWS["gru_adr_rel_fixed_sigma_reach"]
    assert (reach.init, reach.robots) == ("gru_adr_rel_fixed_sigma", ("quadruped",))
    assert not reach.applies_to("cartpole") and rr.ROWS["gru"].applies_to("cartpole")


@pytest.mark.parametrize(("text", "message"), [
    ("train: {recurrent: gru}\n", "at least `dynamics:`"),
    ("dynamics: adr\nextra: [--set, recurrent=gru]\n", "unknown key(s) ['extra']"),
    ("dynamics: adr\ntrain: {adr_corner: 0.25}\n", "['adr_corner'] are not options"),
    ("dynamics: adr\ninit: nowhere\n", "init: no row 'nowhere'"),
])
def test_a_bad_row_file_is_named_with_what_is_wrong(tmp_path: Path, text: str,
                                                    message: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(SystemExit, match=r"bad\.yaml") as exc:
        rr.load_rows(tmp_path)
    assert message in str(exc.value)


def test_a_rejected_row_is_refused_and_points_to_the_history() -> None:
    proc = subprocess.run([sys.executable, "bench/robustness.py", "--variants",
                           "gru,gru_adr_corner", "--out", "/nonexistent/never"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "unknown row(s) ['gru_adr_corner']" in proc.stderr
    assert "docs/robustness_history.md" in proc.stderr
