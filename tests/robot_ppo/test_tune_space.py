"""The search space file and the objective: checked before any trial, with errors that name
the problem and the way out."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_ppo.errors import UserError
from robot_ppo.train.config import TrainConfig
from robot_ppo.tune.objective import make_objective
from robot_ppo.tune.space import default_space_path, load_space, parse_space


class FakeTrial:
    """Records the suggest_* calls a Param makes (the optuna Trial API)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[object, ...], dict[str, object]]] = []

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        self.calls.append(("float", name, (low, high), {"log": log}))
        return low

    def suggest_int(self, name: str, low: int, high: int, step: int = 1,
                    log: bool = False) -> int:
        self.calls.append(("int", name, (low, high), {"step": step, "log": log}))
        return high

    def suggest_categorical(self, name: str, choices: list[object]) -> object:
        self.calls.append(("categorical", name, tuple(choices), {}))
        return choices[-1]


def test_types_follow_the_train_options() -> None:
    space = parse_space({"params": {"lr": {"low": 1e-4, "high": 1e-2, "log": True},
                                    "epochs": {"low": 3, "high": 9, "step": 3},
                                    "hidden": {"choices": ["32,32", "64,64"]}}}, "test")
    trial = FakeTrial()
    values = space.suggest(trial)
    assert trial.calls == [("float", "lr", (1e-4, 1e-2), {"log": True}),
                           ("int", "epochs", (3, 9), {"step": 3, "log": False}),
                           ("categorical", "hidden", ("32,32", "64,64"), {})]
    assert values == {"lr": 1e-4, "epochs": 9, "hidden": "64,64"}


def test_unknown_parameter_names_the_valid_ones() -> None:
    with pytest.raises(UserError) as err:
        parse_space({"params": {"learning_rate": {"low": 1e-4, "high": 1e-3}}}, "s.yaml")
    message = str(err.value)
    assert "'learning_rate'" in message and "Valid ones:" in message
    assert "lr" in message and "kl_mode" in message and "\n" not in message


def test_an_option_tune_sets_itself_is_refused_with_why() -> None:
    with pytest.raises(UserError, match="set by tune itself"):
        parse_space({"params": {"steps": {"low": 1000, "high": 2000}}}, "s.yaml")


@pytest.mark.parametrize(("entry", "expected"), [
    ({"low": 0.01, "high": 0.001}, "low 0.01 must be below high 0.001"),
    ({"low": 0.5, "high": 0.5}, "must be below high"),
    ({"low": 0.0, "high": 0.1, "log": True}, "log scale needs a positive range"),
    ({"low": -1.0, "high": 0.1, "log": True}, "log scale needs a positive range"),
    ({"high": 0.1}, "needs low and high"),
    ({"low": "fast", "high": 0.1}, "low must be a number"),
    ({"low": 1e-4, "high": 1e-3, "scale": "log"}, "unknown key(s) scale"),
])
def test_bad_ranges_are_refused(entry: dict[str, object], expected: str) -> None:
    with pytest.raises(UserError) as err:
        parse_space({"params": {"lr": entry}}, "s.yaml")
    assert expected in str(err.value) and "'lr'" in str(err.value)


def test_choices_are_checked_against_the_option_type() -> None:
    with pytest.raises(UserError, match="choose one of tanh, elu, relu"):
        parse_space({"params": {"activation": {"choices": ["tanh", "swish"]}}}, "s.yaml")
    with pytest.raises(UserError, match="takes \\{choices"):
        parse_space({"params": {"hidden": {"low": 32, "high": 64}}}, "s.yaml")
    with pytest.raises(UserError, match="whole numbers"):
        parse_space({"params": {"epochs": {"low": 2.5, "high": 8}}}, "s.yaml")


def test_defaults_inside_the_space_become_a_trial_else_none() -> None:
    space = parse_space({"params": {"lr": {"low": 1e-4, "high": 1e-2, "log": True},
                                    "hidden": {"choices": ["32,32", "64,64"]}}}, "s.yaml")
    assert space.defaults(TrainConfig()) == {"lr": 1e-3, "hidden": "64,64"}
    assert space.defaults(TrainConfig.flat(lr=0.5)) is None
    assert space.defaults(TrainConfig.flat(hidden=(128,))) is None


def test_shipped_spaces_load_and_fall_back_to_default() -> None:
    for robot in ("cartpole", "quadruped", None):
        space = load_space(default_space_path(robot))
        assert space.params
    assert default_space_path("cartpole").name == "cartpole.yaml"
    assert default_space_path("arm").name == "default.yaml"
    assert load_space(default_space_path("cartpole")).budget == 8192


def test_space_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "space.yaml"
    bad.write_text("params: [lr]\n")
    with pytest.raises(UserError, match=str(bad)):
        load_space(bad)
    with pytest.raises(UserError, match="does not exist"):
        load_space(tmp_path / "missing.yaml")


def test_objective_threshold_rules() -> None:
    with pytest.raises(UserError, match="needs --threshold"):
        make_objective("steps", None, 500.0)
    with pytest.raises(UserError, match="best possible return is 500"):
        make_objective("return", 600.0, 500.0)
    steps = make_objective("steps", 400.0, 500.0)
    assert steps.direction == "minimize" and steps.intermediate(300.0) == -300.0
    assert steps.value([100.0, 420.0], 2048.0, 4096.0) == 2048.0
    # never reached: after every trial that did, closer ones first
    assert steps.value([100.0, 300.0], None, 4096.0) == pytest.approx(4096 * 1.25)
    assert steps.value([100.0], None, 4096.0) > steps.value([300.0], None, 4096.0) > 4096
    ret = make_objective("return", None, None)
    assert ret.direction == "maximize" and ret.value([1.0, 7.0], None, 10.0) == 7.0
