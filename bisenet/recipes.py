"""Training recipes: plain dataclasses named after the model-zoo rows, and the cpu/smoke profiles.

The Cityscapes and COCO-Stuff recipes carry mmsegmentation 1.2.2's hyper-parameters (configs
``configs/bisenetv2/*`` and ``configs/bisenetv1/*``); ``bisenet recipes`` prints them beside
mmseg's. ``gpus x batch_per_gpu`` is the *global* batch of the recipe: with fewer GPUs the
trainer accumulates gradients over micro-batches of ``batch_per_gpu`` images, so every GPU count
computes the same update as the model zoo's 4 GPUs (BatchNorm statistics over ``batch_per_gpu``
images, as there without SyncBN).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import pandas as pd


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
    keep_checkpoints: int = 3
    log_interval: int = 50
    workers: int = 4
    seed: int = 0
    mmseg_config: str = ""  # the model-zoo config this recipe reproduces
    notes: str = ""

    @property
    def global_batch(self) -> int:
        return self.gpus * self.batch_per_gpu

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed (e.g. ``iters=...``)."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


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

# The profiles on MiniCity (bisenet.data.minicity). "cpu": sized so that each model reaches a
# clearly non-trivial mIoU within about 10 minutes on a 2-core CPU; "smoke": seconds, for tests.
_CPU = dict(dataset="minicity", crop_size=(256, 256), scale=(512, 256), gpus=1, batch_per_gpu=4,
            warmup_iters=30, val_interval=50, checkpoint_interval=50, log_interval=10, workers=0)
_GPU = dict(dataset="minicity", crop_size=(512, 1024), scale=(2048, 1024), gpus=1, batch_per_gpu=8,
            warmup_iters=200, val_interval=500, checkpoint_interval=500, log_interval=50, workers=4, amp="fp16")
_SMOKE = dict(dataset="minicity", crop_size=(64, 64), scale=(128, 64), gpus=1, batch_per_gpu=2, iters=4,
              warmup_iters=2, val_interval=2, checkpoint_interval=2, log_interval=1, workers=0,
              ohem_min_kept=100)
ABLATION_CPU_ITERS = 150
PROFILE_RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe("bisenetv2-cpu", model="bisenetv2", aux_weights=V2_AUX, lr=0.05, iters=300, **_CPU,
               notes="MiniCity 256x512, crops 256x256, batch 4, 300 iterations"),
        Recipe("bisenetv1-r18-cpu", model="bisenetv1-r18", aux_weights=V1_AUX, lr=0.025, iters=500, **_CPU,
               notes="MiniCity 256x512, crops 256x256, batch 4, 500 iterations"),
        # gpu profile: MiniCity at Cityscapes' size (or Cityscapes itself), minutes on one GPU
        Recipe("bisenetv2-gpu", model="bisenetv2", aux_weights=V2_AUX, lr=0.05, iters=4000, **_GPU,
               notes="MiniCity 1024x2048 (or Cityscapes), crops 512x1024, batch 8, 4000 iterations"),
        Recipe("bisenetv1-r18-gpu", model="bisenetv1-r18", aux_weights=V1_AUX, lr=0.025, iters=4000, **_GPU,
               notes="MiniCity 1024x2048 (or Cityscapes), crops 512x1024, batch 8, 4000 iterations"),
        # the base of the paper's ablations (bisenet.ablation): every variant changes only the model
        # options, the booster and the loss of these. OHEM's min_kept is scaled to keep the same
        # share of a batch's pixels as mmseg's 10,000 per 1024x1024 image (0.95 %).
        Recipe("bisenetv2-ablation-cpu", model="bisenetv2", aux_weights=V2_AUX, lr=0.05, iters=ABLATION_CPU_ITERS,
               **{**_CPU, "crop_size": (128, 128), "scale": (256, 128), "batch_per_gpu": 8,
                  "warmup_iters": 20, "val_interval": ABLATION_CPU_ITERS, "checkpoint_interval": 50,
                  "keep_checkpoints": 1, "log_interval": 10},
               ohem_min_kept=1250,
               notes=f"MiniCity 128x256, crops 128x128, batch 8, {ABLATION_CPU_ITERS} iterations; the ablation grid's scale"),
        Recipe("bisenetv2-ablation-gpu", model="bisenetv2", aux_weights=V2_AUX, lr=0.05, iters=4000,
               **{**_GPU, "keep_checkpoints": 1}, ohem_min_kept=40_000,
               notes="MiniCity 1024x2048 (or Cityscapes), crops 512x1024, batch 8, 4000 iterations"),
        Recipe("bisenetv2-ablation-smoke", model="bisenetv2", aux_weights=V2_AUX, lr=0.01,
               **{**_SMOKE, "iters": 2, "val_interval": 2, "keep_checkpoints": 1}),
        Recipe("bisenetv2-smoke", model="bisenetv2", aux_weights=V2_AUX, lr=0.01, **_SMOKE),
        Recipe("bisenetv1-r18-smoke", model="bisenetv1-r18", aux_weights=V1_AUX, lr=0.01, **_SMOKE),
    ]
}

ALL_RECIPES: dict[str, Recipe] = {**RECIPES, **PROFILE_RECIPES}


def get_recipe(name: str) -> Recipe:
    """A recipe by name; an unknown name raises an error listing those that exist."""
    if name not in ALL_RECIPES:
        raise ValueError(f"unknown recipe {name!r}; available:\n  " + "\n  ".join(ALL_RECIPES))
    return ALL_RECIPES[name]


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


def recipe_table(include_profiles: bool = True) -> pd.DataFrame:
    """Every recipe as a row, with mmseg's values beside the package's where mmseg has the row."""
    rows = []
    for r in (ALL_RECIPES if include_profiles else RECIPES).values():
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
