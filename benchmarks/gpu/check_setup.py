"""The GPU check's set-up: its steps and files, the sizes of the real run and of the dry run,
the provenance of every row, the step's time budget, the tables it writes, and the small helpers
every step uses (timing, TF32, synthetic labels, MiniCity).
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch._dynamo
import torch.nn.functional as F

from bisenet.analysis.speed import percentile
from bisenet.cache import MiniCitySpec, cached_minicity
from bisenet.provenance import provenance, with_provenance
from bisenet.recipes import V1_AUX, V2_AUX

STEPS = ("correctness", "inference", "training", "dataloading", "estimate", "profile")


CSV_FILES = {step: f"gpu_{step}.csv" for step in STEPS if step != "profile"}


PROFILE_FILE = "gpu_profile.txt"


LOG_FILE = "gpu_check.log"  # written by run.sh


AUX_WEIGHTS = {"bisenetv2": V2_AUX, "bisenetv1-r18": V1_AUX, "bisenetv1-r50": V1_AUX}


# the model zoo's training memory per GPU (mmseg 1.2.2's model-zoo tables, GB), 4 images of
# 1024x1024 per GPU
ZOO = {
    "V2 fp32": ("bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024", None, 7.64),
    "V2 fp16": ("bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024", None, 5.77),
    "V1 R-18 fp32": ("bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024", None, 5.69),
    # not in the model zoo: the same recipes in the other precisions (no reference memory)
    "V2 bf16": ("bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024", "bf16", None),
    "V1 R-18 fp16": ("bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024", "fp16", None),
}


MMSEG_CONFIGS = {  # as benchmarks/mmseg_side_by_side.py
    "bisenetv2": "bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py",
    "bisenetv1-r18": "bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py",
}


# --- sizes: the only difference between the real run and the dry run -------------------------------


@dataclass(frozen=True)
class Shape:
    """An inference input: ``size`` (H, W) in, logits at ``out`` (H, W) out (None: the input
    size); ``protocol`` names it ("input-size", or "v2-paper": inference at 1024x512, logits
    upsampled to 2048x1024, as the V2 paper measures)."""

    size: tuple[int, int]
    out: tuple[int, int] | None = None
    protocol: str = "input-size"

    @property
    def label(self) -> str:
        h, w = self.size
        return f"{h}x{w}" if self.out is None else f"{h}x{w}->{self.out[0]}x{self.out[1]}"


@dataclass(frozen=True)
class Sizes:
    """Everything the real run (:data:`GPU`) and the dry run (:data:`DRY_RUN`) differ in."""

    name: str  # "gpu" or "dry-run"
    device: str  # "cuda" or "cpu"
    # 1. correctness
    check_batch: int  # images of the forward/backward comparison (train-mode BatchNorm)
    check_size: tuple[int, int]
    train_recipe: str  # the gpu recipe the short trainings run
    train_iters: int
    train_workers: int
    trend_window: int  # losses falling: mean of the last n below the mean of the first n (0: not judged)
    city: MiniCitySpec  # the MiniCity of the short trainings and the evaluation
    # 2. inference
    infer_models: tuple[str, ...]
    infer_shapes: tuple[Shape, ...]
    infer_batches: tuple[int, ...]
    infer_dtypes: tuple[str, ...]
    mmseg_shapes: tuple[str, ...]  # shape labels with mmseg rows (batch 1, fp32 and fp16, eager)
    compile_shape: Shape  # the compile set: batch 1 at this shape
    # (model, dtype, compiled backends) by priority: each group times its compiled variants
    # interleaved with the eager, eager+cudnn-benchmark and CUDA-graph ones, and is written at once
    compile_groups: tuple[tuple[str, str, tuple[str, ...]], ...]
    compile_backend: str  # torch.compile's backend
    warmup: int
    min_runs: int
    max_runs: int
    group_seconds: float  # timed rounds stop after this long (once min_runs are done)
    # 3. training step and data loading
    step_configs: tuple[str, ...]  # keys of ZOO
    step_crop: tuple[int, int]
    step_batch: int  # the micro-batch (the zoo's images per GPU)
    step_warmup: int
    step_runs: int
    iter_runs: int  # iterations of gpus x micro-batches (accumulated) timed
    big_city: MiniCitySpec  # Cityscapes-size images for the loader
    loader_crop: tuple[int, int]
    loader_scale: tuple[int, int]
    loader_workers: tuple[int, ...]
    loader_seconds: float  # each loader is timed for about this long
    # 4. estimate and profile
    profile_size: tuple[int, int]
    profile_runs: int
    full_iters: int = 160_000
    val_images: int = 500  # Cityscapes val
    val_every: int = 16_000


GPU = Sizes(
    name="gpu",
    device="cuda",
    check_batch=4,
    check_size=(512, 1024),
    train_recipe="bisenetv2-gpu",
    train_iters=20,
    train_workers=8,
    trend_window=5,
    city=MiniCitySpec(16, 4, (512, 1024)),
    infer_models=("bisenetv2", "bisenetv1-r18", "bisenetv1-r50"),
    infer_shapes=(Shape((1024, 2048)), Shape((512, 1024)), Shape((512, 1024), (1024, 2048), "v2-paper")),
    infer_batches=(1, 8),
    infer_dtypes=("fp32", "fp16", "bf16"),
    mmseg_shapes=("1024x2048", "512x1024"),
    compile_shape=Shape((1024, 2048)),
    compile_groups=(
        ("bisenetv2", "fp16", ("compile:default", "compile:reduce-overhead")),
        ("bisenetv1-r18", "fp16", ("compile:default", "compile:reduce-overhead")),
        ("bisenetv2", "bf16", ("compile:default",)),
        ("bisenetv2", "fp32", ("compile:default",)),
        ("bisenetv2", "fp16", ("compile:max-autotune-no-cudagraphs",)),  # autotunes every conv: minutes
    ),
    compile_backend="inductor",
    warmup=3,
    min_runs=5,
    max_runs=30,
    group_seconds=4.0,
    step_configs=tuple(ZOO),
    step_crop=(1024, 1024),
    step_batch=4,
    step_warmup=3,
    step_runs=8,
    iter_runs=3,
    big_city=MiniCitySpec(16, 1, (1024, 2048)),
    loader_crop=(1024, 1024),
    loader_scale=(2048, 1024),
    loader_workers=(0, 8, 16),
    loader_seconds=10.0,
    profile_size=(1024, 2048),
    profile_runs=10,
)


DRY_RUN = Sizes(
    name="dry-run",
    device="cpu",
    check_batch=4,
    check_size=(32, 64),
    train_recipe="bisenetv2-gpu-dryrun",
    train_iters=2,
    train_workers=0,
    trend_window=0,
    city=MiniCitySpec(4, 2, (64, 128)),
    infer_models=("bisenetv2", "bisenetv1-r18", "bisenetv1-r50"),
    infer_shapes=(Shape((32, 64)), Shape((32, 32)), Shape((32, 32), (64, 64), "v2-paper")),
    infer_batches=(1, 2),
    infer_dtypes=("fp32", "fp16", "bf16"),
    mmseg_shapes=("32x64", "32x32"),
    compile_shape=Shape((32, 64)),
    compile_groups=(("bisenetv2", "fp32", ("compile:default", "compile:reduce-overhead")),),
    compile_backend="aot_eager",
    warmup=1,
    min_runs=1,
    max_runs=1,
    group_seconds=0.0,
    step_configs=("V2 fp32", "V2 fp16", "V1 R-18 fp32"),
    step_crop=(32, 32),
    step_batch=2,
    step_warmup=1,
    step_runs=1,
    iter_runs=1,
    big_city=MiniCitySpec(4, 2, (64, 128)),
    loader_crop=(64, 64),
    loader_scale=(128, 64),
    loader_workers=(0, 1, 2),
    loader_seconds=1.0,
    profile_size=(32, 64),
    profile_runs=2,
)


# --- provenance, budget and tables --------------------------------------------------------------------


def nvidia_driver() -> str:
    """The NVIDIA driver's version from ``nvidia-smi``, or "none" where there is none."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "none"
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else "none"


def environment(sizes: Sizes) -> dict[str, str]:
    """The provenance of every row: :func:`bisenet.provenance.provenance` plus the GPU,
    driver, CUDA and cuDNN versions; ``commit`` from git, else ``BISENET_COMMIT`` (the device
    machine's copy of the tree may have no git)."""
    cuda = sizes.device == "cuda" and torch.cuda.is_available()
    info = provenance("cuda:0" if cuda else "cpu")
    if info["commit"] == "unknown" and os.environ.get("BISENET_COMMIT"):
        info["commit"] = os.environ["BISENET_COMMIT"] + " (BISENET_COMMIT)"
    info["gpu"] = torch.cuda.get_device_name(0) if cuda else "none (cpu)"
    info["driver"] = nvidia_driver()
    info["cuda"] = torch.version.cuda or "none (cpu build of torch)"
    info["cudnn"] = str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else "none"
    info["run"] = sizes.name
    return info


class Budget:
    """The step's time: ``seconds`` from ``start`` (the step's first instant, before torch was
    imported: ``check.START``), less a margin for writing the results."""

    def __init__(self, seconds: float, start: float, margin: float = 8.0) -> None:
        self.end = start + seconds - margin

    def left(self) -> float:
        return self.end - time.monotonic()

    def allows(self, seconds: float) -> bool:
        return self.left() > seconds


class Table:
    """One CSV of results: rows in the order added, fixed ``columns`` then the provenance, the
    file rewritten (atomically) after every row."""

    def __init__(self, path: Path, step: str, columns: list[str], info: dict[str, str]) -> None:
        self.path, self.step, self.columns, self.info = path, step, columns, info
        self.rows: list[dict[str, Any]] = []

    def add(self, status: str = "ok", error: str = "", **values: Any) -> dict[str, Any]:
        unknown = set(values) - set(self.columns)
        if unknown:
            raise KeyError(f"{self.path.name} has no columns {sorted(unknown)}")
        row = {"step": self.step, "status": status, "error": error, **values}
        self.rows.append(row)
        self.write()
        if status != "ok":
            what = describe_row(row)
            print(f"[{self.step}] {status}: {what + ': ' if what else ''}{error}", flush=True)
        return row

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=["step", "status", "error", *self.columns])
        dry = " --dry-run" if self.info.get("run") == "dry-run" else ""
        command = f"bash benchmarks/gpu/run.sh{dry} OUT_DIR"
        return with_provenance(frame, self.info, command)

    def write(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.frame().to_csv(tmp, index=False)
        os.replace(tmp, self.path)


def describe_row(row: dict[str, Any]) -> str:
    keys = ("check", "config", "model", "size", "batch", "dtype", "backend", "quantity", "workers", "layout")
    return ", ".join(f"{k}={row[k]}" for k in keys if row.get(k) not in (None, ""))


def error_text(e: BaseException) -> str:
    """One line: the exception's type and message, and where it was raised."""
    tb = traceback.extract_tb(e.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}{where}"[:500]


def guarded(table: Table, what: dict[str, Any], fn: Callable[[], Any]) -> Any:
    """``fn()``, or, when it raises, a failed row of ``what`` in ``table`` (and None): one part
    failing never loses the others."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - every failure becomes a row
        traceback.print_exc()
        table.add("failed", error_text(e), **what)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device) -> float:
    """Seconds of one call of ``fn``: CUDA events around it on a GPU (after a synchronisation, so
    nothing queued before counts), the wall clock on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def summary(times: list[float]) -> dict[str, float]:
    """median_ms, p10_ms, p90_ms of times in seconds (``bisenet.analysis.speed.percentile``)."""
    return {
        "median_ms": statistics.median(times) * 1e3,
        "p10_ms": percentile(times, 0.1) * 1e3,
        "p90_ms": percentile(times, 0.9) * 1e3,
    }


def set_tf32(enabled: bool) -> None:
    """TF32 for cuDNN convolutions and matrix products, both on or both off."""
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled


def default_tf32() -> None:
    """PyTorch's defaults: TF32 on for convolutions, off for matrix products."""
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = False


def tf32_state() -> str:
    conv, matmul = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    return f"conv {'on' if conv else 'off'}, matmul {'on' if matmul else 'off'}"


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b|| in float64; NaN or inf anywhere gives inf (never passes)."""
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        return math.inf
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def synthetic_labels(batch: int, size: tuple[int, int], classes: int = 19, seed: int = 0) -> torch.Tensor:
    """Label maps of blocks of classes (and 5 % ignore), as segmentation labels look: (N, H, W)."""
    g = torch.Generator().manual_seed(seed)
    h, w = size
    coarse = torch.randint(0, classes, (batch, 1, max(h // 16, 1), max(w // 16, 1)), generator=g).float()
    labels = F.interpolate(coarse, size=size, mode="nearest")[:, 0].long()
    labels[torch.rand(labels.shape, generator=g) < 0.05] = 255
    return labels


def minicity(work: Path, spec: MiniCitySpec) -> Path:
    """The MiniCity ``spec`` under ``work`` (generated once, by the package's generator)."""
    t0 = time.perf_counter()
    root = cached_minicity(spec, cache=work)
    print(f"{spec} at {root} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return root


def open_table(step: str, out: Path, columns: list[str], info: dict[str, str]) -> Table:
    return Table(out / CSV_FILES[step], step, columns, info)


# --- 1. correctness -----------------------------------------------------------------------------------
