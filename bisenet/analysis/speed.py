"""Latency measured honestly: eval mode, ``torch.inference_mode()``, warm-up runs, device
synchronisation on GPU (``torch.cuda.synchronize`` before reading the clock), many runs,
medians with p10/p90, and several configurations *interleaved* in one process (A, B, A, B, ...)
so that drift of the machine hits all of them alike: their ratios hold even when absolute times
do not. Timed end to end: from a normalised input tensor to logits at the input size.

Backends: ``eager`` (PyTorch as is), ``compile`` (``torch.compile``), ``onnxruntime`` (the model
exported to ONNX and run by ONNX Runtime's CPU provider), ``onnxruntime-int8`` (that graph
quantised to int8 by :func:`bisenet.quantize.quantize_int8`; calibrated on random inputs, which
gives the same operators and so the same speed, not a meaningful accuracy: ``bisenet export
--int8`` calibrates on images), and, where ``onnxruntime-gpu`` is installed, ``onnxruntime-cuda``
and ``onnxruntime-tensorrt`` (its CUDA and TensorRT execution providers; the input is copied
from host memory in each run). With the optional OpenVINO backend installed
(:mod:`bisenet.openvino_ir`): ``openvino`` (the exported IR on OpenVINO's CPU plugin, latency
hint), ``openvino-bf16`` (its bf16 inference precision hint, where the CPU has bf16) and
``openvino-int8`` (NNCF's int8 quantisation, calibrated on random inputs as ``onnxruntime-int8``
is). ``fold_bn``/``channels_last`` apply
:func:`bisenet.deploy.optimize` first.

Protocols: ``full`` times inference at each given size. ``paper`` times what the papers' speed
tables time: BiSeNet V2's paper infers at 512x1024 and resizes the logits to
2048x1024; BiSeNet V1's tables use 768x1536 and 1024x2048 inputs, the logits again at 1024x2048
(:data:`PAPER_PROTOCOL`); each at batch 1 (latency) and batch 8 (throughput).
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

from bisenet.analysis.backends import BACKENDS
from bisenet.atomic import atomic_write
from bisenet.errors import UsageError
from bisenet.models import build_model

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# the graph backends run the fp32 export (or its quantisation): what their rows' dtype says
GRAPH_DTYPES = {"onnxruntime-int8": "int8", "openvino-int8": "int8", "openvino-bf16": "bf16"}
ORT_PROVIDERS = {
    "onnxruntime": ["CPUExecutionProvider"],
    "onnxruntime-int8": ["CPUExecutionProvider"],
    "onnxruntime-cuda": ["CUDAExecutionProvider"],
    "onnxruntime-tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
}
PAPER_OUTPUT = (1024, 2048)  # (H, W) the logits are resized to in the papers' protocol
PAPER_PROTOCOL = {
    "bisenetv2": [(512, 1024)],
    "bisenetv2-large": [(512, 1024)],
    "bisenetv1": [(768, 1536), (1024, 2048)],
}
PAPER_BATCHES = (1, 8)


def paper_sizes(model: str) -> list[tuple[int, int]]:
    """The input sizes the papers time ``model`` at (V1: both of its tables' sizes)."""
    return PAPER_PROTOCOL.get(model, PAPER_PROTOCOL["bisenetv1"] if model.startswith("bisenetv1") else [(512, 1024)])


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
    output_size: tuple[int, int] | None = None,
) -> Callable[[], object]:
    """A zero-argument function that runs one inference of ``model`` on ``x`` the chosen way
    (and, with ``output_size``, resizes the logits to it bilinearly, as the papers' protocol)."""
    import torch.nn.functional as F

    from bisenet.deploy import export_onnx, optimize

    if backend not in BACKENDS:
        raise UsageError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if dtype not in DTYPES:
        raise UsageError(f"dtype must be one of {tuple(DTYPES)}, got {dtype!r}")

    def resized(logits: torch.Tensor) -> torch.Tensor:
        if output_size is None:
            return logits
        return F.interpolate(logits, size=output_size, mode="bilinear", align_corners=False)

    if backend.startswith("onnxruntime"):
        import onnxruntime as ort

        if dtype != "fp32":
            raise UsageError(f"the {backend} backend runs the fp32 graph (or its int8 quantisation): use --dtype fp32")
        missing = [p for p in ORT_PROVIDERS[backend] if p not in ort.get_available_providers()]
        if missing:
            raise UsageError(
                f"{backend} needs onnxruntime's {missing[0]}, which this onnxruntime lacks (available: "
                f"{', '.join(ort.get_available_providers())}); install onnxruntime-gpu on a GPU machine"
            )
        workdir = Path(workdir or tempfile.mkdtemp())
        path = export_onnx(model, workdir / "model.onnx", size=tuple(x.shape[-2:]), fold_bn=fold_bn, batch=x.shape[0])
        if backend == "onnxruntime-int8":
            from bisenet.quantize import RandomImages, quantize_int8

            path = quantize_int8(
                path, workdir / "model-int8.onnx", RandomImages(4, tuple(x.shape[-2:]), batch=x.shape[0])
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = ort.InferenceSession(str(path), options, providers=ORT_PROVIDERS[backend])
        feed = {"input": x.cpu().numpy()}
        if output_size is None:
            return lambda: session.run(None, feed)
        return lambda: resized(torch.from_numpy(session.run(None, feed)[0]))
    if backend.startswith("openvino"):
        return _openvino_runner(model, x, backend, dtype, Path(workdir or tempfile.mkdtemp()), resized, output_size)
    net = optimize(model, fold_bn=fold_bn, channels_last=channels_last) if (fold_bn or channels_last) else model.eval()
    net = net.to(device=x.device, dtype=DTYPES[dtype])
    inp = x.to(DTYPES[dtype])
    if channels_last:
        inp = inp.contiguous(memory_format=torch.channels_last)
    if backend == "compile":
        net = torch.compile(net)

    def run() -> object:
        with torch.inference_mode():
            return resized(net(inp))

    return run


def _openvino_runner(model: nn.Module, x: torch.Tensor, backend: str, dtype: str, workdir: Path, resized, output_size):
    """``make_runner`` for the OpenVINO backends: the model exported as an IR (quantised with NNCF
    for ``openvino-int8``), compiled for the CPU with the latency hint and this process's threads."""
    from bisenet.openvino_ir import OpenVinoSegmenter, export_openvino, quantize_openvino
    from bisenet.quantize import RandomImages

    if dtype != "fp32":
        raise UsageError(f"the {backend} backend runs the fp32 export (or its int8 / bf16 form): use --dtype fp32")
    if x.device.type != "cpu":
        raise UsageError(f"the {backend} backend runs on the CPU: use --device cpu")
    size = tuple(x.shape[-2:])
    xml = export_openvino(model.cpu().eval(), workdir / "fp32", size)
    if backend == "openvino-int8":
        xml = quantize_openvino(xml, workdir / "int8", RandomImages(4, size, batch=x.shape[0]), count=4)
    precision = "bf16" if backend == "openvino-bf16" else "fp32"
    graph = OpenVinoSegmenter(xml, precision=precision, threads=torch.get_num_threads())
    if output_size is None:
        return lambda: graph.compiled(x.numpy())
    return lambda: resized(torch.from_numpy(graph.compiled(x.numpy())[0]))


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
    protocol: str = "full",
) -> pd.DataFrame:
    """Time every (model, backend) at each size, interleaved; one row per (model, backend, size).

    ``models`` is a mapping name -> module, or a list of registered names (built for inference,
    without auxiliary heads). ``protocol`` "paper" replaces ``sizes`` and ``batch`` by the papers'
    (see the module docstring). Columns: model, backend, protocol, size, batch, dtype, median_ms,
    p10_ms, p90_ms, images_per_s (batch / median), runs.
    """
    if protocol not in ("full", "paper"):
        raise UsageError(f"protocol must be full or paper, got {protocol!r}")
    if runs < 1 or warmup < 0 or batch < 1:
        raise UsageError(f"need runs >= 1, warmup >= 0, batch >= 1; got {runs}, {warmup}, {batch}")
    dev = torch.device(device)
    if not isinstance(models, Mapping):
        models = {name: build_model(name, aux_heads=False) for name in models}
    models = {name: m.to(dev).eval() for name, m in models.items()}
    if protocol == "paper":  # (sizes, batches) per model: each group is timed interleaved on its own
        groups = [({name: m}, paper_sizes(name), PAPER_BATCHES) for name, m in models.items()]
    else:
        groups = [(models, sizes, (batch,))]
    rows = []
    for group, group_sizes, batches in groups:
        for b in batches:
            rows += _time_group(
                group, group_sizes, b, warmup, runs, dev, dtype, backends, fold_bn, channels_last, protocol
            )
    return pd.DataFrame(rows)


def _time_group(
    models, sizes, batch, warmup, runs, dev, dtype, backends, fold_bn, channels_last, protocol
) -> list[dict]:
    output_size = PAPER_OUTPUT if protocol == "paper" else None
    what = (
        f"paper: logits resized to {PAPER_OUTPUT[0]}x{PAPER_OUTPUT[1]}"
        if output_size
        else "full: logits at the input size"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for h, w in sizes:
            x = torch.randn(batch, 3, h, w, device=dev)
            runners = {}
            for name, m in models.items():
                for backend in backends:
                    workdir = Path(tmp) / f"{name}-{backend}-{h}x{w}"
                    workdir.mkdir()
                    runners[(name, backend)] = make_runner(
                        m, x, backend, dtype, fold_bn, channels_last, workdir, output_size
                    )
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
                rows.append(
                    dict(
                        model=name,
                        backend=backend,
                        protocol=what,
                        size=f"{h}x{w}",
                        batch=batch,
                        dtype=GRAPH_DTYPES.get(backend, dtype),
                        fold_bn=fold_bn,
                        channels_last=channels_last,
                        median_ms=med * 1e3,
                        p10_ms=percentile(t, 0.1) * 1e3,
                        p90_ms=percentile(t, 0.9) * 1e3,
                        images_per_s=batch / med,
                        runs=runs,
                    )
                )
    return rows


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


def save_benchmark_plot(table: pd.DataFrame, path: str | Path, title: str = "", overwrite: bool = False) -> Path:
    """:func:`plot_benchmark` written to ``path`` (PNG, 120 dpi). An existing file that is not a
    plot the package wrote is replaced only with ``overwrite``."""
    import matplotlib.pyplot as plt

    from bisenet.atomic import PNG_SOFTWARE, refuse_foreign_png

    if not overwrite:
        refuse_foreign_png(path)
    fig = plot_benchmark(table, title)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=120, metadata={"Software": PNG_SOFTWARE})
    plt.close(fig)
    return Path(path)
