"""Step 1, correctness: forward and backward on the GPU against the CPU in each precision and
mode, short trainings whose losses fall, evaluation equal to the CPU's, divergence detected.
"""

from __future__ import annotations

import copy
import math
import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch._dynamo
from check_setup import (
    AUX_WEIGHTS,
    Budget,
    Sizes,
    Table,
    default_tf32,
    guarded,
    minicity,
    open_table,
    rel_err,
    set_tf32,
    synthetic_labels,
)
from torch import nn

from bisenet.analysis.speed import DTYPES
from bisenet.checkpoint import model_from_checkpoint
from bisenet.data import build_dataset, eval_pipeline
from bisenet.deploy import randomize_bn_statistics
from bisenet.engine.evaluator import evaluate
from bisenet.engine.run_log import read_log
from bisenet.engine.trainer import train, weights_diverged
from bisenet.losses import SegmentationLoss
from bisenet.models import build_model
from bisenet.recipes import get_recipe

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
