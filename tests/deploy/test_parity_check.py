"""The export's parity tolerance: absolute below 1, relative above (deploy/parity_check.py).

A trained policy's pre-clip action mean on the random parity observations can reach the
hundreds, where one float32 rounding is larger than 1e-5; a real export bug moves the
outputs by far more than rounding does."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from deploy.onnx_metadata import INPUT_OBS, OUTPUT_MEAN, OUTPUT_STD, OUTPUT_TARGETS
from deploy.parity_check import check_parity
from robot_ppo.errors import UserError


class Linear3(nn.Module):
    """obs → (targets, mean, std) with targets = mean = W·obs: outputs in the hundreds."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.clone(), requires_grad=False)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean = obs @ self.weight.T
        return mean, mean, torch.ones_like(mean)


def onnx_bytes(module: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.onnx.export(module, (torch.zeros(1, 4),), buf, dynamo=False, opset_version=17,
                      input_names=[INPUT_OBS], output_names=[OUTPUT_TARGETS, OUTPUT_MEAN,
                                                             OUTPUT_STD],
                      dynamic_axes={INPUT_OBS: {0: "b"}})
    return buf.getvalue()


@pytest.fixture()
def weight() -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).uniform(20, 40, (2, 4))
                            .astype(np.float32))


@pytest.fixture()
def obs() -> np.ndarray:
    return np.random.default_rng(1).uniform(1, 10, (1000, 4)).astype(np.float32)


def test_float32_rounding_on_large_outputs_passes(weight: torch.Tensor, obs: np.ndarray
                                                  ) -> None:
    # the graph holds weights one float32 step away from torch's: a rounding-sized change
    nudged = torch.nextafter(weight, torch.full_like(weight, np.inf))
    graph = onnx_bytes(Linear3(nudged))
    torch_side = Linear3(weight)
    with torch.no_grad():
        raw = (torch.from_numpy(obs) @ nudged.T - torch.from_numpy(obs) @ weight.T).abs()
    assert float(raw.max()) > 1e-5, "the outputs differ by more than 1e-5 in absolute terms"
    stats = check_parity(torch_side, graph, obs, atol=1e-5)
    assert stats[OUTPUT_MEAN] <= 1e-5


def test_relative_error_above_rounding_fails(weight: torch.Tensor, obs: np.ndarray) -> None:
    graph = onnx_bytes(Linear3(weight * (1 + 1e-4)))
    with pytest.raises(UserError, match=r"parity failed.*action_mean"):
        check_parity(Linear3(weight), graph, obs, atol=1e-5)


def test_small_outputs_keep_the_absolute_limit(weight: torch.Tensor, obs: np.ndarray) -> None:
    # outputs below 1 (weights / 4000), graph weights 1e-6 higher: up to 4e-5 apart
    small = weight / 4000
    graph = onnx_bytes(Linear3(small + 1e-6))
    with torch.no_grad():
        out = torch.from_numpy(obs) @ small.T
    assert float(out.abs().max()) < 1.0
    with pytest.raises(UserError, match="parity failed"):
        check_parity(Linear3(small), graph, obs, atol=1e-5)
