"""onnxruntime execution providers: which to try, with which options, and proving they work.

`get_available_providers()` is a compile-time list: a CUDA build lists CUDA on a machine
without a usable GPU. Only a real inference proves a provider, so `try_session` builds a
session per candidate, checks that the provider is really the session's first one
(onnxruntime silently falls back to CPU when a provider fails to load) and runs the
caller's warm-up, which for a GPU compares its actions with the CPU's
(deploy.inference.agree_with_cpu): loading is not computing right.

Order with `auto`: TensorRT > CUDA > CPU (TensorRT's documented order). For small policies
the GPU is often slower than the CPU (copies and kernel launches dominate), so `auto`
times every provider that works and keeps the fastest (`time_providers=True`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime as ort

Provider = Literal["auto", "cpu", "cuda", "tensorrt"]
ORT_NAMES = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider",
             "cpu": "CPUExecutionProvider"}
PREFERENCE = ("tensorrt", "cuda", "cpu")


@dataclass(frozen=True)
class ProviderSettings:
    trt_fp16: bool = True
    """TensorRT: build FP16 engines (half the latency on Jetson; policies tolerate it)."""
    trt_cache_dir: str = ""
    """TensorRT engine/timing cache directory ('' = ~/.cache/robot_ppo/trt). Rebuilt when the
    model, onnxruntime, TensorRT or the GPU change."""
    device_id: int = 0
    """CUDA device."""
    cuda_tf32: bool = False
    """CUDA: allow TF32 matrix products (10-bit mantissa). Off: a batch-1 policy gains no
    speed from it (same latency either way on an H200, bench/providers.py), and an
    exported policy is checked to 1e-5 against torch in full FP32."""


def session_options() -> ort.SessionOptions:
    """One thread, sequential execution: a batch-1 MLP gains nothing from a thread pool, and
    pool wake-ups add tens of µs of jitter to a real-time loop."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only: provider fallbacks are reported by us
    return so


def provider_entry(name: str, settings: ProviderSettings) -> tuple[str, dict[str, Any]]:
    """(onnxruntime provider name, options) for one of `PREFERENCE`."""
    if name == "tensorrt":
        cache = settings.trt_cache_dir or str(Path.home() / ".cache" / "robot_ppo" / "trt")
        os.makedirs(cache, exist_ok=True)
        return ORT_NAMES[name], {
            "device_id": settings.device_id,
            "trt_fp16_enable": settings.trt_fp16,
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": cache,
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": cache,
        }
    if name == "cuda":
        return ORT_NAMES[name], {"device_id": settings.device_id,
                                 "use_tf32": str(int(settings.cuda_tf32))}
    return ORT_NAMES["cpu"], {}


def candidates(requested: Provider) -> list[str]:
    """Providers to try, best first, limited to those compiled into this onnxruntime."""
    available = set(ort.get_available_providers())
    if requested == "auto":
        wanted = list(PREFERENCE)
    elif requested in ORT_NAMES:
        wanted = [requested, "cpu"] if requested != "cpu" else ["cpu"]
    else:
        raise ValueError(f"unknown provider {requested!r}; choose auto, cpu, cuda or tensorrt")
    return [p for p in wanted if ORT_NAMES[p] in available]


def try_session(model: bytes, name: str, settings: ProviderSettings,
                warmup: Callable[[ort.InferenceSession], None]
                ) -> tuple[ort.InferenceSession | None, str]:
    """A session whose first provider is `name` and which ran `warmup`, or (None, why)."""
    entry = provider_entry(name, settings)
    providers: list[Any] = [entry] if name == "cpu" else [entry, ORT_NAMES["cpu"]]
    try:
        sess = ort.InferenceSession(model, sess_options=session_options(), providers=providers)
    except Exception as exc:  # onnxruntime raises several unrelated types here
        return None, f"session creation failed: {exc}".splitlines()[0]
    if sess.get_providers()[0] != ORT_NAMES[name]:
        return None, "provider did not load (missing CUDA/TensorRT libraries or no device)"
    try:
        warmup(sess)
    except Exception as exc:
        return None, f"warm-up inference failed: {exc}".splitlines()[0]
    return sess, ""


def median_latency_us(run: Callable[[], Any], n: int = 200) -> float:
    times = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter_ns()
        run()
        times[i] = time.perf_counter_ns() - t0
    return float(np.median(times)) / 1e3
