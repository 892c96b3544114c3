"""The training loop: iteration-based SGD with warm-up + poly, the booster's loss, mixed
precision, gradient accumulation, DistributedDataParallel through torchrun, periodic validation,
atomic checkpoints and exact resumption.

Reproducibility by construction: micro-batch ``m`` of iteration ``i`` always holds the same
samples with the same augmentation (:class:`~bisenet.engine.sampler.IterationSampler` and the
dataset's per-sample generator), and the random state for its forward pass (dropout) is seeded
from (seed, i, m). So a run gives the same result whether it is interrupted and resumed or not,
and (up to the order of floating point sums) whatever the number of processes:
``gpus x batch_per_gpu`` is the global batch, and a smaller number of processes accumulates
gradients over ``batch_per_gpu``-image micro-batches.

:func:`train` reads as the steps it takes: check the recipe, build the run (data, model,
optimiser, loss), resume it or start it, then per iteration a training step, a log record, and
when due a validation and a checkpoint. Launch on several GPUs or nodes with
``torchrun --nproc_per_node=N -m bisenet train ...``; the same command without torchrun runs on
one GPU or the CPU.
"""

from __future__ import annotations

import contextlib
import math
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from bisenet.analysis.provenance import provenance
from bisenet.atomic import owned_folder
from bisenet.checkpoint import Checkpoint, CheckpointError, latest_valid, non_finite, prune, save_checkpoint
from bisenet.data import FolderOptions, build_dataset, eval_pipeline, train_pipeline
from bisenet.data.base import SegmentationDataset
from bisenet.devices import is_out_of_memory, resolve_device
from bisenet.engine.batchnorm import convert_sync_bn, per_iteration_bn_momentum
from bisenet.engine.distributed import barrier, init_distributed
from bisenet.engine.evaluator import evaluate
from bisenet.engine.optim import WarmupPoly, build_optimizer, set_lr
from bisenet.engine.own_data import OWN_DATA_KINDS, check_data, refuse_bad_data
from bisenet.engine.rng import rng_state, set_rng_state
from bisenet.engine.run_log import LOG_FILE, RUN_FILE, read_run_info, truncate_log, write_record, write_run_info
from bisenet.engine.sampler import IterationSampler
from bisenet.errors import BiSeNetError, OutputError, RunExistsError, TrainingError, UsageError, unwrap_worker_error
from bisenet.interop import init_from
from bisenet.losses import SegmentationLoss
from bisenet.metrics import Metrics
from bisenet.models import build_model
from bisenet.recipes import Recipe

AMP_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
# a weight this large in magnitude means the run diverged (trained BiSeNet weights stay below ~10)
DIVERGED_WEIGHT = 1e6
# recipe fields that only say how often to log, validate or save, how many workers load the data,
# and which modules --sync-bn would synchronise (whether it did is the run's own record, run.json):
# a resumed run may change them; any other change would make it another run
OPERATIONAL_FIELDS = (
    "workers",
    "log_interval",
    "val_interval",
    "checkpoint_interval",
    "checkpoint_minutes",
    "keep_checkpoints",
    "name",
    "notes",
    "mmseg_config",
    "ssseg_config",
    "sync_bn_modules",
)


class NonFiniteLossError(TrainingError):
    """The loss or the weights became NaN or infinite; the message names the iteration, the terms
    and the last good checkpoint (no checkpoint is ever written from such weights)."""


@dataclass
class TrainResult:
    work_dir: Path
    iteration: int
    best_miou: float | None
    last_checkpoint: Path | None
    log: Path


@dataclass
class Run:
    """What one process trains with; built by :func:`build_run`."""

    recipe: Recipe
    device: torch.device
    rank: int
    world: int
    accum: int  # micro-batches per iteration in this process
    model: nn.Module
    optimizer: torch.optim.SGD
    schedule: WarmupPoly
    scaler: torch.amp.GradScaler
    criterion: SegmentationLoss
    channels_last: bool
    classes: tuple[str, ...] = ()  # the dataset's class names and colours, saved in each checkpoint
    palette: tuple[tuple[int, int, int], ...] = ()


# --- the steps ---------------------------------------------------------------------------------------


def check_recipe(recipe: Recipe, device: torch.device, world: int, pretrained: str | Path | None, resume: bool) -> int:
    """Refuse settings that cannot train (the recipe's own values: :meth:`Recipe.check`; then what
    this run adds: the ImageNet trunk, the fine-tuning start, the processes); return the
    accumulation steps of this process."""
    recipe.check()
    if pretrained is not None and not recipe.pretrained_backbone:
        raise UsageError(
            f"--pretrained {pretrained}: recipe {recipe.name} trains its network from scratch and would ignore it; "
            "the recipes that start from an ImageNet trunk have 'in1k-pre' in their names"
        )
    if pretrained is not None and not Path(pretrained).is_file():
        raise UsageError(f"--pretrained {pretrained} does not exist (a torchvision ResNet checkpoint, .pth)")
    if recipe.init and not Path(recipe.init).is_file():
        raise UsageError(f"--init {recipe.init} does not exist (a checkpoint to fine-tune from)")
    if recipe.global_batch % (world * recipe.batch_per_gpu):
        raise UsageError(
            f"the recipe's global batch {recipe.gpus}x{recipe.batch_per_gpu} = {recipe.global_batch} is not "
            f"a multiple of {world} processes x {recipe.batch_per_gpu} images"
        )
    if recipe.pretrained_backbone and pretrained is None and not resume:
        kind = (
            "v1c (deep-stem) checkpoint (--pretrained resnet18_v1c.pth, as mmcv's open-mmlab://resnet18_v1c)"
            if recipe.model_options.get("deep_stem")
            else "torchvision-format checkpoint (--pretrained resnet18.pth)"
        )
        raise UsageError(
            f"recipe {recipe.name} starts from an ImageNet-pretrained trunk: pass the local path of a {kind}, "
            "or use a recipe that trains from scratch (without 'in1k-pre')"
        )
    return recipe.global_batch // (world * recipe.batch_per_gpu)


def build_datasets(recipe: Recipe, data_root: str | Path | None) -> tuple[SegmentationDataset, SegmentationDataset]:
    """The training set (mmseg's augmentation) and the validation set of the recipe's dataset; a
    folder or CamVid dataset is first read by the data checker and refused with its errors."""
    options = FolderOptions(**recipe.data_options) if recipe.dataset == "folder" else None
    if recipe.dataset in OWN_DATA_KINDS:
        refuse_bad_data(check_data(data_root, recipe.dataset, options or FolderOptions(), progress=False))
    train_set = build_dataset(
        recipe.dataset,
        data_root,
        "train",
        train_pipeline(recipe.crop_size, recipe.scale, recipe.ratio_range, recipe.cat_max_ratio),
        seed=recipe.seed,
        options=options,
    )
    val_set = build_dataset(recipe.dataset, data_root, "val", eval_pipeline(recipe.eval_scale), options=options)
    if len(train_set.classes) != recipe.num_classes:
        raise UsageError(
            f"recipe {recipe.name} has {recipe.num_classes} classes, {train_set.name} {len(train_set.classes)}"
        )
    return train_set, val_set


def build_run(
    recipe: Recipe,
    device: torch.device,
    rank: int,
    world: int,
    accum: int,
    pretrained: str | Path | None,
    channels_last: bool,
    sync_bn: bool,
) -> Run:
    """The model (seeded by the recipe), its optimiser, schedule, gradient scaler and loss."""
    torch.manual_seed(recipe.seed)
    options = dict(recipe.model_options)
    if recipe.pretrained_backbone and pretrained is not None:
        options["pretrained_backbone"] = pretrained
    # no auxiliary weights = no booster heads (the booster-off rows of the ablations)
    model = build_model(recipe.model, recipe.num_classes, aux_heads=bool(recipe.aux_weights), **options).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if sync_bn and world > 1:
        model = convert_sync_bn(model, recipe.sync_bn_modules)
    if recipe.bn_momentum_per_iteration:
        per_iteration_bn_momentum(model, accum)
    return Run(
        recipe=recipe,
        device=device,
        rank=rank,
        world=world,
        accum=accum,
        model=model,
        optimizer=build_optimizer(model, recipe.lr, recipe.momentum, recipe.weight_decay, recipe.optimizer),
        schedule=WarmupPoly(
            recipe.lr, recipe.iters, recipe.warmup_iters, recipe.warmup_ratio, recipe.poly_power, recipe.eta_min
        ),
        # fp16 runs on the CPU too (autocast and the scaler, slowly): what gpu-dryrun rehearses
        scaler=torch.amp.GradScaler(device.type, init_scale=recipe.loss_scale, enabled=recipe.amp == "fp16"),
        criterion=build_criterion(recipe),
        channels_last=channels_last,
    )


def build_criterion(recipe: Recipe) -> SegmentationLoss:
    """The recipe's loss: its kind on the main head, the auxiliary heads weighted by
    ``aux_weights``, OHEM's threshold and minimum on every head that gets OHEM (the main one, and
    the auxiliary ones when ``ohem_on_aux``), its class weights."""
    return SegmentationLoss(
        recipe.loss,
        recipe.aux_weights,
        ohem_thresh=recipe.ohem_thresh,
        ohem_min_kept=recipe.ohem_min_kept,
        ohem_on_aux=recipe.ohem_on_aux,
        class_weights=recipe.class_weights,
    )


def recipe_changes(saved: dict, recipe: Recipe) -> list[str]:
    """The fields (other than :data:`OPERATIONAL_FIELDS`) in which ``recipe`` differs from the
    recipe a checkpoint was trained with, as "field saved -> new" strings."""
    new = recipe.to_dict()
    default = Recipe("", "", "").to_dict()  # a field an older checkpoint does not have: its default

    def plain(value):
        return list(map(plain, value)) if isinstance(value, (list, tuple)) else value

    return [
        f"{k} {plain(saved.get(k, default[k]))!r} -> {plain(v)!r}"
        for k, v in new.items()
        if k not in OPERATIONAL_FIELDS and plain(saved.get(k, default[k])) != plain(v)
    ]


def default_work_dir(recipe: Recipe) -> Path:
    """Where :func:`train` keeps a run without ``work_dir``: ``work_dirs/<recipe name>``."""
    return Path("work_dirs") / recipe.name


def recipe_of_run(work_dir: str | Path) -> Recipe | None:
    """The recipe the run in ``work_dir`` was trained with (its newest checkpoint's, else its
    ``run.json``'s), or None when the folder holds no run: what ``bisenet train --resume``
    continues with."""
    found = latest_valid(work_dir)
    saved = found[1].recipe if found else (read_run_info(Path(work_dir)) or {}).get("recipe")
    return Recipe.from_dict(saved) if saved else None


def resume_run(run: Run, work_dir: Path) -> tuple[int, float | None, Path | None]:
    """Continue the run in ``work_dir``: load its newest valid checkpoint (weights, optimiser,
    scaler, random state) and return (iteration, best mIoU, checkpoint path); the log forgets
    what was logged after it. A run stopped before its first checkpoint starts again at 0 (its
    log is emptied). A recipe that differs from the checkpoint's in anything but how often it
    logs, validates or saves is refused: it would be another run."""
    log_path = work_dir / LOG_FILE
    found = latest_valid(work_dir)
    if found is None:
        if not log_path.exists() and not (work_dir / RUN_FILE).exists():
            raise TrainingError(
                f"--resume: {work_dir} holds no run to resume (no {LOG_FILE}): drop --resume to start one"
            )
        if run.rank == 0:
            print(
                f"--resume: {work_dir} holds no checkpoint yet (the run stopped before its first one): "
                "starting it again from iteration 0",
                flush=True,
            )
            truncate_log(log_path, 0)
        return 0, None, None
    path, checkpoint = found
    changes = recipe_changes(checkpoint.recipe or {}, run.recipe)
    if changes:
        raise UsageError(
            f"cannot resume {work_dir} ({path.name}) with another recipe: {'; '.join(changes)}. Resume it with its "
            "own settings (leave out the options that change them), or start a new run in another --work-dir"
        )
    try:
        run.model.load_state_dict(checkpoint.state_dict)
        run.optimizer.load_state_dict(checkpoint.optimizer)
        run.scaler.load_state_dict(checkpoint.scaler or {})
        set_rng_state(checkpoint.rng)
    except (ValueError, KeyError, TypeError, IndexError, RuntimeError) as e:  # fields of the right kind, wrong content
        raise CheckpointError(
            f"cannot resume from {path}: its training state does not fit this run ({str(e).splitlines()[0][:160]}); "
            "the file is damaged: move it aside to resume from the one before"
        ) from e
    if run.rank == 0:
        truncate_log(log_path, checkpoint.iteration)
    return checkpoint.iteration, checkpoint.best_miou, path


def training_batches(run: Run, train_set: SegmentationDataset, start: int) -> Iterator:
    """The (images, labels) micro-batches of iterations ``start ..`` for this process."""
    r = run.recipe
    sampler = IterationSampler(len(train_set), r.batch_per_gpu, run.accum, run.rank, run.world, r.seed, start, r.iters)
    loader = DataLoader(train_set, batch_sampler=sampler, num_workers=r.workers, pin_memory=run.device.type == "cuda")
    return iter(loader)


def train_step(
    run: Run, net: nn.Module, batches: Iterator, i: int, last_checkpoint: Path | None
) -> tuple[float, dict[str, float], float]:
    """One iteration: ``accum`` micro-batches forward and backward, then one optimiser step.
    Returns (learning rate, loss terms averaged over the micro-batches, data-loading seconds)."""
    r = run.recipe
    lr = run.schedule(i)
    set_lr(run.optimizer, lr)
    autocast_dtype = AMP_DTYPES.get(r.amp)
    sums: dict[str, float] = {}
    data_time = 0.0
    for a in range(run.accum):
        td = time.perf_counter()
        try:
            images, labels = next(batches)
        except BiSeNetError as e:  # a bad file, reported by a DataLoader worker: its own message
            raise unwrap_worker_error(e) from None
        data_time += time.perf_counter() - td
        images, labels = images.to(run.device, non_blocking=True), labels.to(run.device, non_blocking=True)
        if run.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        torch.manual_seed(r.seed * 1_000_003 + i * 1009 + run.rank * run.accum + a)  # dropout
        sync_now = run.world == 1 or a == run.accum - 1
        with net.no_sync() if not sync_now else contextlib.nullcontext():
            try:
                with torch.autocast(run.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
                    logits, aux = net(images)
                    terms = run.criterion(logits, aux, labels)
                run.scaler.scale(terms["loss"] / run.accum).backward()
            except (torch.OutOfMemoryError, MemoryError, RuntimeError) as e:
                if not is_out_of_memory(e):
                    raise
                raise TrainingError(
                    f"out of memory at iteration {i} with {r.batch_per_gpu} images of "
                    f"{r.crop_size[0]}x{r.crop_size[1]} per micro-batch: lower --batch-per-gpu "
                    "(the global batch is kept by gradient accumulation), the crop size, or use --amp fp16"
                ) from e
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v.item() / run.accum
    if not all(math.isfinite(v) for v in sums.values()):
        raise NonFiniteLossError(
            f"non-finite loss at iteration {i}: "
            + ", ".join(f"{k}={v:.4g}" for k, v in sums.items())
            + f". Last good checkpoint: {last_checkpoint or 'none yet'}. Lower the learning rate "
            "(--lr), check the labels (values outside 0..C-1 and 255), or try --amp bf16 instead of fp16."
        )
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.optimizer.zero_grad(set_to_none=True)
    diverged = weights_diverged(run.model)
    if diverged:  # a step made the weights NaN, infinite or absurdly large (a learning rate far too high)
        raise NonFiniteLossError(
            f"the weights diverged at iteration {i}: NaN, infinite or above {DIVERGED_WEIGHT:g} in magnitude "
            f"(e.g. {diverged[:2]}; the loss was "
            + ", ".join(f"{k}={v:.4g}" for k, v in sums.items())
            + f"). Last good checkpoint: {last_checkpoint or 'none yet'} (no checkpoint is written from such "
            "weights). Lower the learning rate (--lr), or try --amp bf16 instead of fp16."
        )
    return lr, sums, data_time


def weights_diverged(model: nn.Module) -> list[str]:
    """The names of the weights that are NaN, infinite or above :data:`DIVERGED_WEIGHT` in
    magnitude, and of the buffers that are not finite; [] for a healthy model. Checked after every
    step, so the common case is one fused reduction per group (``torch._foreach_norm`` with the
    infinity norm: the largest magnitude, NaN if any is NaN) and one host synchronisation; the
    names are looked for only when something is wrong."""
    params = [p.detach() for p in model.parameters()]
    buffers = [b for b in model.buffers() if b.is_floating_point()]
    largest = torch.stack(torch._foreach_norm(params, math.inf)).max()
    ok = largest <= DIVERGED_WEIGHT  # False for NaN too
    if buffers:
        ok &= torch.isfinite(torch.stack(torch._foreach_norm(buffers, math.inf)).max())
    if bool(ok):
        return []
    return non_finite(model.state_dict()) or [
        name for name, p in model.named_parameters() if p.detach().abs().max() > DIVERGED_WEIGHT
    ]


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory so far: CUDA's allocator on a GPU, the process's peak RSS on the CPU (Linux)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def validate(
    run: Run, val_set: SegmentationDataset, done: int, work_dir: Path, best: float | None
) -> tuple[Metrics, float | None]:
    """Evaluate on the validation set, log it, and keep ``best.pth`` (the best val mIoU so far);
    returns (metrics, best mIoU)."""
    metrics = evaluate(run.model, val_set, device=run.device, progress=False)
    write_record(
        work_dir / LOG_FILE,
        {"kind": "val", "iter": done, "mIoU": metrics.mIoU, "mAcc": metrics.mAcc, "aAcc": metrics.aAcc},
    )
    if metrics.mIoU is not None and (best is None or metrics.mIoU > best):
        best = metrics.mIoU
        save_checkpoint(
            model_checkpoint(run, done, {"mIoU": metrics.mIoU, "mAcc": metrics.mAcc, "aAcc": metrics.aAcc}),
            work_dir / "best.pth",
        )
    return metrics, best


def model_checkpoint(run: Run, iteration: int, metrics: dict | None = None) -> Checkpoint:
    """The run's model at ``iteration``, in the package's checkpoint schema."""
    r = run.recipe
    return Checkpoint(
        run.model.state_dict(),
        model_name=r.model,
        model_options=dict(r.model_options),
        recipe=r.to_dict(),
        iteration=iteration,
        metrics=metrics or {},
        provenance=provenance(str(run.device)),
        classes=list(run.classes) or None,
        palette=[list(c) for c in run.palette] or None,
    )


def save_training_checkpoint(run: Run, done: int, best: float | None, work_dir: Path) -> Path:
    """``iter_<done>.pth`` with everything a run resumes from; older ones pruned to the recipe's
    ``keep_checkpoints``."""
    checkpoint = model_checkpoint(run, done)
    checkpoint.optimizer = run.optimizer.state_dict()
    checkpoint.scaler = run.scaler.state_dict()
    checkpoint.rng = rng_state()
    checkpoint.best_miou = best
    path = save_checkpoint(checkpoint, work_dir / f"iter_{done}.pth")
    prune(work_dir, run.recipe.keep_checkpoints)
    return path


def record_segment(work_dir: Path, start: int, info: dict) -> None:
    """``run.json``: the recipe, the process layout and the provenance of the run; a run resumed
    at ``start`` > 0 keeps that record and appends its own under ``"resumed"`` (every part of a
    run is on record)."""
    run = read_run_info(work_dir) if start > 0 else None
    if run is None:
        write_run_info(work_dir, info)
        return
    run.setdefault("resumed", []).append({"start_iteration": start, **info})
    write_run_info(work_dir, run)


def open_tensorboard(work_dir: Path):
    """A TensorBoard writer in ``work_dir/tensorboard``, or None when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        print("tensorboard is not installed; logging to log.jsonl only")
        return None
    return SummaryWriter(str(work_dir / "tensorboard"))


# --- the loop ----------------------------------------------------------------------------------------


def train(
    recipe: Recipe,
    *,
    data_root: str | Path | None = None,
    work_dir: str | Path | None = None,
    resume: bool = False,
    device: str | torch.device | None = None,
    pretrained: str | Path | None = None,
    channels_last: bool | None = None,
    compile: bool = False,
    sync_bn: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
    tensorboard: bool = False,
) -> TrainResult:
    """Train ``recipe`` (change its fields first with ``recipe.with_(iters=..., lr=...)``).

    Args:
        recipe: what to train (``bisenet.recipes.get_recipe(name)``).
        data_root: the dataset's root (Cityscapes: default ``CITYSCAPES_DATASET``).
        work_dir: checkpoints and logs. Default ``work_dirs/<recipe name>``.
        resume: continue from the newest valid checkpoint in ``work_dir``. Default False.
        device: where to train (:func:`bisenet.devices.resolve_device`). Default: this process's GPU, else the CPU.
        pretrained: the local ImageNet checkpoint a V1 recipe with ``pretrained_backbone`` needs.
        channels_last: train in channels_last memory format. Default None: the recipe's
            ``channels_last`` (True in the cpu profile, where bf16 convolutions are fastest so).
        compile: ``torch.compile`` the model. Default False.
        sync_bn: SyncBatchNorm across processes (under torchrun) in the modules the recipe's
            config synchronises (``recipe.sync_bn_modules``; every BatchNorm when it names none).
            Default False.
        stop_after: stop after that iteration (with a checkpoint), as an interruption would, to
            continue later with ``resume``. Default None (train to ``recipe.iters``).
        progress: show a progress bar. Default True.
        tensorboard: also log to TensorBoard, if installed. Default False.
    """
    if not isinstance(recipe, Recipe):
        raise UsageError(f"train() takes a Recipe, got {recipe!r}: use bisenet.recipes.get_recipe(name)")
    rank, world = init_distributed()
    device = resolve_device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    accum = check_recipe(recipe, device, world, pretrained, resume)
    if stop_after is not None and stop_after < 1:
        raise UsageError(f"stop_after must be a positive iteration, got {stop_after!r}")
    work_dir = Path(work_dir) if work_dir else default_work_dir(recipe)
    log_path = work_dir / LOG_FILE
    if stop_after is not None and stop_after > recipe.iters:
        raise UsageError(f"stop_after {stop_after} is past the end of the run ({recipe.iters} iterations)")

    # the folder is this run's alone: a second run on it is refused, naming this process (rank 0
    # holds it; the other processes of a torchrun job share it)
    with owned_folder(work_dir, "training run") if rank == 0 else contextlib.nullcontext():
        train_set, val_set = build_datasets(recipe, data_root)
        channels_last = recipe.channels_last if channels_last is None else channels_last
        run = build_run(recipe, device, rank, world, accum, pretrained, channels_last, sync_bn)
        run.classes, run.palette = tuple(train_set.classes), tuple(tuple(c) for c in train_set.palette)
        start, best, last_checkpoint = 0, None, None
        if resume:
            start, best, last_checkpoint = resume_run(run, work_dir)
        elif rank == 0 and log_path.exists():
            found = latest_valid(work_dir)
            where = f"checkpoints up to {found[0].name}" if found else "no checkpoint yet"
            raise RunExistsError(
                f"{work_dir} already holds a run ({LOG_FILE}, {where}): pass --resume to continue it"
                f"{'' if found else ' (it starts again from iteration 0)'}, or use another --work-dir"
            )
        if recipe.init and start == 0:  # fine-tuning: the checkpoint's weights wherever they fit
            report = init_from(run.model, recipe.init)
            if rank == 0:
                print(report.summary(), flush=True)
        if start >= recipe.iters:  # nothing left to train
            return TrainResult(work_dir, start, best, last_checkpoint, log_path)
        if stop_after is not None and stop_after <= start:
            raise UsageError(f"stop_after {stop_after}: the run in {work_dir} is already at iteration {start}")

        net = run.model
        if world > 1:
            device_ids = [device.index] if device.type == "cuda" else None
            net = torch.nn.parallel.DistributedDataParallel(run.model, device_ids=device_ids)
        if compile:
            net = torch.compile(net)
        batches = training_batches(run, train_set, start)
        writer = open_tensorboard(work_dir) if tensorboard and rank == 0 else None
        if rank == 0:
            work_dir.mkdir(parents=True, exist_ok=True)
            flags = {"channels_last": channels_last, "compile": compile, "sync_bn": sync_bn and world > 1}
            record_segment(
                work_dir,
                start,
                {
                    "recipe": recipe.to_dict(),
                    "world_size": world,
                    "accumulation": accum,
                    **flags,
                    **provenance(str(device)),
                },
            )
            if sync_bn and world == 1:
                print("--sync-bn: one process has nothing to synchronise (SyncBatchNorm is BatchNorm here)", flush=True)

        stop = min(recipe.iters, stop_after if stop_after is not None else recipe.iters)
        bar = tqdm(total=stop - start, desc=recipe.name, disable=not progress or rank != 0)
        saved_at = time.monotonic()
        net.train()
        i = start
        try:
            for i in range(start, stop):
                t0 = time.perf_counter()
                lr, terms, data_time = train_step(run, net, batches, i, last_checkpoint)
                done = i + 1
                bar.update(1)
                if rank == 0 and (done % recipe.log_interval == 0 or done == stop):
                    record = {
                        "kind": "train",
                        "iter": done,
                        "lr": lr,
                        **terms,
                        "time": time.perf_counter() - t0,
                        "data_time": data_time,
                        "memory_mb": peak_memory_mb(device),
                    }
                    write_record(log_path, record)
                    bar.set_postfix(loss=f"{terms['loss']:.3f}", lr=f"{lr:.2e}")
                    if writer:
                        for k, v in record.items():
                            if k not in ("kind", "iter"):
                                writer.add_scalar(f"train/{k}", v, done)
                if done % recipe.val_interval == 0 or done == recipe.iters:
                    if rank == 0:
                        metrics, best = validate(run, val_set, done, work_dir, best)
                        if writer and metrics.mIoU is not None:
                            writer.add_scalar("val/mIoU", metrics.mIoU, done)
                    barrier(world)
                due = done % recipe.checkpoint_interval == 0 or done == stop
                # and one every checkpoint_minutes, so that a long recipe (first checkpoint at 16,000
                # iterations) never loses hours; only rank 0 writes, so only a due one waits for it
                timed = rank == 0 and time.monotonic() - saved_at >= 60 * recipe.checkpoint_minutes
                if due or timed:
                    if rank == 0:
                        last_checkpoint = save_training_checkpoint(run, done, best, work_dir)
                        saved_at = time.monotonic()
                    if due:
                        barrier(world)
        except OutputError as e:  # a log line, best.pth or a checkpoint the disk refused
            raise TrainingError(
                f"{e}. Training stopped at iteration {i + 1}; the last checkpoint, {last_checkpoint or 'none yet'}, "
                "is intact: free some space and continue with --resume"
            ) from e
        except KeyboardInterrupt:  # Ctrl-C: say where the run stands (every file it wrote is whole)
            raise KeyboardInterrupt(
                f"training stopped in iteration {i + 1}; the last checkpoint is {last_checkpoint or 'none yet'}: "
                "continue with --resume"
            ) from None
        finally:
            bar.close()  # a message that follows starts on its own line
        if writer:
            writer.close()
        return TrainResult(work_dir, stop, best, last_checkpoint, log_path)
