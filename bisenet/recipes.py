"""Training recipes: plain dataclasses named after the model-zoo rows.

The Cityscapes and COCO-Stuff recipes carry mmsegmentation 1.2.2's hyper-parameters (configs
``configs/bisenetv2/*`` and ``configs/bisenetv1/*``), and two carry sssegmentation 1.7.0's
(``ssseg/configs/bisenetv1/fcn_bisenetv1_resnet{18,50}os32_cityscapes.py`` over
``ssseg/configs/_base_/segmentors/bisenetv1.py``); ``bisenet recipes`` prints each beside the
values read from its tool's config. ``gpus x batch_per_gpu`` is the *global* batch of the recipe: with fewer GPUs the
trainer accumulates gradients over micro-batches of ``batch_per_gpu`` images, so every GPU count
computes the same gradient step as the model zoo's 4 GPUs, with one difference: BatchNorm. The
configs synchronise BatchNorm across their GPUs (``norm_cfg=SyncBN``) in the modules
``sync_bn_modules`` names (V1: the ResNet trunk and the heads; V2: the heads; each backbone's own
layers build plain BN whatever ``norm_cfg`` says), so there those layers normalise over all 16
images of a step. ``torchrun --nproc_per_node=4 ... --sync-bn`` reproduces
that; one GPU accumulating 4 micro-batches normalises each over its own 4 images (the statistics of
a 4-image batch, noisier than those of 16), which no setting of one process can undo.
"""

from __future__ import annotations

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
        """A copy with some fields changed (e.g. ``iters=...``)."""
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

# mmseg's norm_cfg=SyncBN (configs/_base_/models/bisenetv1_r18-d32.py, bisenetv2.py): V1's configs
# give it to the ResNet trunk (backbone_cfg), the decode head and both auxiliary heads, and to the
# BiSeNetV1 backbone too, which does not pass it on (mmseg/models/backbones/bisenetv1.py builds
# ContextPath, SpatialPath and FeatureFusionModule without it): the ARMs, the context path's own
# convs, the spatial path and the FFM keep plain BN. V2's configs give it to the decode head and the
# four auxiliary heads only; the V2 backbone gets none and builds plain BN.
V1_SYNC_BN = ("backbone.context_path.backbone", "decode_head", "auxiliary_head")
V2_SYNC_BN = ("decode_head", "auxiliary_head")
_V2 = dict(model="bisenetv2", dataset="cityscapes", aux_weights=V2_AUX, lr=0.05, sync_bn_modules=V2_SYNC_BN)
_V1 = dict(dataset="cityscapes", aux_weights=V1_AUX, lr=0.025, sync_bn_modules=V1_SYNC_BN)
_PRE_NOTE = (
    "ImageNet trunk from a local torchvision checkpoint (--pretrained). mmseg's config loads "
    "open-mmlab's ResNet-V1c weights (deep stem) into a 7x7-stem ResNet, so its stem stays random."
)
_COCO = dict(
    dataset="cocostuff",
    num_classes=171,
    aux_weights=V1_AUX,
    lr=0.005,
    crop_size=(512, 512),
    sync_bn_modules=V1_SYNC_BN,
    scale=(2048, 512),
    eval_scale=(2048, 512),
)

# sssegmentation 1.7.0's BiSeNetV1 (base config ssseg/configs/_base_/segmentors/bisenetv1.py with the
# Cityscapes 1024x1024 dataset and the batch-16 dataloader): SGD lr 0.05, momentum 0.9, weight decay
# 5e-4; poly 0.9 to 1e-4 with a linear warm-up from 0.1 over 1000 iterations; 860 epochs of the 2975
# training images at 16 per iteration (drop_last: 185 iterations an epoch, 159,100 in all); 2 images
# on each of 8 GPUs; CE on the main and both auxiliary heads, weight 1 each.
_SSSEG = dict(
    dataset="cityscapes",
    aux_weights=V1_AUX,
    lr=0.05,
    gpus=8,
    batch_per_gpu=2,
    iters=860 * (2975 // 16),
    pretrained_backbone=True,
    model_options={"deep_stem": True},
    sync_bn_modules=("backbone", "decode_head", "auxiliary_head"),
)  # SyncBN in every layer
_SSSEG_NOTE = (
    "sssegmentation's network is mmseg's with the v1c stem (three 3x3 convs, model option deep_stem). "
    "Its training departs from mmseg's in: SyncBN in every layer over all 16 images (the package "
    "too with --sync-bn under torchrun on 8 processes; one process normalises each 2-image "
    "micro-batch on its own); a v1c ImageNet trunk (resnet{d}_v1c, a local file via --pretrained); "
    "PyTorch's default initialisation of the other layers (mmseg: Kaiming for convs, N(0, 0.01) "
    "for the classifiers); Cityscapes' ignored ids mapped to -100 (PyTorch's default ignore_index) "
    "instead of 255; warm-up as a factor on the poly value (mmengine, and the package: LinearLR "
    "then PolyLR); crops resampled until no class covers 75% of the pixels that count, as mmseg's "
    "cat_max_ratio."
)

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024",
            **_V2,
            mmseg_config="bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024",
            **_V2,
            loss="ohem",
            ohem_min_kept=40_000,
            ohem_on_aux=True,
            mmseg_config="bisenetv2/bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024.py",
            notes="OHEM on the decode head and on each of the four auxiliary heads, each with thresh 0.7 "
            "and min_kept 10000 per image (= 40000 per 4-image batch: mmseg's sampler multiplies "
            "min_kept by the batch size, the package counts per batch), as mmseg 0.x's "
            "bisenetv2_fcn_ohem_4x4_1024x1024_160k_cityscapes.py, the config behind the published "
            "73.57, and CoinCheung's training. mmseg 1.2.2's config assigns its samplers to a misspelt "
            "key and silently trains plain CE; this recipe really uses OHEM.",
        ),
        Recipe(
            "bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024",
            **_V2,
            amp="fp16",
            mmseg_config="bisenetv2/bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024.py",
            notes="fp16 autocast, gradient scaler starting at 512 (mmseg: static scale 512).",
        ),
        Recipe(
            "bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024",
            **_V2,
            batch_per_gpu=8,
            mmseg_config="bisenetv2/bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024",
            model="bisenetv1-r18",
            **_V1,
            mmseg_config="bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024",
            model="bisenetv1-r18",
            **_V1,
            pretrained_backbone=True,
            notes=_PRE_NOTE,
            mmseg_config="bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r18-d32-in1k-pre_4xb8-160k_cityscapes-1024x1024",
            model="bisenetv1-r18",
            **_V1,
            pretrained_backbone=True,
            batch_per_gpu=8,
            notes=_PRE_NOTE,
            mmseg_config="bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb8-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024",
            model="bisenetv1-r50",
            **{**_V1, "lr": 0.05},
            mmseg_config="bisenetv1/bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024",
            model="bisenetv1-r50",
            **{**_V1, "lr": 0.05},
            pretrained_backbone=True,
            notes=_PRE_NOTE,
            mmseg_config="bisenetv1/bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024.py",
        ),
        *[
            Recipe(
                f"fcn_bisenetv1_resnet{d}os32_cityscapes",
                model=f"bisenetv1-r{d}",
                **_SSSEG,
                notes=_SSSEG_NOTE.format(d=d),
                ssseg_config=f"ssseg/configs/bisenetv1/fcn_bisenetv1_resnet{d}os32_cityscapes.py",
            )
            for d in (18, 50)
        ],
        *[
            Recipe(
                f"bisenetv1_r{d}-d32{pre}_4xb4-160k_coco-stuff164k-512x512",
                model=f"bisenetv1-r{d}",
                **_COCO,
                pretrained_backbone=bool(pre),
                notes=_PRE_NOTE if pre else "",
                mmseg_config=f"bisenetv1/bisenetv1_r{d}-d32{pre}_4xb4-160k_coco-stuff164k-512x512.py",
            )
            for d in (18, 50, 101)
            for pre in ("", "-in1k-pre")
        ],
    ]
}


def get_recipe(name: str) -> Recipe:
    """A recipe by name: a model-zoo row (:data:`RECIPES`) or a profile's recipe
    (``bisenet.profiles.PROFILE_RECIPES``); an unknown name raises an error listing them all."""
    recipes = all_recipes()
    if name not in recipes:
        raise UsageError(f"unknown recipe {name!r}; available:\n  " + "\n  ".join(recipes))
    return recipes[name]


def all_recipes() -> dict[str, Recipe]:
    """The model zoo's recipes, then every profile's (``bisenet recipes`` lists them all)."""
    # the profiles are built from Recipe objects (bisenet.profiles imports this module), so they
    # are imported when asked for, not at the top of this module
    from bisenet.profiles import PROFILE_RECIPES

    return {**RECIPES, **PROFILE_RECIPES}


def reference_of(recipe: Recipe) -> str:
    """Whose config a recipe reproduces: "mmseg 1.2.2", "sssegmentation 1.7.0" or "-" (a
    profile's own recipe)."""
    if recipe.ssseg_config:
        return "sssegmentation 1.7.0"
    return "mmseg 1.2.2" if recipe.mmseg_config else "-"


def _heads(loss: str, aux: tuple, ohem_on_aux: bool) -> str:
    """Which heads get which loss, in words: "CE", "OHEM main, CE aux", "OHEM all"."""
    if loss != "ohem" or not aux:
        return loss.upper()
    return "OHEM all" if ohem_on_aux else "OHEM main, CE aux"


def _sync(modules: tuple[str, ...]) -> str:
    return ", ".join(m.replace("backbone.context_path.backbone", "trunk") for m in modules) or "-"


def recipe_table(include_profiles: bool = True):
    """Every recipe as a row of a pandas DataFrame, with the values of the config it reproduces
    (``config``: mmseg's or sssegmentation's; :data:`bisenet.recipe_configs.CONFIG_VALUES`) beside
    the package's; "-" for a profile's recipe."""
    import pandas as pd

    from bisenet.recipe_configs import CONFIG_LOSS_TEXT, CONFIG_VALUES

    rows = []
    for r in (all_recipes() if include_profiles else RECIPES).values():
        ref = CONFIG_VALUES.get(r.name)
        config = {}
        if ref:
            config = {
                "batch": f"{ref['gpus']}x{ref['batch_per_gpu']}",
                "crop": f"{ref['crop_size'][0]}x{ref['crop_size'][1]}",
                "lr": ref["lr"],
                "iters": "860 epochs" if r.ssseg_config else ref["iters"],
                "loss": CONFIG_LOSS_TEXT.get(r.name, _heads(ref["loss"], ref["aux_weights"], ref.get("ohem_on_aux"))),
                "amp": f"{ref['amp']}, scale {ref['loss_scale']:g}" if ref["amp"] else "-",
                "SyncBN": _sync(ref["sync_bn_modules"]),
            }
        rows.append(
            {
                "recipe": r.name,
                "config": reference_of(r),
                "model": r.model,
                "data": r.dataset,
                "batch": f"{r.gpus}x{r.batch_per_gpu}",
                "config batch": config.get("batch", "-"),
                "crop": f"{r.crop_size[0]}x{r.crop_size[1]}",
                "config crop": config.get("crop", "-"),
                "lr": r.lr,
                "config lr": config.get("lr", "-"),
                "iters": r.iters,
                "config iters": config.get("iters", "-"),
                "loss": _heads(r.loss, r.aux_weights, r.ohem_on_aux),
                "config loss": config.get("loss", "-"),
                "amp": f"{r.amp}, scale {r.loss_scale:g}" if r.amp == "fp16" else (r.amp or "-"),
                "config amp": config.get("amp", "-"),
                "SyncBN (--sync-bn)": _sync(r.sync_bn_modules),
                "config SyncBN": config.get("SyncBN", "-"),
                "pretrained": ("ImageNet v1c" if r.model_options.get("deep_stem") else "ImageNet")
                if r.pretrained_backbone
                else "-",
            }
        )
    return pd.DataFrame(rows)
