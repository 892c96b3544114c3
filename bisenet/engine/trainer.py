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
import dataclasses
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
from bisenet.engine.run_log import LOG_FILE, RUN_FILE, truncate_log, write_record
from bisenet.engine.runs import check_recipe, default_work_dir, recipe_changes, record_segment, resume_or_start
from bisenet.engine.sampler import IterationSampler
from bisenet.errors import BiSeNetError, OutputError, RunExistsError, TrainingError, UsageError, unwrap_worker_error
from bisenet.interop import init_from
from bisenet.losses import SegmentationLoss
from bisenet.metrics import Metrics
from bisenet.models import build_model
from bisenet.provenance import provenance
from bisenet.recipes import Recipe

AMP_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
# a weight this large in magnitude means the run diverged (trained BiSeNet weights stay below ~10)
DIVERGED_WEIGHT = 1e6


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


def open_tensorboard(work_dir: Path):
    """A TensorBoard writer in ``work_dir/tensorboard``, or None when tensorboard is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        print("tensorboard is not installed; logging to log.jsonl only")
        return None
    return SummaryWriter(str(work_dir / "tensorboard"))


# --- the loop ----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """How a recipe is trained here (the recipe says *what* is trained).

    Args:
        data_root: the dataset's root (Cityscapes: default ``CITYSCAPES_DATASET``).
        work_dir: checkpoints and logs. Default ``work_dirs/<recipe name>``.
        resume: True: continue from the newest valid checkpoint in ``work_dir``; False (default):
            start, refusing a folder that already holds a run; "auto": continue when there is a
            valid checkpoint, else start clean (:func:`bisenet.engine.runs.resume_or_start`).
        device: where to train (:func:`bisenet.devices.resolve_device`). Default: this process's
            GPU, else the CPU.
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

    data_root: str | Path | None = None
    work_dir: str | Path | None = None
    resume: bool | str = False
    device: str | torch.device | None = None
    pretrained: str | Path | None = None
    channels_last: bool | None = None
    compile: bool = False
    sync_bn: bool = False
    stop_after: int | None = None
    progress: bool = True
    tensorboard: bool = False


def train(recipe: Recipe, options: TrainOptions | None = None, **fields) -> TrainResult:
    """Train ``recipe`` (change its fields first with ``recipe.with_(iters=..., lr=...)``).

    Args:
        recipe: what to train (``bisenet.recipes.get_recipe(name)``).
        options: how (:class:`TrainOptions`). Default: its defaults.
        **fields: :class:`TrainOptions` fields by name, a shorthand:
            ``train(recipe, work_dir="runs/a", resume=True)``.
    """
    if not isinstance(recipe, Recipe):
        raise UsageError(f"train() takes a Recipe, got {recipe!r}: use bisenet.recipes.get_recipe(name)")
    options = dataclasses.replace(options or TrainOptions(), **fields)
    rank, world = init_distributed()
    device = resolve_device(options.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    work_dir = Path(options.work_dir) if options.work_dir else default_work_dir(recipe)
    if options.resume not in (True, False, "auto"):
        raise UsageError(f"resume must be True, False or 'auto', got {options.resume!r}")
    if options.resume == "auto" and world > 1:  # one process decides and deletes; under torchrun, all would
        raise UsageError("resume='auto' is for one process: under torchrun pass --resume, or leave it out")
    resume = resume_or_start(work_dir) if options.resume == "auto" else options.resume
    accum = check_recipe(recipe, device, world, options.pretrained, resume)
    stop = _stop_iteration(recipe, options.stop_after)
    # the folder is this run's alone: a second run on it is refused, naming this process (rank 0
    # holds it; the other processes of a torchrun job share it)
    with owned_folder(work_dir, "training run") if rank == 0 else contextlib.nullcontext():
        train_set, val_set = build_datasets(recipe, options.data_root)
        channels_last = recipe.channels_last if options.channels_last is None else options.channels_last
        run = build_run(recipe, device, rank, world, accum, options.pretrained, channels_last, options.sync_bn)
        run.classes, run.palette = tuple(train_set.classes), tuple(tuple(c) for c in train_set.palette)
        start, best, last_checkpoint = start_run(run, work_dir, resume)
        if start >= recipe.iters:  # nothing left to train
            return TrainResult(work_dir, start, best, last_checkpoint, work_dir / LOG_FILE)
        if stop <= start:
            raise UsageError(f"stop_after {stop}: the run in {work_dir} is already at iteration {start}")
        net = wrap_model(run, options.compile)
        if rank == 0:
            work_dir.mkdir(parents=True, exist_ok=True)
            flags = {
                "channels_last": channels_last,
                "compile": options.compile,
                "sync_bn": options.sync_bn and world > 1,
            }
            info = {"recipe": recipe.to_dict(), "world_size": world, "accumulation": accum, **flags}
            record_segment(work_dir, start, {**info, **provenance(str(device))})
            if options.sync_bn and world == 1:
                print("--sync-bn: one process has nothing to synchronise (SyncBatchNorm is BatchNorm here)", flush=True)
        batches = training_batches(run, train_set, start)
        best, last_checkpoint = run_iterations(
            run, net, batches, val_set, range(start, stop), work_dir, best, last_checkpoint, options
        )
        return TrainResult(work_dir, stop, best, last_checkpoint, work_dir / LOG_FILE)


def _stop_iteration(recipe: Recipe, stop_after: int | None) -> int:
    """Where this call stops: ``stop_after`` (checked), else the end of the recipe."""
    if stop_after is None:
        return recipe.iters
    if not isinstance(stop_after, int) or stop_after < 1:
        raise UsageError(f"stop_after must be a positive iteration, got {stop_after!r}")
    if stop_after > recipe.iters:
        raise UsageError(f"stop_after {stop_after} is past the end of the run ({recipe.iters} iterations)")
    return stop_after


def start_run(run: Run, work_dir: Path, resume: bool) -> tuple[int, float | None, Path | None]:
    """(first iteration, best mIoU, last checkpoint) of this call: the run resumed, or a new one
    (refused on a folder that holds a run), fine-tuned from ``recipe.init`` when it starts at 0."""
    start, best, last_checkpoint = 0, None, None
    if resume:
        start, best, last_checkpoint = resume_run(run, work_dir)
    elif run.rank == 0 and (work_dir / LOG_FILE).exists():
        found = latest_valid(work_dir)
        where = f"checkpoints up to {found[0].name}" if found else "no checkpoint yet"
        raise RunExistsError(
            f"{work_dir} already holds a run ({LOG_FILE}, {where}): pass --resume to continue it"
            f"{'' if found else ' (it starts again from iteration 0)'}, or use another --work-dir"
        )
    if run.recipe.init and start == 0:  # fine-tuning: the checkpoint's weights wherever they fit
        report = init_from(run.model, run.recipe.init)
        if run.rank == 0:
            print(report.summary(), flush=True)
    return start, best, last_checkpoint


def wrap_model(run: Run, compile: bool) -> nn.Module:
    """The module the steps call: the model, in DistributedDataParallel across processes,
    compiled when asked."""
    net = run.model
    if run.world > 1:
        device_ids = [run.device.index] if run.device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(run.model, device_ids=device_ids)
    return torch.compile(net) if compile else net


def run_iterations(
    run: Run,
    net: nn.Module,
    batches: Iterator,
    val_set: SegmentationDataset,
    iterations: range,
    work_dir: Path,
    best: float | None,
    last_checkpoint: Path | None,
    options: TrainOptions,
) -> tuple[float | None, Path | None]:
    """Per iteration a training step and, when due, a log record, a validation and a checkpoint;
    returns (best mIoU, last checkpoint). An interruption or a refused write says where the run
    stands (every file it wrote is whole)."""
    recipe, rank, stop = run.recipe, run.rank, iterations.stop
    log_path = work_dir / LOG_FILE
    writer = open_tensorboard(work_dir) if options.tensorboard and rank == 0 else None
    bar = tqdm(total=len(iterations), desc=recipe.name, disable=not options.progress or rank != 0)
    saved_at = time.monotonic()
    net.train()
    i = iterations.start
    try:
        for i in iterations:
            t0 = time.perf_counter()
            lr, terms, data_time = train_step(run, net, batches, i, last_checkpoint)
            done = i + 1
            bar.update(1)
            if rank == 0 and (done % recipe.log_interval == 0 or done == stop):
                record = {"kind": "train", "iter": done, "lr": lr, **terms, "time": time.perf_counter() - t0}
                record.update(data_time=data_time, memory_mb=peak_memory_mb(run.device))
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
                barrier(run.world)
            due = done % recipe.checkpoint_interval == 0 or done == stop
            # and one every checkpoint_minutes, so that a long recipe (first checkpoint at 16,000
            # iterations) never loses hours; only rank 0 writes, so only a due one waits for it
            timed = rank == 0 and time.monotonic() - saved_at >= 60 * recipe.checkpoint_minutes
            if due or timed:
                if rank == 0:
                    last_checkpoint = save_training_checkpoint(run, done, best, work_dir)
                    saved_at = time.monotonic()
                if due:
                    barrier(run.world)
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
    return best, last_checkpoint
