"""A checkpoint whose pickle would run code is refused without running it, and the refusal
never advises the unsafe way to load it (issue 25 item 7)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from robot_ppo.cli import main as cli_main  # noqa: E402
from robot_ppo.errors import UserError  # noqa: E402
from robot_ppo.train.checkpoint import load_checkpoint  # noqa: E402


class _TouchOnLoad:
    """Unpickling this calls Path.touch(marker): code that runs on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.marker,))


def _malicious(path: Path, marker: Path) -> Path:
    torch.save({"format": "robot_ppo.checkpoint", "format_version": 1,
                "model_state": _TouchOnLoad(marker)}, path)
    return path


def test_payload_is_real(tmp_path: Path) -> None:
    """The file would create the marker if loaded unsafely (so the next test can fail)."""
    marker = tmp_path / "pwned"
    ck = _malicious(tmp_path / "evil.pt", marker)
    torch.load(ck, weights_only=False)
    assert marker.exists()


def test_malicious_checkpoint_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    ck = _malicious(tmp_path / "evil.pt", marker)
    with pytest.raises(UserError) as info:
        load_checkpoint(ck)
    message = str(info.value)
    assert not marker.exists()
    assert "weights_only=False" not in message and "weights_only" not in message
    assert "can still be loaded" not in message and "safe_globals" not in message
    assert "not a robot_ppo checkpoint" in message and "untrusted" in message
    assert "\n" not in message


def test_malicious_checkpoint_through_export(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "pwned"
    ck = _malicious(tmp_path / "evil.pt", marker)
    assert cli_main(["export", str(ck), "-o", str(tmp_path / "p.onnx")]) == 2
    err = capsys.readouterr().err
    assert "untrusted" in err and "weights_only" not in err
    assert not marker.exists() and not (tmp_path / "p.onnx").exists()


def test_plain_pickle_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "plain.pt"
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(UserError, match="not a robot_ppo checkpoint"):
        load_checkpoint(path)
