"""Step 3, the training step: a micro-step and a whole accumulated iteration of each
configuration, with its peak memory beside the model zoo's.
"""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path

import torch
import torch._dynamo
from check_setup import (
    ZOO,
    Budget,
    Sizes,
    Table,
    guarded,
    open_table,
    summary,
    sync,
    synthetic_labels,
    tf32_state,
    timed,
)
from torch import nn

from bisenet.engine.trainer import build_run, peak_memory_mb, train_step, weights_diverged
from bisenet.recipes import get_recipe

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
