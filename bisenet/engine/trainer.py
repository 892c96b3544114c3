"""The training loop: iteration-based SGD with warm-up + poly, the booster's loss, mixed
precision, gradient accumulation, DistributedDataParallel through torchrun, periodic validation,
atomic checkpoints and exact resumption.

Reproducibility by construction: micro-batch ``m`` of iteration ``i`` always holds the same
samples with the same augmentation (``IterationSampler`` and the dataset's per-sample generator),
and the random state for its forward pass (dropout) is seeded from (seed, i, m). So a run gives
the same result whether it is interrupted and resumed or not, and (up to the order of floating
point sums) whatever the number of processes: ``gpus x batch_per_gpu`` is the global batch, and a
smaller number of processes accumulates gradients over ``batch_per_gpu``-image micro-batches.

Launch on several GPUs or nodes with ``torchrun --nproc_per_node=N -m bisenet train ...``; the
same command without torchrun runs on one GPU or the CPU.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from bisenet.analysis.provenance import provenance
from bisenet.checkpoint import CheckpointError
from bisenet.data import build_dataset, eval_pipeline, train_pipeline
from bisenet.engine.checkpoints import latest_valid, prune, save_atomic
from bisenet.engine.evaluator import evaluate
from bisenet.engine.optim import WarmupPoly, build_optimizer, set_lr
from bisenet.losses import SegmentationLoss
from bisenet.models import build_model
from bisenet.recipes import Recipe, get_recipe


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the message names the iteration, the terms and the last
    good checkpoint."""


class IterationSampler(Sampler):
    """Micro-batches for iterations ``start .. total - 1`` of one process.

    The data are an endless stream: position p is sample ``perm_e[p % n]`` of epoch
    ``e = p // n``, with ``perm_e`` a permutation seeded by (seed, e). Iteration i consumes the
    positions [i * B, (i + 1) * B) of the global batch B, cut into micro-batches of ``b``; this
    process takes micro-batches ``rank * accum .. rank * accum + accum - 1``. Yields lists of
    (epoch, index) keys, which the dataset turns into (sample, augmentation seed).
    """

    def __init__(self, n: int, micro_batch: int, accum: int, rank: int, world: int, seed: int, start: int, total: int) -> None:
        self.n, self.b, self.accum = n, micro_batch, accum
        self.rank, self.world, self.seed = rank, world, seed
        self.start, self.total = start, total
        self._perms: dict[int, list[int]] = {}

    def _perm(self, epoch: int) -> list[int]:
        if epoch not in self._perms:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perms = {epoch: torch.randperm(self.n, generator=g).tolist()}
        return self._perms[epoch]

    def __len__(self) -> int:
        return (self.total - self.start) * self.accum

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        global_batch = self.b * self.accum * self.world
        for i in range(self.start, self.total):
            for a in range(self.accum):
                first = i * global_batch + (self.rank * self.accum + a) * self.b
                keys = []
                for p in range(first, first + self.b):
                    epoch = p // self.n
                    keys.append((epoch, self._perm(epoch)[p % self.n]))
                yield keys


@dataclass
class TrainResult:
    work_dir: Path
    iteration: int
    best_miou: float | None
    last_checkpoint: Path | None
    log: Path


def _distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank), initialising the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, 0
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0"))


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state["numpy"] = (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss)
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def read_log(path: str | Path) -> pd.DataFrame:
    """The JSON-lines log of a run as a DataFrame, one row per record (``kind`` is "train" or
    "val"); for the book's loss and mIoU curves."""
    records = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return pd.DataFrame.from_records(records)


def _write_log(path: Path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def _truncate_log(path: Path, iteration: int) -> None:
    """After resuming at ``iteration``, forget what the interrupted run logged past it."""
    if path.exists():
        kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line).get("iter", 0) <= iteration]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        os.replace(tmp, path)  # atomic: a crash here leaves the old log, never half of it


def train(
    recipe: Recipe | str,
    data_root: str | Path | None = None,
    work_dir: str | Path | None = None,
    iters: int | None = None,
    amp: str | None = None,
    resume: bool = False,
    device: str | None = None,
    pretrained: str | Path | None = None,
    channels_last: bool = False,
    compile: bool = False,
    sync_bn: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
    tensorboard: bool = False,
    **overrides,
) -> TrainResult:
    """Train a recipe (a :class:`~bisenet.recipes.Recipe` or its name).

    ``iters``/``amp``/``overrides`` change recipe fields; ``pretrained``: the local ImageNet
    checkpoint a V1 recipe with ``pretrained_backbone`` needs; ``resume``: continue from the
    newest valid checkpoint in ``work_dir``; ``stop_after``: stop after that iteration (with a
    checkpoint), as an interruption would, to continue later with ``resume``.
    """
    recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
    changes = {k: v for k, v in dict(iters=iters, amp=amp, **overrides).items() if v is not None}
    recipe = recipe.with_(**changes)
    if recipe.amp not in (None, "fp16", "bf16"):
        raise ValueError(f"amp must be fp16, bf16 or None, got {recipe.amp!r}")
    rank, world, local_rank = _distributed()
    if device is None:
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if recipe.amp == "fp16" and device.type != "cuda":
        raise ValueError("amp fp16 needs a CUDA device; on the CPU use --amp bf16")
    if recipe.batch_per_gpu < 2:
        raise ValueError(
            f"batch_per_gpu must be at least 2, got {recipe.batch_per_gpu}: the BatchNorm layers after global "
            "pooling (V2's context embedding, V1's ARM and FFM) need more than one value per channel in training"
        )
    if recipe.global_batch % (world * recipe.batch_per_gpu):
        raise ValueError(
            f"the recipe's global batch {recipe.gpus}x{recipe.batch_per_gpu} = {recipe.global_batch} is not "
            f"a multiple of {world} processes x {recipe.batch_per_gpu} images"
        )
    accum = recipe.global_batch // (world * recipe.batch_per_gpu)
    work_dir = Path(work_dir or f"work_dirs/{recipe.name}")
    log_path = work_dir / "log.jsonl"

    # --- data ----------------------------------------------------------------------------
    train_set = build_dataset(
        recipe.dataset, data_root, "train",
        train_pipeline(recipe.crop_size, recipe.scale, recipe.ratio_range, recipe.cat_max_ratio), seed=recipe.seed,
    )
    val_set = build_dataset(recipe.dataset, data_root, "val", eval_pipeline(recipe.eval_scale))
    if len(train_set.classes) != recipe.num_classes:
        raise ValueError(f"recipe {recipe.name} has {recipe.num_classes} classes, {train_set.name} {len(train_set.classes)}")

    # --- model, optimiser ----------------------------------------------------------------
    if recipe.pretrained_backbone and pretrained is None and not resume:
        raise ValueError(
            f"recipe {recipe.name} starts from an ImageNet-pretrained trunk: pass the local path of a "
            "torchvision-format checkpoint (--pretrained resnet18.pth), or use the recipe without 'in1k-pre'"
        )
    torch.manual_seed(recipe.seed)
    options = dict(recipe.model_options)
    if recipe.pretrained_backbone and pretrained is not None:
        options["pretrained_backbone"] = pretrained
    # no auxiliary weights = no booster heads (the booster-off rows of the ablations)
    model = build_model(recipe.model, recipe.num_classes, aux_heads=bool(recipe.aux_weights), **options).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if sync_bn and world > 1:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    optimizer = build_optimizer(model, recipe.lr, recipe.momentum, recipe.weight_decay, recipe.optimizer)
    schedule = WarmupPoly(recipe.lr, recipe.iters, recipe.warmup_iters, recipe.warmup_ratio, recipe.poly_power, recipe.eta_min)
    scaler = torch.amp.GradScaler("cuda", init_scale=recipe.loss_scale, enabled=recipe.amp == "fp16")
    autocast_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(recipe.amp)
    criterion = SegmentationLoss(
        recipe.loss, recipe.aux_weights, ohem_thresh=recipe.ohem_thresh, ohem_min_kept=recipe.ohem_min_kept
    )

    start, best, last_ckpt = 0, None, None
    if resume:
        found = latest_valid(work_dir)
        if found is None:
            raise CheckpointError(f"--resume: no valid checkpoint in {work_dir}")
        last_ckpt, state = found
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        start, best = state["iteration"], state.get("best_miou")
        _set_rng_state(state["rng"])
        if rank == 0:
            _truncate_log(log_path, start)
    elif rank == 0 and log_path.exists():
        raise FileExistsError(f"{work_dir} already holds a run (log.jsonl): pass --resume, or another --work-dir")
    if start >= recipe.iters:
        return TrainResult(work_dir, start, best, last_ckpt, log_path)

    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if compile:
        net = torch.compile(net)

    sampler = IterationSampler(len(train_set), recipe.batch_per_gpu, accum, rank, world, recipe.seed, start, recipe.iters)
    loader = DataLoader(train_set, batch_sampler=sampler, num_workers=recipe.workers, pin_memory=device.type == "cuda")
    batches = iter(loader)
    writer = None
    if tensorboard and rank == 0:
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(work_dir / "tensorboard"))
        except ImportError:
            print("tensorboard is not installed; logging to log.jsonl only")
    if rank == 0:
        work_dir.mkdir(parents=True, exist_ok=True)
        (work_dir / "run.json").write_text(json.dumps({"recipe": recipe.to_dict(), "world_size": world, "accumulation": accum, **provenance(str(device))}, indent=2))

    stop = min(recipe.iters, stop_after if stop_after is not None else recipe.iters)
    bar = tqdm(total=stop - start, desc=recipe.name, disable=not progress or rank != 0)
    net.train()
    for i in range(start, stop):
        t0 = time.perf_counter()
        lr = schedule(i)
        set_lr(optimizer, lr)
        sums: dict[str, float] = {}
        data_time = 0.0
        for a in range(accum):
            td = time.perf_counter()
            images, labels = next(batches)
            data_time += time.perf_counter() - td
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            torch.manual_seed(recipe.seed * 1_000_003 + i * 1009 + rank * accum + a)  # dropout
            sync_now = world == 1 or a == accum - 1
            with net.no_sync() if not sync_now else contextlib.nullcontext():
                try:
                    with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                        logits, aux = net(images)
                        terms = criterion(logits, aux, labels)
                    scaler.scale(terms["loss"] / accum).backward()
                except torch.OutOfMemoryError as e:
                    raise RuntimeError(
                        f"out of memory at iteration {i} with {recipe.batch_per_gpu} images of "
                        f"{recipe.crop_size[0]}x{recipe.crop_size[1]} per micro-batch: lower --batch-per-gpu "
                        "(the global batch is kept by gradient accumulation), the crop size, or use --amp fp16"
                    ) from e
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v.item() / accum
        if not all(math.isfinite(v) for v in sums.values()):
            raise NonFiniteLossError(
                f"non-finite loss at iteration {i}: " + ", ".join(f"{k}={v:.4g}" for k, v in sums.items())
                + f". Last good checkpoint: {last_ckpt or 'none yet'}. Lower the learning rate "
                "(--lr), check the labels (values outside 0..C-1 and 255), or try --amp bf16 instead of fp16."
            )
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        done = i + 1
        bar.update(1)

        if rank == 0 and (done % recipe.log_interval == 0 or done == stop):
            record = {"kind": "train", "iter": done, "lr": lr, **sums, "time": time.perf_counter() - t0,
                      "data_time": data_time, "memory_mb": _peak_memory_mb(device)}
            _write_log(log_path, record)
            bar.set_postfix(loss=f"{sums['loss']:.3f}", lr=f"{lr:.2e}")
            if writer:
                for k, v in record.items():
                    if k not in ("kind", "iter"):
                        writer.add_scalar(f"train/{k}", v, done)
        if done % recipe.val_interval == 0 or done == recipe.iters:
            if rank == 0:
                metrics = evaluate(model, val_set, device=device, progress=False)
                _write_log(log_path, {"kind": "val", "iter": done, "mIoU": metrics.mIoU, "mAcc": metrics.mAcc, "aAcc": metrics.aAcc})
                if writer and metrics.mIoU is not None:
                    writer.add_scalar("val/mIoU", metrics.mIoU, done)
                if metrics.mIoU is not None and (best is None or metrics.mIoU > best):
                    best = metrics.mIoU
                    save_atomic({"model": model.state_dict(), "iteration": done, "mIoU": best, "recipe": recipe.to_dict()}, work_dir / "best.pth")
            if world > 1:
                dist.barrier()
        if done % recipe.checkpoint_interval == 0 or done == stop:
            if rank == 0:
                last_ckpt = work_dir / f"iter_{done}.pth"
                save_atomic(
                    {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                     "iteration": done, "best_miou": best, "rng": _rng_state(), "recipe": recipe.to_dict(),
                     "meta": provenance(str(device))},
                    last_ckpt,
                )
                prune(work_dir, recipe.keep_checkpoints)
            if world > 1:
                dist.barrier()
    bar.close()
    if writer:
        writer.close()
    return TrainResult(work_dir, stop, best, last_ckpt, log_path)
