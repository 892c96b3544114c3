"""A training recipe: one frozen dataclass holding everything a run of the trainer needs.

``gpus x batch_per_gpu`` is the *global* batch of the recipe: with fewer GPUs the trainer
accumulates gradients over micro-batches of ``batch_per_gpu`` images, so every GPU count computes
the same gradient step as the model zoo's 4 GPUs, with one difference: BatchNorm. The configs
synchronise BatchNorm across their GPUs (``norm_cfg=SyncBN``) in the modules ``sync_bn_modules``
names (V1: the ResNet trunk and the heads; V2: the heads; each backbone's own layers build plain BN
whatever ``norm_cfg`` says), so there those layers normalise over all 16 images of a step.
``torchrun --nproc_per_node=4 ... --sync-bn`` reproduces that; one GPU accumulating 4 micro-batches
normalises each over its own 4 images (the statistics of a 4-image batch, noisier than those of
16), which no setting of one process can undo.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field, fields, replace

from bisenet.errors import UsageError


@dataclass(frozen=True)
class Recipe:
    name: str
    model: str
    dataset: str  # "cityscapes", "cocostuff", "minicity", "folder" or "camvid"
    num_classes: int = 19
    model_options: dict = field(default_factory=dict)
    # data: mmseg's RandomResize(scale, ratio_range) + RandomCrop(crop_size, cat_max_ratio) ...
    crop_size: tuple[int, int] = (1024, 1024)
    scale: tuple[int, int] = (2048, 1024)  # (long side, short side)
    ratio_range: tuple[float, float] = (0.5, 2.0)
    cat_max_ratio: float = 0.75
    eval_scale: tuple[int, int] | None = None  # test-time resize; None keeps the image size
    # batch: gpus x batch_per_gpu images per iteration
    gpus: int = 4
    batch_per_gpu: int = 4
    # with fewer processes than gpus (gradient accumulation, accum micro-batches per iteration):
    # BatchNorm momentum m -> 1-(1-m)^(1/accum), so that the running statistics decay per
    # iteration as on the model zoo's GPUs (bisenet.engine.batchnorm.per_iteration_bn_momentum)
    bn_momentum_per_iteration: bool = False
    iters: int = 160_000
    # optimiser and schedule (bisenet.engine.optim)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    optimizer: str = "mmseg"  # or "coincheung"
    warmup_iters: int = 1000
    warmup_ratio: float = 0.1
    poly_power: float = 0.9
    eta_min: float = 1e-4
    # a folder dataset's layout and mask options (bisenet.data.FolderOptions as a dict)
    data_options: dict = field(default_factory=dict)
    # loss (bisenet.losses)
    loss: str = "ce"  # or "ohem", "dice", "lovasz", "ce+dice"
    class_weights: tuple[float, ...] | None = None  # per class, for CE/OHEM/Dice; None: unweighted
    ohem_thresh: float = 0.7
    ohem_min_kept: int = 10_000  # pixels kept at least, counted over a micro-batch (mmseg: per image)
    ohem_on_aux: bool = False  # OHEM on the auxiliary heads too (mmseg 0.x's OHEM config, CoinCheung: every head)
    aux_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    # the modules whose BatchNorm the config synchronises across GPUs (norm_cfg=SyncBN), as paths
    # of the package's model ("decode_head", "auxiliary_head", V1's trunk
    # "backbone.context_path.backbone"); what `--sync-bn` converts under torchrun (recorded, not used
    # by one process, whose BatchNorm sees batch_per_gpu images whatever this says)
    sync_bn_modules: tuple[str, ...] = ()
    amp: str | None = None  # None, "fp16" or "bf16"
    channels_last: bool = False  # train in channels_last memory format (the cpu profile's default)
    loss_scale: float = 512.0  # initial fp16 loss scale (mmseg's AmpOptimWrapper uses 512)
    pretrained_backbone: bool = False  # V1: a local ImageNet checkpoint is required (--pretrained)
    init: str = ""  # fine-tune: start from this checkpoint's weights where they fit (bisenet.interop.init_from)
    # bookkeeping
    val_interval: int = 16_000
    checkpoint_interval: int = 16_000
    checkpoint_minutes: float = 30.0  # also a checkpoint when this long has passed since the last one
    keep_checkpoints: int = 3
    log_interval: int = 50
    workers: int = 4
    seed: int = 0
    mmseg_config: str = ""  # the mmsegmentation model-zoo config this recipe reproduces
    ssseg_config: str = ""  # or the sssegmentation one
    notes: str = ""  # what the fields cannot say (departures from mmseg's config); the rest is ``summary``

    @property
    def global_batch(self) -> int:
        return self.gpus * self.batch_per_gpu

    @property
    def summary(self) -> str:
        """The recipe in one line, derived from its fields (data, crop, batch, schedule, loss)."""
        h, w = self.crop_size
        amp = f", {self.amp}" if self.amp else ""
        return (
            f"{self.model} on {self.dataset}: crops {h}x{w}, batch {self.gpus}x{self.batch_per_gpu}, "
            f"{self.iters:,} iterations at lr {self.lr}, {self.loss.upper()}{amp}"
        )

    def check(self) -> Recipe:
        """Refuse values no run can train with (:class:`UsageError` naming the field and the value);
        returns the recipe, so that ``recipe.with_(...).check()`` reads as one step."""
        name = self.name
        for option in (
            "iters",
            "gpus",
            "batch_per_gpu",
            "val_interval",
            "checkpoint_interval",
            "log_interval",
            "keep_checkpoints",
        ):
            value = getattr(self, option)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"recipe {name}: {option} must be a positive integer, got {value!r}")
        if self.workers < 0:
            raise UsageError(f"recipe {name}: workers must be >= 0, got {self.workers!r}")
        for option in ("crop_size", "scale"):
            value = tuple(getattr(self, option))
            if len(value) != 2 or not all(isinstance(v, int) and v >= 32 for v in value):
                raise UsageError(f"recipe {name}: {option} must be two sides of at least 32 pixels, got {value!r}")
        low, high = self.ratio_range
        if not 0 < low <= high:
            raise UsageError(f"recipe {name}: ratio_range must satisfy 0 < low <= high, got {self.ratio_range!r}")
        largest = self.scale[0] * self.scale[1] * high**2  # pixels of the largest resized image
        if self.crop_size[0] * self.crop_size[1] > largest:
            raise UsageError(
                f"recipe {name}: the crop {self.crop_size[0]}x{self.crop_size[1]} is larger than any image the "
                f"augmentation makes (resized into {self.scale[0]}x{self.scale[1]} times at most {high}): it would "
                "train mostly on padding, at that crop's memory; lower the crop size or raise the scale"
            )
        if not 0 < self.cat_max_ratio <= 1:
            raise UsageError(f"recipe {name}: cat_max_ratio must be in (0, 1], got {self.cat_max_ratio!r}")
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise UsageError(f"recipe {name}: the learning rate must be a positive number, got {self.lr!r}")
        if self.amp not in (None, "fp16", "bf16"):
            raise UsageError(f"amp must be fp16, bf16 or None, got {self.amp!r}")
        if self.batch_per_gpu < 2:
            raise UsageError(
                f"batch_per_gpu must be at least 2, got {self.batch_per_gpu}: the BatchNorm layers after global "
                "pooling (V2's context embedding, V1's ARM and FFM) need more than one value per channel in training"
            )
        if self.class_weights is not None and len(self.class_weights) != self.num_classes:
            raise UsageError(f"recipe {name}: {len(self.class_weights)} class weights for {self.num_classes} classes")
        return self

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed (e.g. ``iters=...``); a name that is no field of a recipe is
        refused (:class:`UsageError` naming it and the nearest fields), the values are checked by
        :meth:`check` (which the trainer calls before any work)."""
        known = [f.name for f in fields(self)]
        unknown = sorted(set(changes) - set(known))
        if unknown:
            near = {name: difflib.get_close_matches(name, known, n=2) for name in unknown}
            hints = "; ".join(f"{k}: did you mean {' or '.join(v)}?" for k, v in near.items() if v)
            raise UsageError(f"recipe {self.name}: no field {', '.join(unknown)}{' (' + hints + ')' if hints else ''}")
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Recipe:
        """The recipe ``to_dict`` gave (from a checkpoint or ``run.json``): lists back to tuples,
        fields it lacks (an older file) at their defaults, keys it does not know left out."""
        known = {f.name: f for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        if "aux_weights" in values:
            values["aux_weights"] = tuple(values["aux_weights"])
        if "data_options" in values:  # tuples inside (void_values, ignore_colour) come back as lists
            values["data_options"] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in values["data_options"].items()
            }
        return cls(**values)


V2_AUX = (1.0, 1.0, 1.0, 1.0)
V1_AUX = (1.0, 1.0)
