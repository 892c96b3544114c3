"""Step 4, data loading: how many Cityscapes-size images a second the training pipeline
delivers with each number of workers, and whether the GPU would wait for them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch._dynamo
from check_setup import CSV_FILES, ZOO, Budget, Sizes, guarded, minicity, open_table

from bisenet.data import build_dataset, eval_pipeline
from bisenet.engine.sampler import IterationSampler
from bisenet.engine.trainer import build_datasets
from bisenet.recipes import get_recipe

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
