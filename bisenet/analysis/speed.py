"""Latency measured honestly: eval mode, ``torch.inference_mode()``, warm-up runs, device
synchronisation on GPU, many runs, medians with p10/p90, and several models *interleaved* in one
process (model A, model B, model A, ...) so that drift of the machine hits all of them alike and
their ratios hold even when absolute times do not.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping

import pandas as pd
import torch
from torch import nn

from bisenet.models import build_model


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def benchmark(
    models: Mapping[str, nn.Module] | list[str],
    sizes: list[tuple[int, int]],
    batch: int = 1,
    warmup: int = 3,
    runs: int = 10,
    device: str = "cpu",
) -> pd.DataFrame:
    """Time each model's forward pass at each size, interleaved; one row per (model, size).

    ``models`` is a mapping name -> module, or a list of registered names (built for
    inference, without auxiliary heads). Columns: model, size, batch, median_ms, p10_ms, p90_ms,
    images_per_s (batch / median), runs.
    """
    if runs < 1 or warmup < 0 or batch < 1:
        raise ValueError(f"need runs >= 1, warmup >= 0, batch >= 1; got {runs}, {warmup}, {batch}")
    dev = torch.device(device)
    if not isinstance(models, Mapping):
        models = {name: build_model(name, aux_heads=False) for name in models}
    models = {name: m.to(dev).eval() for name, m in models.items()}
    rows = []
    with torch.inference_mode():
        for h, w in sizes:
            x = torch.randn(batch, 3, h, w, device=dev)
            for m in models.values():
                for _ in range(warmup):
                    m(x)
            _sync(dev)
            times: dict[str, list[float]] = {name: [] for name in models}
            for _ in range(runs):
                for name, m in models.items():
                    t0 = time.perf_counter()
                    m(x)
                    _sync(dev)
                    times[name].append(time.perf_counter() - t0)
            for name, t in times.items():
                med = statistics.median(t)
                rows.append(
                    dict(
                        model=name,
                        size=f"{h}x{w}",
                        batch=batch,
                        median_ms=med * 1e3,
                        p10_ms=_percentile(t, 0.1) * 1e3,
                        p90_ms=_percentile(t, 0.9) * 1e3,
                        images_per_s=batch / med,
                        runs=runs,
                    )
                )
    return pd.DataFrame(rows)
