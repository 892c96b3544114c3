"""Training recipes: plain dataclasses named after the model-zoo rows.

The Cityscapes and COCO-Stuff recipes carry mmsegmentation 1.2.2's hyper-parameters (configs
``configs/bisenetv2/*`` and ``configs/bisenetv1/*``); ``bisenet recipes`` prints them beside
mmseg's. ``gpus x batch_per_gpu`` is the *global* batch of the recipe: with fewer GPUs the
trainer accumulates gradients over micro-batches of ``batch_per_gpu`` images, so every GPU count
computes the same update as the model zoo's 4 GPUs (BatchNorm statistics over ``batch_per_gpu``
images, as there without SyncBN).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from bisenet.errors import UsageError


@dataclass(frozen=True)
class Recipe:
    name: str
    model: str
    dataset: str  # "cityscapes", "cocostuff" or "minicity"
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
    # iteration as on the model zoo's GPUs (bisenet.engine.trainer.per_iteration_bn_momentum)
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
    # loss (bisenet.losses)
    loss: str = "ce"  # or "ohem"
    ohem_thresh: float = 0.7
    ohem_min_kept: int = 10_000  # pixels kept at least, counted over a micro-batch (mmseg: per image)
    aux_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    amp: str | None = None  # None, "fp16" or "bf16"
    loss_scale: float = 512.0  # initial fp16 loss scale (mmseg's AmpOptimWrapper uses 512)
    pretrained_backbone: bool = False  # V1: a local ImageNet checkpoint is required (--pretrained)
    # bookkeeping
    val_interval: int = 16_000
    checkpoint_interval: int = 16_000
    checkpoint_minutes: float = 30.0  # also a checkpoint when this long has passed since the last one
    keep_checkpoints: int = 3
    log_interval: int = 50
    workers: int = 4
    seed: int = 0
    mmseg_config: str = ""  # the model-zoo config this recipe reproduces
    notes: str = ""  # what the fields cannot say (departures from mmseg's config); the rest is ``summary``

    @property
    def global_batch(self) -> int:
        return self.gpus * self.batch_per_gpu

    @property
    def summary(self) -> str:
        """The recipe in one line, derived from its fields (data, crop, batch, schedule, loss)."""
        h, w = self.crop_size
        amp = f", {self.amp}" if self.amp else ""
        return (f"{self.model} on {self.dataset}: crops {h}x{w}, batch {self.gpus}x{self.batch_per_gpu}, "
                f"{self.iters:,} iterations at lr {self.lr}, {self.loss.upper()}{amp}")

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
        return cls(**values)


V2_AUX = (1.0, 1.0, 1.0, 1.0)
V1_AUX = (1.0, 1.0)

_V2 = dict(model="bisenetv2", dataset="cityscapes", aux_weights=V2_AUX, lr=0.05)
_V1 = dict(dataset="cityscapes", aux_weights=V1_AUX, lr=0.025)
_PRE_NOTE = ("ImageNet trunk from a local torchvision checkpoint (--pretrained). mmseg's config loads "
             "open-mmlab's ResNet-V1c weights (deep stem) into a 7x7-stem ResNet, so its stem stays random.")
_COCO = dict(dataset="cocostuff", num_classes=171, aux_weights=V1_AUX, lr=0.005, crop_size=(512, 512),
             scale=(2048, 512), eval_scale=(2048, 512))

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe("bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024", **_V2,
               mmseg_config="bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py"),
        Recipe("bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024", **_V2, loss="ohem", ohem_min_kept=40_000,
               mmseg_config="bisenetv2/bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024.py",
               notes="OHEM on the main head (thresh 0.7, min_kept 10000 per image = 40000 per 4-image batch: "
                     "mmseg's sampler multiplies min_kept by the batch size, the package counts per batch). "
                     "mmseg 1.2.2's config assigns its sampler to a misspelt key and silently trains plain CE; "
                     "this recipe really uses OHEM."),
        Recipe("bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024", **_V2, amp="fp16",
               mmseg_config="bisenetv2/bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024.py",
               notes="fp16 autocast, gradient scaler starting at 512 (mmseg: static scale 512)."),
        Recipe("bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024", **_V2, batch_per_gpu=8,
               mmseg_config="bisenetv2/bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024.py"),
        Recipe("bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024", model="bisenetv1-r18", **_V1,
               mmseg_config="bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py"),
        Recipe("bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024", model="bisenetv1-r18", **_V1,
               pretrained_backbone=True, notes=_PRE_NOTE,
               mmseg_config="bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024.py"),
        Recipe("bisenetv1_r18-d32-in1k-pre_4xb8-160k_cityscapes-1024x1024", model="bisenetv1-r18", **_V1,
               pretrained_backbone=True, batch_per_gpu=8, notes=_PRE_NOTE,
               mmseg_config="bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb8-160k_cityscapes-1024x1024.py"),
        Recipe("bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024", model="bisenetv1-r50",
               **{**_V1, "lr": 0.05},
               mmseg_config="bisenetv1/bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024.py"),
        Recipe("bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024", model="bisenetv1-r50",
               **{**_V1, "lr": 0.05}, pretrained_backbone=True, notes=_PRE_NOTE,
               mmseg_config="bisenetv1/bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024.py"),
        *[
            Recipe(f"bisenetv1_r{d}-d32{pre}_4xb4-160k_coco-stuff164k-512x512", model=f"bisenetv1-r{d}", **_COCO,
                   pretrained_backbone=bool(pre), notes=_PRE_NOTE if pre else "",
                   mmseg_config=f"bisenetv1/bisenetv1_r{d}-d32{pre}_4xb4-160k_coco-stuff164k-512x512.py")
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


# mmseg 1.2.2's values for the columns of the side-by-side table, read from its configs.
MMSEG_REFERENCE: dict[str, dict] = {
    "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024": dict(batch="4x4", crop="1024x1024", lr=0.05, iters=160_000, loss="CE", amp="-"),
    "bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024": dict(batch="4x4", crop="1024x1024", lr=0.05, iters=160_000, loss="CE (OHEM key misspelt)", amp="-"),
    "bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024": dict(batch="4x4", crop="1024x1024", lr=0.05, iters=160_000, loss="CE", amp="fp16, scale 512"),
    "bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024": dict(batch="4x8", crop="1024x1024", lr=0.05, iters=160_000, loss="CE", amp="-"),
    "bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024": dict(batch="4x4", crop="1024x1024", lr=0.025, iters=160_000, loss="CE", amp="-"),
    "bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024": dict(batch="4x4", crop="1024x1024", lr=0.025, iters=160_000, loss="CE", amp="-"),
    "bisenetv1_r18-d32-in1k-pre_4xb8-160k_cityscapes-1024x1024": dict(batch="4x8", crop="1024x1024", lr=0.025, iters=160_000, loss="CE", amp="-"),
    "bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024": dict(batch="4x4", crop="1024x1024", lr=0.05, iters=160_000, loss="CE", amp="-"),
    "bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024": dict(batch="4x4", crop="1024x1024", lr=0.05, iters=160_000, loss="CE", amp="-"),
}
for _name, _r in RECIPES.items():
    if _r.dataset == "cocostuff":
        MMSEG_REFERENCE[_name] = dict(batch="4x4", crop="512x512", lr=0.005, iters=160_000, loss="CE", amp="-")


def recipe_table(include_profiles: bool = True):
    """Every recipe as a row of a pandas DataFrame, with mmseg's values beside the package's
    where mmseg has the row."""
    import pandas as pd

    rows = []
    for r in (all_recipes() if include_profiles else RECIPES).values():
        ref = MMSEG_REFERENCE.get(r.name, {})
        rows.append(
            {
                "recipe": r.name,
                "model": r.model,
                "data": r.dataset,
                "batch": f"{r.gpus}x{r.batch_per_gpu}",
                "mmseg batch": ref.get("batch", "-"),
                "crop": f"{r.crop_size[0]}x{r.crop_size[1]}",
                "mmseg crop": ref.get("crop", "-"),
                "lr": r.lr,
                "mmseg lr": ref.get("lr", "-"),
                "iters": r.iters,
                "mmseg iters": ref.get("iters", "-"),
                "loss": r.loss.upper(),
                "mmseg loss": ref.get("loss", "-"),
                "amp": r.amp or "-",
                "mmseg amp": ref.get("amp", "-"),
                "pretrained": "ImageNet" if r.pretrained_backbone else "-",
            }
        )
    return pd.DataFrame(rows)
