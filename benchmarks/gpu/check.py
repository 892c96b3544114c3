"""The package's GPU check: correctness, inference speed, training step, data loading, an
estimate of a full recipe's wall time, and a profile, on one CUDA card.

``benchmarks/gpu/run.sh`` calls this file once per step, each in its own process under its own
timeout, so that a step that fails or hangs costs only its own results::

    python benchmarks/gpu/check.py STEP --out OUT_DIR --work WORK_DIR [--dry-run] [--budget SECONDS]

STEP is one of :data:`STEPS` (in order of value), or ``record-failure`` (what run.sh calls when a
step was killed: one failed row in that step's CSV). Every step writes one CSV under OUT_DIR,
rewritten after each row (a step killed half-way keeps what it measured), every row with the
provenance columns (gpu, driver, torch, cuda, commit, date, ...) and a ``status`` (ok, failed,
skipped) with the ``error`` or reason. A part of a step that fails becomes a failed row and the
step goes on with the next part.

``--dry-run`` runs the very same code at toy sizes on the CPU (:data:`DRY_RUN`), for CI and for
checking the script before a GPU is at hand; its figures are never results. The real run's
sizes are :data:`GPU`.
"""

from __future__ import annotations

import time

START = time.monotonic()  # the step's budget counts from here (before torch is imported)

import argparse  # noqa: E402
import copy  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
for _path in (REPO, REPO / "benchmarks"):  # the package from this tree; mmseg_env beside it
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import pandas as pd  # noqa: E402
import torch  # noqa: E402
import torch._dynamo  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from bisenet.analysis.speed import DTYPES, percentile  # noqa: E402
from bisenet.cache import MiniCitySpec, cached_minicity  # noqa: E402
from bisenet.checkpoint import model_from_checkpoint  # noqa: E402
from bisenet.data import build_dataset, eval_pipeline  # noqa: E402
from bisenet.deploy import randomize_bn_statistics  # noqa: E402
from bisenet.engine.evaluator import evaluate  # noqa: E402
from bisenet.engine.run_log import read_log  # noqa: E402
from bisenet.engine.sampler import IterationSampler  # noqa: E402
from bisenet.engine.trainer import build_datasets, build_run, peak_memory_mb, train, train_step, weights_diverged  # noqa: E402
from bisenet.losses import SegmentationLoss  # noqa: E402
from bisenet.models import build_model  # noqa: E402
from bisenet.provenance import provenance, with_provenance  # noqa: E402
from bisenet.recipes import V1_AUX, V2_AUX, get_recipe  # noqa: E402

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
    """The step's time: ``seconds`` from :data:`START`, less a margin for writing the results."""

    def __init__(self, seconds: float, margin: float = 8.0) -> None:
        self.end = START + seconds - margin

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

CORRECTNESS_COLUMNS = [
    "check",
    "model",
    "dtype",
    "mode",
    "quantity",
    "value",
    "reference",
    "measure",
    "error_value",
    "tolerance",
    "passed",
    "size",
    "batch",
    "tf32",
    "note",
]
# ||a - b|| / ||b|| against the CPU in fp32. "fp32": TF32 off; "tf32": fp32 with TF32 on (PyTorch's
# default for convolutions); "autocast": mixed precision as training runs it; "cast": weights and
# input converted (as the inference benchmark runs). Set from CPU runs (autocast on the CPU
# against float64: fp16 <= 1.5e-3 logits and 1.4e-2 gradients, bf16 <= 1.4e-2 and 4e-2) with
# head-room for the GPU's other summation orders.
EVAL_TOL = {"fp32": 1e-3, "tf32": 2e-2, "fp16": 2e-2, "bf16": 6e-2}  # eval-mode logits
GRAD_TOL = {"fp32": 1e-3, "tf32": 5e-2, "fp16": 5e-2, "bf16": 1.5e-1}  # eval-mode gradients, all together
# one parameter's gradient: the first convolution's sums over every input pixel, in 16 bits under
# autocast (on the CPU against fp32: fp16 up to 8e-2, bf16 up to 0.23)
PARAM_GRAD_TOL = {"fp32": 1e-3, "tf32": 1e-1, "fp16": 1.5e-1, "bf16": 4e-1}
# train mode: BatchNorm over batch statistics -- over a few values after global pooling (V2's
# context embedding, V1's ARM/FFM) -- amplifies rounding: on the CPU fp32 against float64 the
# train-mode logits differ by ~1e-5 but the gradients by ~1e-2, fp16 autocast by ~1e-2 and ~0.3,
# bf16 by ~0.1 and ~0.7. Logits and loss are judged with these; gradients are reported only.
TRAIN_TOL = {"fp32": 1e-3, "tf32": 5e-2, "fp16": 1e-1, "bf16": 3e-1}
AGREEMENT_MIN = {"fp32": 0.999, "tf32": 0.99, "fp16": 0.98, "bf16": 0.95}  # argmax equal to the reference's
METRIC_TOL = 1e-3  # |metric on the GPU - metric on the CPU| (fractions), same images, same weights
LOSS_SCALE = 512.0  # fp16 backward: scaled as the recipes' gradient scaler starts, then unscaled
MODES = (
    ("fp32", "fp32"),
    ("fp32", "tf32"),
    ("fp16", "autocast"),
    ("bf16", "autocast"),
    ("fp16", "cast"),
    ("bf16", "cast"),
)


def disable_dropout(model: nn.Module) -> nn.Module:
    """Dropout modules in eval mode (identity): the CPU and the GPU draw different masks."""
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()
    return model


def _backward(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    aux_weights: tuple[float, ...],
    amp,
    device: torch.device,
    fp16: bool,
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Logits, loss and gradients (float32, on the CPU) of one forward and backward pass."""
    model.zero_grad(set_to_none=True)
    criterion = SegmentationLoss("ce", aux_weights if model.training else ())
    with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
        out = model(x)
        logits, aux = out if model.training else (out, [])
        terms = criterion(logits, aux, y)
    scale = LOSS_SCALE if fp16 else 1.0
    (terms["loss"] * scale).backward()
    grads = {n: p.grad.float().cpu() / scale for n, p in model.named_parameters() if p.grad is not None}
    return logits.detach().float().cpu(), terms["loss"].detach().float().cpu(), grads


def forward_backward(
    base: nn.Module,
    x: torch.Tensor,
    labels: torch.Tensor,
    device: torch.device,
    dtype: str,
    mode: str,
    aux_weights: tuple[float, ...],
) -> dict[str, Any]:
    """What a copy of ``base`` on ``device`` computes in ``mode`` (see :data:`MODES`): eval-mode
    logits (BN running statistics), and, except for "cast", the eval-mode gradients of the main
    head's loss and the train-mode (batch statistics, dropout off, booster heads on) logits,
    loss and gradients."""
    model = copy.deepcopy(base).to(device)
    set_tf32(mode == "tf32")
    xd, yd = x.to(device), labels.to(device)
    result: dict[str, Any] = {}
    model.eval()
    if mode == "cast":
        with torch.no_grad():
            model = model.to(DTYPES[dtype])
            result["logits (eval)"] = model(xd.to(DTYPES[dtype])).float().cpu()
        return result
    amp = DTYPES[dtype] if mode == "autocast" else None
    fp16 = amp is torch.float16
    result["logits (eval)"], result["loss (eval)"], result["grads (eval)"] = _backward(
        model, xd, yd, aux_weights, amp, device, fp16
    )
    disable_dropout(model.train())
    result["logits (train)"], result["loss (train)"], result["grads (train)"] = _backward(
        model, xd, yd, aux_weights, amp, device, fp16
    )
    set_tf32(False)
    return result


def compare_forward_backward(table: Table, name: str, sizes: Sizes, device: torch.device) -> None:
    """Rows: logits, loss and gradients of ``name`` on ``device`` in every mode of :data:`MODES`
    against the CPU in fp32, on the same weights (BN statistics randomised) and inputs."""
    torch.manual_seed(0)
    base = randomize_bn_statistics(build_model(name, 19), seed=1)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(sizes.check_batch, 3, *sizes.check_size, generator=g)
    labels = synthetic_labels(sizes.check_batch, sizes.check_size, seed=3)
    aux = AUX_WEIGHTS[name]
    t0 = time.perf_counter()
    ref = forward_backward(base, x, labels, torch.device("cpu"), "fp32", "fp32", aux)
    print(f"{name}: CPU fp32 reference in {time.perf_counter() - t0:.1f} s", flush=True)
    eval_names, train_names = list(ref["grads (eval)"]), list(ref["grads (train)"])
    picked = [eval_names[0], eval_names[len(eval_names) // 2], "decode_head.conv_seg.weight"]
    common = dict(
        check="forward-backward",
        model=name,
        size=f"{sizes.check_size[0]}x{sizes.check_size[1]}",
        batch=sizes.check_batch,
    )
    measure = "||x - ref|| / ||ref|| (the norms in value, reference)"
    for dtype, mode in MODES:
        what = dict(common, dtype=dtype, mode=mode)
        key = "tf32" if mode == "tf32" else dtype

        def one(dtype: str = dtype, mode: str = mode, what: dict = what, key: str = key) -> None:
            t0 = time.perf_counter()
            got = forward_backward(base, x, labels, device, dtype, mode, aux)
            tf32 = "n/a (cpu)"
            if device.type == "cuda":
                tf32 = "conv on, matmul on" if mode == "tf32" else "conv off, matmul off"
            rows = [
                (
                    "logits (eval)",
                    got["logits (eval)"],
                    ref["logits (eval)"],
                    EVAL_TOL[key],
                    "eval mode, BN running statistics randomised",
                )
            ]
            if mode != "cast":

                def cat(grads: dict, names: list[str]) -> torch.Tensor:
                    return torch.cat([grads[n].flatten() for n in names])

                rows += [
                    ("loss (eval)", got["loss (eval)"], ref["loss (eval)"], EVAL_TOL[key], "main head's CE"),
                    (
                        "grad (eval): all",
                        cat(got["grads (eval)"], eval_names),
                        cat(ref["grads (eval)"], eval_names),
                        GRAD_TOL[key],
                        "eval-mode backward of the main head's CE",
                    ),
                ]
                rows += [
                    (
                        f"grad (eval): {n}",
                        got["grads (eval)"][n],
                        ref["grads (eval)"][n],
                        PARAM_GRAD_TOL[key],
                        "eval-mode backward",
                    )
                    for n in picked
                ]
                rows += [
                    (
                        "logits (train)",
                        got["logits (train)"],
                        ref["logits (train)"],
                        TRAIN_TOL[key],
                        "train mode: batch statistics, dropout off",
                    ),
                    (
                        "loss (train)",
                        got["loss (train)"],
                        ref["loss (train)"],
                        TRAIN_TOL[key],
                        "train mode, main + booster heads",
                    ),
                ]
                rows.append(
                    (
                        "grad (train): all",
                        cat(got["grads (train)"], train_names),
                        cat(ref["grads (train)"], train_names),
                        None,
                        "train mode; reported, not judged: batch statistics over a few values make it "
                        "ill-conditioned (CPU fp32 against float64 differ by ~1e-2)",
                    )
                )
            for quantity, a, b, tol, note in rows:
                err = rel_err(a, b)
                table.add(
                    **what,
                    quantity=quantity,
                    value=float(a.double().norm()),
                    reference=float(b.double().norm()),
                    measure=measure,
                    error_value=err,
                    tolerance=tol,
                    passed=None if tol is None else bool(err <= tol),
                    tf32=tf32,
                    note=note,
                )
            agree = float((got["logits (eval)"].argmax(1) == ref["logits (eval)"].argmax(1)).double().mean())
            table.add(
                **what,
                quantity="argmax agreement (eval)",
                value=agree,
                reference=1.0,
                measure="share of pixels with the reference's class",
                error_value=1 - agree,
                tolerance=AGREEMENT_MIN[key],
                passed=bool(agree >= AGREEMENT_MIN[key]),
                tf32=tf32,
                note=f"tolerance: the least share that passes; {time.perf_counter() - t0:.1f} s",
            )

        guarded(table, dict(what, quantity="all"), one)
    default_tf32()


def short_training(table: Table, sizes: Sizes, device: torch.device, root: Path, work: Path, amp: str) -> Path | None:
    """Train the gpu recipe for ``train_iters`` iterations with ``amp`` through the package's
    trainer; rows: finite losses, falling losses, the validation record. Returns the last
    checkpoint (for the evaluation check)."""
    recipe = get_recipe(sizes.train_recipe).with_(
        name=f"{sizes.train_recipe}-{amp}",
        dataset="minicity",
        iters=sizes.train_iters,
        amp=amp,
        workers=sizes.train_workers,
        log_interval=1,
        val_interval=sizes.train_iters,
        checkpoint_interval=sizes.train_iters,
    )
    what = dict(
        check="training",
        model=recipe.model,
        dtype=amp,
        mode="autocast",
        size=f"crops {recipe.crop_size[0]}x{recipe.crop_size[1]}",
        batch=recipe.batch_per_gpu,
    )
    t0 = time.perf_counter()
    where = "cuda:0" if device.type == "cuda" else "cpu"
    result = train(recipe, data_root=root, work_dir=work / f"train-{amp}", device=where, progress=False)
    seconds = time.perf_counter() - t0
    log = read_log(result.log)
    losses = log[log.kind == "train"].sort_values("iter")["loss"].astype(float).tolist()
    note = (
        f"recipe {sizes.train_recipe} with iters={sizes.train_iters}, amp={amp}; {seconds:.1f} s; "
        f"losses {[round(v, 3) for v in losses]}"
    )
    finite = len(losses) == sizes.train_iters and all(math.isfinite(v) for v in losses)
    table.add(
        **what,
        quantity="losses finite",
        value=len(losses),
        reference=sizes.train_iters,
        measure="finite losses logged / iterations",
        error_value=None,
        tolerance=None,
        passed=finite,
        note=note,
    )
    n = sizes.trend_window
    if n and len(losses) >= 2 * n:
        first, last = statistics.mean(losses[:n]), statistics.mean(losses[-n:])
        table.add(
            **what,
            quantity="loss falling",
            value=last,
            reference=first,
            measure=f"mean of the last {n} losses (value) below the mean of the first {n} (reference)",
            error_value=last - first,
            tolerance=0.0,
            passed=bool(last < first),
            note=note,
        )
    else:
        table.add(
            "skipped",
            f"{len(losses)} iterations are too few to judge a trend (dry run)",
            **what,
            quantity="loss falling",
            note=note,
        )
    val = log[log.kind == "val"]
    miou = float(val["mIoU"].iloc[-1]) if len(val) and pd.notna(val["mIoU"].iloc[-1]) else None
    table.add(
        **what,
        quantity="val mIoU",
        value=miou,
        reference=None,
        measure="validation at the last iteration",
        error_value=None,
        tolerance=None,
        passed=miou is not None and math.isfinite(miou),
        note=note,
    )
    return result.last_checkpoint


def evaluation_equality(table: Table, sizes: Sizes, device: torch.device, root: Path, checkpoint: Path | None) -> None:
    """Rows: aAcc, mIoU, mAcc and per-class IoU of ``bisenet.engine.evaluator.evaluate`` on the
    GPU against the CPU, same model (the short training's, else random with BN statistics) and
    the same validation images."""
    if checkpoint is not None:
        model, source = model_from_checkpoint(checkpoint), f"the fp16 short training's checkpoint {checkpoint.name}"
    else:
        torch.manual_seed(0)
        model = randomize_bn_statistics(build_model("bisenetv2", 19, aux_heads=False), seed=1).eval()
        source = "a random BiSeNetV2 with randomised BN statistics (the short training failed)"
    recipe = get_recipe(sizes.train_recipe)
    val_set = build_dataset("minicity", root, "val", eval_pipeline(recipe.eval_scale))
    set_tf32(False)
    on_gpu = evaluate(copy.deepcopy(model).to(device), val_set, device=device, progress=False)
    on_cpu = evaluate(copy.deepcopy(model).cpu(), val_set, device="cpu", progress=False)
    default_tf32()
    what = dict(
        check="evaluation",
        model="bisenetv2",
        dtype="fp32",
        mode="fp32",
        batch=1,
        size=f"{len(val_set)} val images {sizes.city.size[0]}x{sizes.city.size[1]}",
        tf32="conv off, matmul off" if device.type == "cuda" else "n/a (cpu)",
    )
    for quantity in ("aAcc", "mIoU", "mAcc"):
        a, b = getattr(on_gpu, quantity), getattr(on_cpu, quantity)
        diff = abs(a - b) if a is not None and b is not None else math.inf
        table.add(
            **what,
            quantity=quantity,
            value=a,
            reference=b,
            measure=f"|{device.type} - cpu|",
            error_value=diff,
            tolerance=METRIC_TOL,
            passed=bool(diff <= METRIC_TOL),
            note=source,
        )
    diffs = [
        abs(on_gpu.iou[c] - on_cpu.iou[c])
        for c in on_cpu.iou
        if on_gpu.iou.get(c) is not None and on_cpu.iou[c] is not None
    ]
    worst = max(diffs) if diffs else 0.0
    same_defined = [c for c in on_cpu.iou if (on_cpu.iou[c] is None) != (on_gpu.iou.get(c) is None)]
    table.add(
        **what,
        quantity="IoU per class (worst)",
        value=worst,
        reference=0.0,
        measure=f"max over classes |{device.type} - cpu|",
        error_value=worst,
        tolerance=METRIC_TOL,
        passed=bool(worst <= METRIC_TOL and not same_defined),
        note=source + (f"; classes defined on one side only: {same_defined}" if same_defined else ""),
    )


def divergence_detection(table: Table, device: torch.device) -> None:
    """The trainer's per-step check (``weights_diverged``, a fused infinity-norm reduction) on the
    device: a healthy model passes; a NaN weight, a weight above the limit and a non-finite
    BatchNorm buffer are each caught and named."""
    model = build_model("bisenetv2", 19, aux_heads=True).to(device)
    cases = {
        "healthy": None,
        "NaN weight": ("weight", float("nan")),
        "weight 2e6": ("weight", 2e6),
        "inf BN buffer": ("buffer", float("inf")),
    }
    weight = model.decode_head.conv_seg.weight
    buffer = next(b for b in model.buffers() if b.is_floating_point())
    for case, change in cases.items():
        with torch.no_grad():
            saved = (weight.clone(), buffer.clone())
            if change is not None:
                (weight if change[0] == "weight" else buffer).view(-1)[0] = change[1]
            found = weights_diverged(model)
            weight.copy_(saved[0])
            buffer.copy_(saved[1])
        passed = (found == []) if change is None else bool(found)
        table.add(
            check="divergence",
            model="bisenetv2",
            dtype="fp32",
            mode=case,
            quantity="weights_diverged",
            error_value=float(len(found)),
            tolerance=0.0 if change is None else 1.0,
            passed=passed,
        )


def step_correctness(sizes: Sizes, out: Path, work: Path, budget: Budget, info: dict[str, str]) -> None:
    """1. Forward/backward on the device against the CPU; 20 iterations of the gpu recipe in fp16
    and in bf16 through the trainer; evaluation on the device equal to the CPU's."""
    table = open_table("correctness", out, CORRECTNESS_COLUMNS, info)
    device = torch.device(sizes.device)
    for name in ("bisenetv2", "bisenetv1-r18"):
        guarded(
            table,
            dict(check="forward-backward", model=name, quantity="all"),
            lambda name=name: compare_forward_backward(table, name, sizes, device),
        )
    guarded(
        table,
        dict(check="divergence", model="bisenetv2", quantity="weights_diverged"),
        lambda: divergence_detection(table, device),
    )
    root = guarded(table, dict(check="training", quantity="MiniCity"), lambda: minicity(work, sizes.city))
    checkpoint = None
    if root is not None:
        for amp in ("fp16", "bf16"):
            if not budget.allows(20):
                table.add(
                    "skipped", f"time budget: {budget.left():.0f} s left", check="training", dtype=amp, quantity="all"
                )
                continue
            got = guarded(
                table,
                dict(check="training", model="bisenetv2", dtype=amp, quantity="all"),
                lambda amp=amp: short_training(table, sizes, device, root, work, amp),
            )
            checkpoint = checkpoint or got
        guarded(
            table,
            dict(check="evaluation", model="bisenetv2", quantity="all"),
            lambda: evaluation_equality(table, sizes, device, root, checkpoint),
        )


# --- 2. inference speed -------------------------------------------------------------------------------

INFERENCE_COLUMNS = [
    "set",
    "model",
    "impl",
    "size",
    "output",
    "protocol",
    "batch",
    "dtype",
    "backend",
    "median_ms",
    "p10_ms",
    "p90_ms",
    "images_per_s",
    "runs",
    "warmup",
    "ratio_to_mmseg",
    "ratio_to_eager",
    "rel_diff_to_eager",
    "compile_s",
    "compile_backend",
    "tf32",
    "cudnn_benchmark",
    "timer",
    "note",
]


class WithOutputSize(nn.Module):
    """The model, its logits resized bilinearly to ``out`` (the V2 paper's protocol), or as they
    are (at the input size) when ``out`` is None."""

    def __init__(self, model: nn.Module, out: tuple[int, int] | None) -> None:
        super().__init__()
        self.model, self.out = model, out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        if self.out is None:
            return logits
        return F.interpolate(logits, size=self.out, mode="bilinear", align_corners=False)


class MMSegLogits(nn.Module):
    """mmseg's whole-image inference: logits at the input size (``encode_decode``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode_decode(x, [dict(img_shape=tuple(x.shape[-2:]))] * x.shape[0])


@dataclass
class Variant:
    """One timed configuration and what its row says."""

    row: dict[str, Any]
    run: Callable[[], torch.Tensor] | None = None
    times: list[float] = field(default_factory=list)
    error: str = ""
    skip: str = ""  # why it is not run (a row with status "skipped")
    compile_s: float | None = None
    output: torch.Tensor | None = None


def make_inference_runner(
    module: nn.Module, x: torch.Tensor, backend: str, compile_backend: str
) -> tuple[Callable[[], torch.Tensor], float | None]:
    """A zero-argument function that runs ``module`` on ``x`` the ``backend`` way, and the seconds
    its first call took when it compiles. Backends: "eager"; "eager+cudnn-benchmark" (cuDNN's
    autotuner on for these calls); "cuda-graph" (the eager model captured by hand in a
    ``torch.cuda.CUDAGraph`` and replayed); "compile:MODE" (``torch.compile`` with that mode,
    "default" for none; "reduce-overhead" adds CUDA graphs)."""
    if backend == "eager":

        def run() -> torch.Tensor:
            with torch.inference_mode():
                return module(x)

        return run, None
    if backend == "eager+cudnn-benchmark":

        def run() -> torch.Tensor:
            before = torch.backends.cudnn.benchmark
            torch.backends.cudnn.benchmark = True
            try:
                with torch.inference_mode():
                    return module(x)
            finally:
                torch.backends.cudnn.benchmark = before

        return run, None
    if backend == "cuda-graph":
        if x.device.type != "cuda":
            raise RuntimeError("cuda-graph needs a CUDA device")
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(3):
                module(x)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.no_grad(), torch.cuda.graph(graph):
            static_out = module(x)

        def run() -> torch.Tensor:
            graph.replay()
            return static_out

        return run, None
    if backend.startswith("compile:"):
        mode = backend.split(":", 1)[1]
        if mode == "reduce-overhead" and x.device.type != "cuda":
            raise RuntimeError("reduce-overhead (CUDA graphs) needs a CUDA device")
        net = torch.compile(module, mode=None if mode == "default" else mode, backend=compile_backend, dynamic=False)
        mark = getattr(torch.compiler, "cudagraph_mark_step_begin", None) if mode == "reduce-overhead" else None

        def run() -> torch.Tensor:  # no_grad: the documented way for CUDA graphs (reduce-overhead)
            if mark is not None:
                mark()
            with torch.no_grad():
                return net(x)

        t0 = time.perf_counter()
        run()
        sync(x.device)
        return run, time.perf_counter() - t0
    raise ValueError(f"unknown backend {backend!r}")


def time_variants(variants: list[Variant], device: torch.device, sizes: Sizes, budget: Budget) -> None:
    """Warm-up rounds, then timed rounds A, B, C, A, B, C, ... over the variants that built, until
    ``max_runs`` or ``group_seconds`` (after ``min_runs``) or the step's budget; a variant that
    raises is dropped with its error."""
    live = [v for v in variants if v.run is not None and not v.error]
    for v in live:
        try:
            for _ in range(sizes.warmup):
                v.output = v.run()
            sync(device)
            if v.output is not None:
                v.output = v.output.detach().float().clone()
        except Exception as e:  # noqa: BLE001 - a runner that fails its warm-up is a row with its error
            v.error, v.run = error_text(e), None
    live = [v for v in live if v.run is not None]
    t0 = time.monotonic()
    for r in range(sizes.max_runs):
        for v in live:
            if v.run is None:
                continue
            try:
                v.times.append(timed(v.run, device))
            except Exception as e:  # noqa: BLE001 - a runner that fails while timed is dropped, its error kept
                v.error, v.run = error_text(e), None
        done = r + 1
        if done >= sizes.min_runs and (time.monotonic() - t0 > sizes.group_seconds or not budget.allows(5)):
            break


def inference_rows(table: Table, variants: list[Variant], sizes: Sizes, warmup: int) -> None:
    """One row per variant, with its ratios to mmseg's eager and to its own eager variant."""

    def key(v: Variant) -> tuple:
        r = v.row
        return r["model"], r["size"], r["output"], r["batch"], r["dtype"]

    eager = {key(v): v for v in variants if v.row["backend"] == "eager" and v.row["impl"] == "bisenet" and v.times}
    mmseg = {
        (v.row["model"].removeprefix("mmseg:"), *key(v)[1:]): v
        for v in variants
        if v.row["impl"] == "mmseg" and v.times
    }
    for v in variants:
        if v.error or v.skip or not v.times:
            status = "failed" if v.error else "skipped"
            table.add(status, v.error or v.skip or "not timed (time budget)", **v.row, compile_s=v.compile_s)
            continue
        stats = summary(v.times)
        ours = v.row["impl"] == "bisenet"
        # mmseg's rows: the difference to the package's eager output on the same weights
        base = eager.get(key(v) if ours else (v.row["model"].removeprefix("mmseg:"), *key(v)[1:]))
        ref = mmseg.get(key(v)) if ours else None
        diff = None
        if base is not None and base is not v and base.output is not None and v.output is not None:
            diff = rel_err(v.output, base.output)
        table.add(
            **v.row,
            **stats,
            images_per_s=v.row["batch"] / (stats["median_ms"] / 1e3),
            runs=len(v.times),
            warmup=warmup,
            compile_s=v.compile_s,
            rel_diff_to_eager=diff,
            ratio_to_mmseg=stats["median_ms"] / summary(ref.times)["median_ms"] if ref else None,
            ratio_to_eager=stats["median_ms"] / summary(base.times)["median_ms"] if base and ours else None,
        )
        print(
            f"  {v.row['model']:16s} {v.row['size']:>20s} b{v.row['batch']} {v.row['dtype']} {v.row['backend']:34s} "
            f"{stats['median_ms']:8.2f} ms",
            flush=True,
        )


def import_mmseg_builder() -> tuple[Callable[[str], nn.Module] | None, str]:
    """mmseg 1.2.2's model builder (benchmarks/mmseg_env.py), or None and why not."""
    try:
        from mmseg_env import build_mmseg_model

        import_mmseg = sys.modules["mmseg_env"].import_mmseg
        mmseg = import_mmseg()
        return build_mmseg_model, f"mmseg {mmseg.__version__}"
    except Exception as e:  # noqa: BLE001 - any import failure means no mmseg rows
        return None, f"mmseg does not import: {error_text(e)}"


def step_inference(sizes: Sizes, out: Path, work: Path, budget: Budget, info: dict[str, str]) -> None:
    """2. Latency of V2, V1 R-18, V1 R-50: the grid (every shape x batch x dtype, eager and CUDA
    graphs, mmseg's eager models beside them), then the compile set (the priority variants
    compiled, interleaved with their eager ones) while the budget lasts."""
    table = open_table("inference", out, INFERENCE_COLUMNS, info)
    device = torch.device(sizes.device)
    cuda = device.type == "cuda"
    torch.backends.cudnn.benchmark = False
    for limit in ("cache_size_limit", "recompile_limit"):  # one compiled wrapper per variant: no eager fallback
        if hasattr(torch._dynamo.config, limit):
            setattr(torch._dynamo.config, limit, 64)
    tf32 = tf32_state() if cuda else "n/a (cpu)"
    timer = "CUDA events, synchronised before each call" if cuda else "wall clock (perf_counter)"
    common = dict(tf32=tf32, cudnn_benchmark=False, timer=timer, compile_backend="")
    bases: dict[str, nn.Module] = {}
    for name in sizes.infer_models:
        torch.manual_seed(0)
        bases[name] = randomize_bn_statistics(build_model(name, 19, aux_heads=False), seed=1).eval()
    build_mmseg, mmseg_note = import_mmseg_builder()
    print(mmseg_note, flush=True)
    mmseg_bases: dict[str, nn.Module] = {}
    if build_mmseg is not None:
        for name, config in MMSEG_CONFIGS.items():

            def build(name: str = name, config: str = config) -> None:
                model = build_mmseg(config).eval()
                # the same weights (the names are identical; ours has no booster heads here)
                missing, unexpected = model.load_state_dict(bases[name].state_dict(), strict=False)
                if unexpected or any(not k.startswith("auxiliary_head.") for k in missing):
                    raise RuntimeError(f"mmseg's {name} does not take the package's weights: {unexpected or missing}")
                mmseg_bases[name] = model

            guarded(table, dict(set="grid", model=f"mmseg:{name}", impl="mmseg", backend="eager"), build)
    cast_cache: dict[tuple[str, str, str], nn.Module] = {}

    def module_for(name: str, dtype: str, impl: str) -> nn.Module:
        if (name, dtype, impl) not in cast_cache:
            src = bases[name] if impl == "bisenet" else mmseg_bases[name]
            cast_cache[name, dtype, impl] = copy.deepcopy(src).to(device=device, dtype=DTYPES[dtype]).eval()
        return cast_cache[name, dtype, impl]

    def variant(
        set_name: str,
        name: str,
        impl: str,
        shape: Shape,
        batch: int,
        dtype: str,
        backend: str,
        x: torch.Tensor,
        note: str = "",
    ) -> Variant:
        out_hw = shape.out or shape.size
        row = dict(
            set=set_name,
            model=name if impl == "bisenet" else f"mmseg:{name}",
            impl=impl,
            size=shape.label,
            output=f"{out_hw[0]}x{out_hw[1]}",
            protocol=shape.protocol,
            batch=batch,
            dtype=dtype,
            backend=backend,
            **common,
            note=note,
        )
        if backend.startswith("compile"):
            row["compile_backend"] = sizes.compile_backend
        v = Variant(row)
        if backend in ("cuda-graph", "compile:reduce-overhead") and not cuda:
            v.skip = "CUDA graphs: not on the CPU (dry run)"
            return v
        try:
            base = module_for(name, dtype, impl)
            module = WithOutputSize(base if impl == "bisenet" else MMSegLogits(base), shape.out)
            v.run, v.compile_s = make_inference_runner(module, x, backend, sizes.compile_backend)
        except Exception as e:  # noqa: BLE001 - a backend that cannot build is a row with its error
            traceback.print_exc()
            v.error = error_text(e)
        return v

    def grid_group(shape: Shape, batch: int) -> None:
        """Every model x dtype (x eager and CUDA graphs at batch 1, x mmseg's eager at batch 1 in
        fp32 and fp16 at ``mmseg_shapes``) at one shape and batch, timed interleaved."""
        if not budget.allows(30):
            table.add(
                "skipped",
                f"time budget: {budget.left():.0f} s left",
                set="grid",
                size=shape.label,
                batch=batch,
                model="*",
                backend="*",
            )
            return
        print(f"grid {shape.label} batch {batch} ({budget.left():.0f} s left)", flush=True)
        variants = []
        for dtype in sizes.infer_dtypes:
            x = torch.randn(batch, 3, *shape.size, device=device).to(DTYPES[dtype])
            for name in sizes.infer_models:
                for backend in ("eager", "cuda-graph") if batch == 1 else ("eager",):
                    variants.append(variant("grid", name, "bisenet", shape, batch, dtype, backend, x))
            if shape.label in sizes.mmseg_shapes and batch == 1 and dtype in ("fp32", "fp16"):
                for name in MMSEG_CONFIGS:
                    v = (
                        variant("grid", name, "mmseg", shape, batch, dtype, "eager", x, note=mmseg_note)
                        if name in mmseg_bases
                        else Variant(
                            dict(
                                set="grid",
                                model=f"mmseg:{name}",
                                impl="mmseg",
                                size=shape.label,
                                protocol=shape.protocol,
                                batch=batch,
                                dtype=dtype,
                                backend="eager",
                            ),
                            skip=mmseg_note,
                        )
                    )
                    variants.append(v)
        finish(variants)

    def compile_group(name: str, dtype: str, backends: tuple[str, ...]) -> None:
        """``name`` in ``dtype`` at batch 1: eager, eager with cuDNN's autotuner, CUDA graphs and
        each compiled backend (while the budget allows one more compile), timed interleaved."""
        shape, batch = sizes.compile_shape, 1
        x = torch.randn(batch, 3, *shape.size, device=device).to(DTYPES[dtype])
        print(f"compile set: {name} {dtype} {shape.label} batch {batch} ({budget.left():.0f} s left)", flush=True)
        variants = [
            variant("compile", name, "bisenet", shape, batch, dtype, backend, x)
            for backend in (("eager", "eager+cudnn-benchmark", "cuda-graph") if cuda else ("eager",))
        ]
        for backend in backends:
            longest = max(seen) if seen else (45.0 if cuda else 10.0)  # a guess until one is seen
            if not budget.allows(longest * 1.3 + 10):
                variants.append(
                    Variant(
                        dict(
                            set="compile",
                            model=name,
                            impl="bisenet",
                            size=shape.label,
                            protocol=shape.protocol,
                            batch=batch,
                            dtype=dtype,
                            backend=backend,
                            compile_backend=sizes.compile_backend,
                        ),
                        skip=f"time budget: {budget.left():.0f} s left, a compile takes about {longest:.0f} s",
                    )
                )
                continue
            print(f"  compiling {name} {dtype} {backend}", flush=True)
            v = variant("compile", name, "bisenet", shape, batch, dtype, backend, x)
            variants.append(v)
            if v.compile_s:
                seen.append(v.compile_s)
        if any(v.row["backend"].startswith("compile") and v.run is not None for v in variants):
            finish(variants)
        else:  # nothing compiled: the rows say why, no eager timings repeated
            inference_rows(table, [v for v in variants if v.row["backend"].startswith("compile")], sizes, sizes.warmup)

    def finish(variants: list[Variant]) -> None:
        time_variants(variants, device, sizes, budget)
        inference_rows(table, variants, sizes, sizes.warmup)
        for v in variants:
            v.run = v.output = None
        if cuda:
            torch.cuda.empty_cache()

    # batch 1 first (the latency the papers report), then the compile set, then batch 8
    seen: list[float] = []  # compile times so far
    for shape in sizes.infer_shapes:
        guarded(
            table,
            dict(set="grid", size=shape.label, batch=1, model="*", backend="*"),
            lambda shape=shape: grid_group(shape, 1),
        )
    # batch 8 before the compiles: a first compile slower than planned can end the step, and
    # then only compile rows are lost
    for batch in sizes.infer_batches[1:]:
        for shape in sizes.infer_shapes:
            guarded(
                table,
                dict(set="grid", size=shape.label, batch=batch, model="*", backend="*"),
                lambda shape=shape, batch=batch: grid_group(shape, batch),
            )
    for name, dtype, backends in sizes.compile_groups:
        guarded(
            table,
            dict(set="compile", model=name, dtype=dtype, backend="*"),
            lambda name=name, dtype=dtype, backends=backends: compile_group(name, dtype, backends),
        )
    table.add(
        "skipped",
        "not in the grid, to keep within the budget: compiled variants at batch 8, at the smaller "
        "size and in the paper's protocol; mmseg at batch 8 and in bf16; CUDA graphs at batch 8",
        set="not measured",
        model="*",
        backend="*",
    )


# --- 3. training step ---------------------------------------------------------------------------------

TRAINING_COLUMNS = [
    "config",
    "recipe",
    "model",
    "amp",
    "crop",
    "micro_batch",
    "accum",
    "micro_step_ms",
    "p10_ms",
    "p90_ms",
    "iteration_ms",
    "images_per_s",
    "checks_ms",
    "peak_memory_gib",
    "peak_reserved_gib",
    "zoo_memory_gb",
    "memory_vs_zoo",
    "runs",
    "iteration_runs",
    "tf32",
    "cudnn_benchmark",
    "timer",
    "note",
]


def divergence_checks(model: nn.Module) -> bool:
    """What ``train_step`` checks after every optimiser step (``weights_diverged``: any weight
    non-finite or above ``DIVERGED_WEIGHT``, any buffer non-finite); timed alone for the
    ``checks_ms`` column."""
    return bool(weights_diverged(model))


def time_training_step(table: Table, config: str, sizes: Sizes, device: torch.device) -> None:
    """Step time and peak memory of a model-zoo recipe's micro-batch (``step_batch`` images of
    ``step_crop``, booster heads on) through the package's own ``train_step`` (forward, loss,
    backward, optimiser step, divergence checks), on synthetic tensors already on the device;
    then one iteration of the recipe's ``gpus`` micro-batches accumulated (the 4x4 batch on one
    card)."""
    name, amp, zoo_gb = ZOO[config]
    recipe = get_recipe(name).with_(crop_size=sizes.step_crop, batch_per_gpu=sizes.step_batch)
    if amp is not None:
        recipe = recipe.with_(amp=amp)
    accum = recipe.global_batch // recipe.batch_per_gpu  # one process
    run = build_run(recipe, device, 0, 1, 1, None, False, False)
    net = run.model.train()
    g = torch.Generator().manual_seed(0)
    images = torch.randn(recipe.batch_per_gpu, 3, *recipe.crop_size, generator=g).to(device)
    labels = synthetic_labels(recipe.batch_per_gpu, recipe.crop_size).to(device)
    batches = itertools.repeat((images, labels))
    it = itertools.count()
    for _ in range(sizes.step_warmup):
        train_step(run, net, batches, next(it), None)
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = [timed(lambda: train_step(run, net, batches, next(it), None), device) for _ in range(sizes.step_runs)]
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**30
        reserved = torch.cuda.max_memory_reserved(device) / 2**30
    else:
        peak, reserved = peak_memory_mb(device) / 1024, None  # the process's peak RSS
    run.accum = accum
    iteration = [timed(lambda: train_step(run, net, batches, next(it), None), device) for _ in range(sizes.iter_runs)]
    checks = [timed(lambda: divergence_checks(run.model), device) for _ in range(3)]
    stats = summary(times)
    table.add(
        config=config,
        recipe=recipe.name,
        model=recipe.model,
        amp=recipe.amp or "fp32",
        crop=f"{recipe.crop_size[0]}x{recipe.crop_size[1]}",
        micro_batch=recipe.batch_per_gpu,
        accum=accum,
        micro_step_ms=stats["median_ms"],
        p10_ms=stats["p10_ms"],
        p90_ms=stats["p90_ms"],
        iteration_ms=statistics.median(iteration) * 1e3,
        images_per_s=recipe.batch_per_gpu / (stats["median_ms"] / 1e3),
        peak_memory_gib=peak,
        checks_ms=statistics.median(checks) * 1e3,
        tf32=tf32_state() if device.type == "cuda" else "n/a (cpu)",
        cudnn_benchmark=torch.backends.cudnn.benchmark,
        peak_reserved_gib=reserved,
        zoo_memory_gb=zoo_gb,
        memory_vs_zoo=peak / zoo_gb if zoo_gb and device.type == "cuda" else None,
        runs=len(times),
        iteration_runs=len(iteration),
        timer="CUDA events around bisenet.engine.trainer.train_step" if device.type == "cuda" else "wall clock",
        note=(
            "peak: torch.cuda.max_memory_allocated over the micro-steps (GiB); zoo: mmseg model-zoo memory per GPU"
            if device.type == "cuda"
            else "peak: the process's peak RSS (CPU)"
        )
        + "; synthetic images and labels on the device (data loading: gpu_dataloading.csv); checks_ms: "
        "train_step's divergence checks alone (part of every step)",
    )
    print(
        f"  {config}: {stats['median_ms']:.1f} ms per micro-step, {statistics.median(iteration) * 1e3:.1f} ms per "
        f"iteration of {accum}, peak {peak:.2f} GiB",
        flush=True,
    )


def step_training(sizes: Sizes, out: Path, work: Path, budget: Budget, info: dict[str, str]) -> None:
    """3a. The model-zoo recipes' training step: time and peak memory."""
    table = open_table("training", out, TRAINING_COLUMNS, info)
    device = torch.device(sizes.device)
    for config in sizes.step_configs:
        if not budget.allows(10):
            table.add("skipped", f"time budget: {budget.left():.0f} s left", config=config)
            continue
        guarded(table, dict(config=config), lambda config=config: time_training_step(table, config, sizes, device))
        if device.type == "cuda":
            torch.cuda.empty_cache()


# --- 3b. data loading ---------------------------------------------------------------------------------

DATALOADING_COLUMNS = [
    "pipeline",
    "workers",
    "batch",
    "source_size",
    "crop",
    "batches",
    "images",
    "startup_s",
    "elapsed_s",
    "images_per_s",
    "steady_images_per_s",
    "gpu_needs_images_per_s",
    "data_bound",
    "cpu_cores",
    "note",
]


def loader_rate(dataset, workers: int, batch: int, seconds: float, pin: bool) -> dict[str, Any]:
    """Batches of ``batch`` images from a DataLoader as the trainer builds it (the training
    sampler, ``workers`` processes), until ``seconds`` have passed after the first batch: the
    start-up, the overall rate and the steady rate (after the first wave of ``workers`` batches,
    which were prepared in parallel from the start)."""
    from torch.utils.data import DataLoader

    most = max(4, 8 * max(workers, 1))
    sampler = IterationSampler(len(dataset), batch, 1, 0, 1, 0, 0, most)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=workers, pin_memory=pin)
    arrivals = []
    t0 = time.perf_counter()
    iterator = iter(loader)
    for _ in iterator:
        arrivals.append(time.perf_counter() - t0)
        if arrivals[-1] - arrivals[0] > seconds:
            break
    del iterator
    n = len(arrivals)
    k = min(max(workers, 1), n - 1)
    steady = batch * (n - k) / (arrivals[-1] - arrivals[k - 1]) if n > 1 and arrivals[-1] > arrivals[k - 1] else None
    return dict(
        batches=n,
        images=n * batch,
        startup_s=arrivals[0],
        elapsed_s=arrivals[-1],
        images_per_s=n * batch / arrivals[-1],
        steady_images_per_s=steady,
    )


def gpu_needs(out: Path) -> tuple[float | None, str]:
    """The images per second the fastest measured training step consumes (gpu_training.csv)."""
    path = out / CSV_FILES["training"]
    if not path.exists():
        return None, "gpu_training.csv missing"
    frame = pd.read_csv(path)
    frame = frame[(frame.status == "ok") & frame.images_per_s.notna()]
    if frame.empty:
        return None, "no training step measured"
    best = frame.loc[frame.images_per_s.idxmax()]
    what = f"{best.config} training step ({best.micro_step_ms:.1f} ms per {int(best.micro_batch)} images)"
    return float(best.images_per_s), what


def step_dataloading(sizes: Sizes, out: Path, work: Path, budget: Budget, info: dict[str, str]) -> None:
    """3b. The Cityscapes-size training pipeline (the model-zoo recipe's, through
    ``bisenet.engine.trainer.build_datasets``) on MiniCity at 2048x1024: images/s with 0, 8, 16
    DataLoader workers, beside what the training step consumes; and the validation pipeline."""
    table = open_table("dataloading", out, DATALOADING_COLUMNS, info)
    device = torch.device(sizes.device)
    root = minicity(work, sizes.big_city)
    recipe = get_recipe(ZOO["V2 fp16"][0]).with_(
        dataset="minicity", crop_size=sizes.loader_crop, scale=sizes.loader_scale
    )
    train_set, _ = build_datasets(recipe, root)
    need, need_note = gpu_needs(out)
    common = dict(
        source_size=f"{sizes.big_city.size[0]}x{sizes.big_city.size[1]}",
        crop=f"{recipe.crop_size[0]}x{recipe.crop_size[1]}",
        batch=recipe.batch_per_gpu,
        cpu_cores=os.cpu_count(),
        gpu_needs_images_per_s=need,
    )
    pipeline = (
        f"train: RandomResize(scale={recipe.scale}, ratio={recipe.ratio_range}), RandomCrop, RandomFlip, "
        "PhotoMetricDistortion, Normalize, Pad (recipe " + recipe.name + ")"
    )
    for workers in sizes.loader_workers:
        if not budget.allows(sizes.loader_seconds + 5):
            table.add(
                "skipped", f"time budget: {budget.left():.0f} s left", pipeline=pipeline, workers=workers, **common
            )
            continue

        def one(workers: int = workers) -> None:
            got = loader_rate(
                train_set,
                workers,
                recipe.batch_per_gpu,
                sizes.loader_seconds if workers else sizes.loader_seconds / 2,
                pin=device.type == "cuda",
            )
            rate = got["steady_images_per_s"] or got["images_per_s"]
            bound = "unknown" if need is None or workers == 0 else "yes" if rate < need else "no"
            table.add(
                pipeline=pipeline,
                workers=workers,
                **common,
                **got,
                data_bound=bound,
                note=f"the GPU's need: {need_note}; pin_memory={device.type == 'cuda'}",
            )
            print(f"  {workers:2d} workers: {got['images_per_s']:.1f} images/s overall, steady {rate:.1f}", flush=True)

        guarded(table, dict(pipeline=pipeline, workers=workers, **common), one)

    def validation() -> None:  # what trainer.validate loads: the eval pipeline, no workers
        val_set = build_dataset("minicity", root, "train", eval_pipeline(recipe.eval_scale))
        n = min(len(val_set), 4)
        t0 = time.perf_counter()
        for i in range(n):
            val_set[i]
        seconds = time.perf_counter() - t0
        table.add(
            pipeline="validation: read, Normalize (trainer.validate: evaluate() with no workers)",
            workers=0,
            batch=1,
            source_size=common["source_size"],
            crop="none",
            batches=n,
            images=n,
            startup_s=0.0,
            elapsed_s=seconds,
            images_per_s=n / seconds,
            steady_images_per_s=n / seconds,
            cpu_cores=os.cpu_count(),
            data_bound="n/a",
            note="serial, in the training process",
        )

    guarded(table, dict(pipeline="validation", workers=0), validation)


# --- 4. estimate of a full run --------------------------------------------------------------------------

ESTIMATE_COLUMNS = [
    "config",
    "model",
    "layout",
    "iters",
    "images_per_iter",
    "compute_s_per_iter",
    "data_s_per_iter",
    "s_per_iter",
    "bound",
    "validation_s",
    "total_hours",
    "rests_on",
]


def read_ok(out: Path, step: str) -> pd.DataFrame:
    path = out / CSV_FILES[step]
    if not path.exists():
        return pd.DataFrame()
    frame = pd.read_csv(path)
    return frame[frame.status == "ok"]


def step_estimate(sizes: Sizes, out: Path, work: Path, budget: Budget, info: dict[str, str]) -> None:
    """4. The wall time of a full 160k-iteration recipe on this card, from the measured training
    step, data-loading rate and inference latency: 4x4 images on one card by accumulation, or per
    card of the model zoo's 4."""
    table = open_table("estimate", out, ESTIMATE_COLUMNS, info)
    training, loading, inference = read_ok(out, "training"), read_ok(out, "dataloading"), read_ok(out, "inference")
    if training.empty:
        table.add("failed", "no training step was measured (gpu_training.csv)", config="*")
        return
    train_rows = loading[loading.pipeline.astype(str).str.startswith("train")] if not loading.empty else loading
    most = train_rows[train_rows.workers == train_rows.workers.max()] if not train_rows.empty else train_rows
    data_rate = float(most.steady_images_per_s.fillna(most.images_per_s).iloc[0]) if not most.empty else None
    data_workers = int(most.workers.iloc[0]) if not most.empty else None
    val_rows = loading[loading.pipeline.astype(str).str.startswith("validation")] if not loading.empty else loading
    val_load_s = 1 / float(val_rows.images_per_s.iloc[0]) if not val_rows.empty else None
    for _, row in training.iterrows():
        model = row.model
        big = sizes.infer_shapes[0].label
        infer = inference
        if not inference.empty:
            infer = inference[
                (inference.model == model)
                & (inference["size"] == big)
                & (inference.batch == 1)
                & (inference.dtype == "fp32")
                & (inference.backend == "eager")
                & (inference["set"] == "grid")
            ]
        infer_s = float(infer.median_ms.iloc[0]) / 1e3 if not infer.empty else None
        n_val = sizes.full_iters // sizes.val_every
        val_s = n_val * sizes.val_images * (infer_s + (val_load_s or 0.0)) if infer_s is not None else None
        images = int(row.micro_batch) * int(row.accum)
        data_s = images / data_rate if data_rate else None
        for layout, compute_s in (
            (f"1 card, {int(row.accum)}x{int(row.micro_batch)} by accumulation", row.iteration_ms / 1e3),
            (
                f"per card of {int(row.accum)} (the zoo's {int(row.accum)}x{int(row.micro_batch)}), "
                "no DDP communication",
                row.micro_step_ms / 1e3,
            ),
        ):
            s_iter = max(compute_s, data_s) if data_s is not None else compute_s
            bound = "unknown (no data rate)" if data_s is None else ("data" if data_s > compute_s else "compute")
            total_h = (sizes.full_iters * s_iter + (val_s or 0.0)) / 3600
            rests = (
                f"measured here: {row.config} iteration {row.iteration_ms:.1f} ms / micro-step "
                f"{row.micro_step_ms:.1f} ms "
                f"(train_step, synthetic tensors, crops {row.crop}); data: "
                + (
                    f"{data_rate:.1f} images/s with {data_workers} workers on {os.cpu_count()} CPU cores, loading "
                    f"overlapping compute (the slower of the two sets the pace; {images} images per iteration "
                    "however many cards share this machine's loaders)"
                    if data_rate
                    else "not measured"
                )
                + "; validation: "
                + (
                    f"{n_val} x {sizes.val_images} images at {big}, {infer_s * 1e3:.1f} ms each (fp32 eager)"
                    + (f" + {val_load_s * 1e3:.0f} ms to load" if val_load_s else "")
                    if infer_s is not None
                    else "not counted (no inference time)"
                )
                + "; not counted: start-up, checkpoints, logging"
            )
            table.add(
                config=row.config,
                model=model,
                layout=layout,
                iters=sizes.full_iters,
                images_per_iter=images,
                compute_s_per_iter=compute_s,
                data_s_per_iter=data_s,
                s_per_iter=s_iter,
                bound=bound,
                validation_s=val_s,
                total_hours=total_h,
                rests_on=rests,
            )
            print(f"  {row.config:14s} {layout:60s} {total_h:7.1f} h ({bound}-bound)", flush=True)


# --- profile ------------------------------------------------------------------------------------------


def step_profile(sizes: Sizes, out: Path, work: Path, budget: Budget, info: dict[str, str]) -> None:
    """torch.profiler's top operators and kernels by device time (CPU time in the dry run) of V2,
    fp16, batch 1, at 1024x2048, as text in gpu_profile.txt."""
    from torch.profiler import ProfilerActivity, profile

    device = torch.device(sizes.device)
    cuda = device.type == "cuda"
    path = out / PROFILE_FILE
    header = "\n".join(f"{k}: {v}" for k, v in info.items())
    h, w = sizes.profile_size
    title = f"BiSeNetV2, fp16 weights and input, batch 1, {h}x{w}, eager, {sizes.profile_runs} calls after warm-up"
    path.write_text(f"{title}\n{header}\n\n(profiling ...)\n")
    torch.manual_seed(0)
    model = randomize_bn_statistics(build_model("bisenetv2", 19, aux_heads=False), seed=1).eval()
    model = model.to(device=device, dtype=torch.float16)
    x = torch.randn(1, 3, h, w, device=device).half()
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        sync(device)
        activities = [ProfilerActivity.CPU, ProfilerActivity.CUDA] if cuda else [ProfilerActivity.CPU]
        with profile(activities=activities) as prof:
            for _ in range(sizes.profile_runs):
                model(x)
            sync(device)
    events = prof.key_averages()
    key = "self_device_time_total" if cuda else "self_cpu_time_total"

    def self_time(e) -> float:
        for attr in (key, "self_cuda_time_total", "self_cpu_time_total"):
            if hasattr(e, attr):
                return float(getattr(e, attr))
        return 0.0

    ranked = sorted(events, key=self_time, reverse=True)
    total = sum(self_time(e) for e in events) or 1.0
    lines = [
        f"top 30 by {key} (us, summed over {sizes.profile_runs} calls; share of all {key})",
        f"{'us':>12s} {'share':>7s} {'calls':>7s}  name",
    ]
    for e in ranked[:30]:
        lines.append(f"{self_time(e):12.1f} {100 * self_time(e) / total:6.1f}% {e.count:7d}  {e.key[:150]}")
    try:
        table_text = events.table(sort_by=key, row_limit=30, max_name_column_width=80)
    except Exception as e:  # noqa: BLE001 - the summary above is the part that matters
        table_text = f"(torch's table failed: {error_text(e)})"
    path.write_text(f"{title}\n{header}\n\n" + "\n".join(lines) + "\n\ntorch.profiler's table:\n" + table_text + "\n")
    print("\n".join(lines[:12]), flush=True)


# --- the command line ---------------------------------------------------------------------------------

STEP_FUNCTIONS: dict[str, Callable[[Sizes, Path, Path, Budget, dict[str, str]], None]] = {
    "correctness": step_correctness,
    "inference": step_inference,
    "training": step_training,
    "dataloading": step_dataloading,
    "estimate": step_estimate,
    "profile": step_profile,
}
STEP_COLUMNS = {
    "correctness": CORRECTNESS_COLUMNS,
    "inference": INFERENCE_COLUMNS,
    "training": TRAINING_COLUMNS,
    "dataloading": DATALOADING_COLUMNS,
    "estimate": ESTIMATE_COLUMNS,
}


def record_failure(step: str, error: str, sizes: Sizes, out: Path) -> None:
    """Append one failed row to the step's CSV (kept rows stay): what run.sh calls for a step
    that was killed or crashed before it could say so itself."""
    if step == "profile":
        with open(out / PROFILE_FILE, "a") as f:
            f.write(f"\nstep failed: {error}\n")
        return
    table = open_table(step, out, STEP_COLUMNS[step], environment(sizes))
    path = out / CSV_FILES[step]
    if path.exists() and path.stat().st_size:
        previous = pd.read_csv(path)
        kept = [c for c in ["step", "status", "error", *table.columns] if c in previous]
        table.rows = previous[kept].to_dict("records")
    table.add("failed", error)


def main(argv: Iterable[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=[*STEPS, "record-failure"])
    p.add_argument("--out", required=True, type=Path, help="where the CSVs go")
    p.add_argument("--work", required=True, type=Path, help="scratch space (MiniCity, training runs)")
    p.add_argument("--dry-run", action="store_true", help="toy sizes on the CPU")
    p.add_argument("--budget", type=float, default=120.0, help="seconds this step may take (run.sh's timeout)")
    p.add_argument("--failed-step", help="record-failure: the step")
    p.add_argument("--error", default="", help="record-failure: what happened")
    args = p.parse_args(list(argv) if argv is not None else None)
    sizes = DRY_RUN if args.dry_run else GPU
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.step == "record-failure":
        record_failure(args.failed_step, args.error, sizes, args.out)
        return 0
    if sizes.device == "cuda" and not torch.cuda.is_available():
        message = (
            f"torch {torch.__version__} sees no CUDA device: run the dry run (--dry-run) on a machine without a GPU"
        )
        if args.step in CSV_FILES:
            open_table(args.step, args.out, STEP_COLUMNS[args.step], environment(sizes)).add("failed", message)
        else:
            (args.out / PROFILE_FILE).write_text(f"step {args.step} failed: {message}\n")
        print(message, flush=True)
        return 0
    info = environment(sizes)
    budget = Budget(args.budget)
    print(
        f"step {args.step} ({sizes.name}, budget {args.budget:.0f} s, {budget.left():.0f} s left after imports); "
        f"{info['gpu']}, torch {info['torch']}, cuda {info['cuda']}, commit {info['commit']}",
        flush=True,
    )
    try:
        STEP_FUNCTIONS[args.step](sizes, args.out, args.work, budget, info)
    except Exception as e:  # noqa: BLE001 - the step's failure is a row, and run.sh goes on
        traceback.print_exc()
        if args.step in CSV_FILES:
            table = open_table(args.step, args.out, STEP_COLUMNS[args.step], info)
            path = args.out / CSV_FILES[args.step]
            if path.exists() and path.stat().st_size:
                table.rows = pd.read_csv(path)[["step", "status", "error", *table.columns]].to_dict("records")
            table.add("failed", error_text(e))
        else:
            with open(args.out / PROFILE_FILE, "a") as f:
                f.write(f"\nstep failed: {error_text(e)}\n")
    print(f"step {args.step} done in {time.monotonic() - START:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
