"""Latency measured honestly: eval mode, ``torch.inference_mode()``, warm-up runs, device
synchronisation on GPU (``torch.cuda.synchronize`` before reading the clock), many runs,
medians with p10/p90, and several configurations *interleaved* in one process (A, B, A, B, ...)
so that drift of the machine hits all of them alike: their ratios hold even when absolute times
do not. Timed end to end: from a normalised input tensor to logits at the input size.

Backends: ``eager`` (PyTorch as is), ``compile`` (``torch.compile``), ``onnxruntime`` (the model
exported to ONNX and run by ONNX Runtime's CPU provider). ``fold_bn``/``channels_last`` apply
:func:`bisenet.deploy.optimize` first.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from bisenet.atomic import atomic_write
from bisenet.errors import UsageError
from bisenet.models import build_model

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
BACKENDS = ("eager", "compile", "onnxruntime")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_runner(
    model: nn.Module,
    x: torch.Tensor,
    backend: str = "eager",
    dtype: str = "fp32",
    fold_bn: bool = False,
    channels_last: bool = False,
    workdir: Path | None = None,
) -> Callable[[], object]:
    """A zero-argument function that runs one inference of ``model`` on ``x`` the chosen way."""
    from bisenet.deploy import export_onnx, optimize

    if backend not in BACKENDS:
        raise UsageError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if dtype not in DTYPES:
        raise UsageError(f"dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
    if backend == "onnxruntime":
        import onnxruntime as ort

        if dtype != "fp32" or x.device.type != "cpu":
            raise UsageError("the onnxruntime backend is measured in fp32 on the CPU")
        path = export_onnx(model, Path(workdir or tempfile.mkdtemp()) / "model.onnx", size=tuple(x.shape[-2:]), fold_bn=fold_bn)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {"input": x.numpy()}
        return lambda: session.run(None, feed)
    net = optimize(model, fold_bn=fold_bn, channels_last=channels_last) if (fold_bn or channels_last) else model.eval()
    net = net.to(device=x.device, dtype=DTYPES[dtype])
    inp = x.to(DTYPES[dtype])
    if channels_last:
        inp = inp.contiguous(memory_format=torch.channels_last)
    if backend == "compile":
        net = torch.compile(net)

    def run() -> object:
        with torch.inference_mode():
            return net(inp)

    return run


def time_interleaved(
    runners: Mapping[str, Callable[[], object]], warmup: int, runs: int, device: torch.device
) -> dict[str, list[float]]:
    """Seconds per call of each runner, measured in rounds A, B, C, A, B, C, ..."""
    for run in runners.values():
        for _ in range(warmup):
            run()
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(runs):
        for name, run in runners.items():
            _sync(device)
            t0 = time.perf_counter()
            run()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def benchmark(
    models: Mapping[str, nn.Module] | list[str],
    sizes: list[tuple[int, int]],
    batch: int = 1,
    warmup: int = 3,
    runs: int = 10,
    device: str = "cpu",
    dtype: str = "fp32",
    backends: tuple[str, ...] = ("eager",),
    fold_bn: bool = False,
    channels_last: bool = False,
) -> pd.DataFrame:
    """Time every (model, backend) at each size, interleaved; one row per (model, backend, size).

    ``models`` is a mapping name -> module, or a list of registered names (built for inference,
    without auxiliary heads). Columns: model, backend, size, batch, dtype, median_ms, p10_ms,
    p90_ms, images_per_s (batch / median), runs.
    """
    if runs < 1 or warmup < 0 or batch < 1:
        raise UsageError(f"need runs >= 1, warmup >= 0, batch >= 1; got {runs}, {warmup}, {batch}")
    dev = torch.device(device)
    if not isinstance(models, Mapping):
        models = {name: build_model(name, aux_heads=False) for name in models}
    models = {name: m.to(dev).eval() for name, m in models.items()}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for h, w in sizes:
            x = torch.randn(batch, 3, h, w, device=dev)
            runners = {}
            for name, m in models.items():
                for backend in backends:
                    workdir = Path(tmp) / f"{name}-{backend}-{h}x{w}"
                    workdir.mkdir()
                    runners[(name, backend)] = make_runner(m, x, backend, dtype, fold_bn, channels_last, workdir)
            try:
                times = time_interleaved(runners, warmup, runs, dev)
            except (RuntimeError, MemoryError) as e:
                if not isinstance(e, MemoryError) and "alloc" not in str(e) and "out of memory" not in str(e):
                    raise
                raise UsageError(
                    f"not enough memory to run batch {batch} at {h}x{w} on {dev}: lower --batch or --size"
                ) from None
            for (name, backend), t in times.items():
                med = statistics.median(t)
                rows.append(dict(
                    model=name, backend=backend, size=f"{h}x{w}", batch=batch, dtype=dtype,
                    fold_bn=fold_bn, channels_last=channels_last,
                    median_ms=med * 1e3, p10_ms=percentile(t, 0.1) * 1e3, p90_ms=percentile(t, 0.9) * 1e3,
                    images_per_s=batch / med, runs=runs,
                ))
    return pd.DataFrame(rows)


def plot_benchmark(table: pd.DataFrame, title: str = ""):
    """Median latency per model and backend (bars) with the p10-p90 range, one panel per size."""
    import matplotlib.pyplot as plt

    sizes = list(dict.fromkeys(table["size"]))
    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 3.2), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        part = table[table["size"] == size].reset_index(drop=True)
        labels = [f"{m}\n{b}" for m, b in zip(part["model"], part["backend"])]
        err = [part["median_ms"] - part["p10_ms"], part["p90_ms"] - part["median_ms"]]
        ax.bar(range(len(part)), part["median_ms"], yerr=err, capsize=3, color="#4c72b0")
        ax.set_xticks(range(len(part)), labels, fontsize=8)
        ax.set_ylabel("ms per batch (median, p10-p90)")
        ax.set_title(f"1x3x{size}" if not title else f"{title}\n{size}", fontsize=9)
    fig.tight_layout()
    return fig


def save_benchmark_plot(table: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """:func:`plot_benchmark` written to ``path`` (PNG, 120 dpi)."""
    import matplotlib.pyplot as plt

    fig = plot_benchmark(table, title)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)
    return Path(path)
