"""Architecture rule: the algorithm and the trainer never import the simulator or deploy
(envs arrive through gymnasium ids or a factory); only the CLI layer may."""

from __future__ import annotations

import ast
from pathlib import Path

import robot_ppo

ROOT = Path(robot_ppo.__file__).parent
FORBIDDEN = ("sim", "deploy", "pybullet", "firmware_bridge")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_algo_and_train_do_not_import_sim_or_deploy() -> None:
    files = sorted((ROOT / "algo").glob("*.py")) + sorted((ROOT / "train").glob("*.py"))
    assert len(files) >= 10
    for path in files:
        bad = _imports(path) & set(FORBIDDEN)
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
