"""The recipes of the book's execution profiles (:mod:`bisenet.profiles`), beside the model zoo's.

Each profile trains the book's two models with its own recipes (``<model>-<profile>``) and runs the
paper's ablation grid from one base recipe (``bisenetv2-ablation-<profile>``); the shared CPU budget
(:data:`BUDGET_RECIPES`) trains V1 and V2 alike for the experiments that compare them. The
profiles' sizes: "cpu" is sized so that each model reaches a clearly non-trivial mIoU within about
10 minutes on a 2-core CPU; "gpu": minutes on one GPU; "smoke": seconds, for tests; "gpu-dryrun":
the gpu recipes at the smoke sizes, on the CPU.
"""

from __future__ import annotations

from bisenet.recipes.recipe import V1_AUX, V2_AUX, Recipe

_CPU = dict(
    dataset="minicity",
    crop_size=(256, 256),
    scale=(512, 256),
    gpus=1,
    batch_per_gpu=4,
    warmup_iters=30,
    val_interval=50,
    checkpoint_interval=50,
    log_interval=10,
    workers=0,
)
# The fastest CPU training settings, measured (benchmarks/training_speed.py,
# book/data/training_speed_cpu.csv): bf16 autocast in channels_last, a step about 0.6x mmseg
# 1.2.2's fp32 step for both networks, against 0.85x (V2) and 0.95-0.99x (V1 R-18) in fp32;
# torch.compile did not help. They are kept where they cost no accuracy (book/data/
# cpu_precision_runs.csv, fp32 against bf16 seed by seed): V1 R-18's recipe trains so; V2's stays
# fp32, where bf16 ended lower at every seed tried. The ablation grid stays in fp32, the precision
# its committed runs (book/data/ablations_cpu*.csv) were trained in.
_CPU_SPEED = dict(amp="bf16", channels_last=True)
_GPU = dict(
    dataset="minicity",
    crop_size=(512, 1024),
    scale=(2048, 1024),
    gpus=1,
    batch_per_gpu=8,
    warmup_iters=200,
    val_interval=500,
    checkpoint_interval=500,
    log_interval=50,
    workers=4,
    amp="fp16",
)
_SMOKE = dict(
    dataset="minicity",
    crop_size=(64, 64),
    scale=(128, 64),
    gpus=1,
    batch_per_gpu=2,
    iters=4,
    warmup_iters=2,
    val_interval=2,
    checkpoint_interval=2,
    log_interval=1,
    workers=0,
    ohem_min_kept=100,
)
_V2 = dict(model="bisenetv2", aux_weights=V2_AUX)
_V1 = dict(model="bisenetv1-r18", aux_weights=V1_AUX)
# The ablation grid (bisenet.ablation): every variant changes only the model options, the
# booster and the loss of these. OHEM's min_kept keeps the same share of a batch's pixels as
# mmseg's 10,000 per 1024x1024 image (0.95 %).
_ABLATION_CPU_ITERS = 150


_GPU_RECIPES = {
    "bisenetv2": Recipe("bisenetv2-gpu", **_V2, lr=0.05, iters=4000, **_GPU),
    "bisenetv1-r18": Recipe("bisenetv1-r18-gpu", **_V1, lr=0.025, iters=4000, **_GPU),
}
_GPU_ABLATION = Recipe(
    "bisenetv2-ablation-gpu", **_V2, lr=0.05, iters=4000, **{**_GPU, "keep_checkpoints": 1}, ohem_min_kept=40_000
)
# gpu-dryrun: the gpu recipes with the smoke profile's sizes (everything else, amp fp16 included, kept)
_DRYRUN_SIZES = dict(
    crop_size=_SMOKE["crop_size"],
    scale=_SMOKE["scale"],
    batch_per_gpu=_SMOKE["batch_per_gpu"],
    iters=_SMOKE["iters"],
    warmup_iters=_SMOKE["warmup_iters"],
    val_interval=_SMOKE["val_interval"],
    checkpoint_interval=_SMOKE["checkpoint_interval"],
    log_interval=_SMOKE["log_interval"],
    ohem_min_kept=_SMOKE["ohem_min_kept"],
    workers=1,
)


def _dryrun(recipe: Recipe, **sizes) -> Recipe:
    return recipe.with_(
        name=f"{recipe.name}-dryrun",
        **{**_DRYRUN_SIZES, **sizes},
        notes=f"{recipe.name} at toy sizes on the CPU (BISENET_PROFILE=gpu-dryrun)",
    )


# the recipes of each profile's two models, by profile and model name
PROFILE_MODELS: dict[str, dict[str, Recipe]] = {
    "gpu": _GPU_RECIPES,
    "cpu": {
        "bisenetv2": Recipe("bisenetv2-cpu", **_V2, lr=0.05, iters=300, **_CPU),
        "bisenetv1-r18": Recipe("bisenetv1-r18-cpu", **_V1, lr=0.025, iters=500, **_CPU, **_CPU_SPEED),
    },
    "smoke": {
        "bisenetv2": Recipe("bisenetv2-smoke", **_V2, lr=0.01, **_SMOKE),
        "bisenetv1-r18": Recipe("bisenetv1-r18-smoke", **_V1, lr=0.01, **_SMOKE),
    },
    "gpu-dryrun": {model: _dryrun(recipe) for model, recipe in _GPU_RECIPES.items()},
}
# the base recipe of each profile's ablation grid (bisenet.ablation); the cpu grid's MiniCity is
# rendered at 128x256, so that decoding and augmenting a batch costs little beside training
PROFILE_ABLATIONS: dict[str, Recipe] = {
    "gpu": _GPU_ABLATION,
    "cpu": Recipe(
        "bisenetv2-ablation-cpu",
        **_V2,
        lr=0.05,
        iters=_ABLATION_CPU_ITERS,
        **{
            **_CPU,
            "crop_size": (128, 128),
            "scale": (256, 128),
            "batch_per_gpu": 8,
            "warmup_iters": 20,
            "val_interval": _ABLATION_CPU_ITERS,
            "checkpoint_interval": 50,
            "keep_checkpoints": 1,
            "log_interval": 10,
        },
        ohem_min_kept=1250,
    ),
    "smoke": Recipe(
        "bisenetv2-ablation-smoke", **_V2, lr=0.01, **{**_SMOKE, "iters": 2, "val_interval": 2, "keep_checkpoints": 1}
    ),
    "gpu-dryrun": _dryrun(_GPU_ABLATION, iters=2, val_interval=2),
}

# --- one budget for both networks on a CPU ---------------------------------------------------------
# The experiments that compare networks or their parts on this machine (V1 against V2 in chapter 17b,
# the ablation grid ``cpu-256`` of chapter 16) train every model with this one budget, so that a
# difference is the networks', not the schedules': 256x256 crops (the semantic branch's 1/32
# output is 8x8; at the 128x128 crops of the ``cpu`` grid it is 4x4, too small for the context the
# branch exists to gather), 4 images a step (mmseg's images per GPU), fp32 (the papers' precision),
# 1,200 iterations (what about 8 hours of a 2-core machine buy for 3 seeds of the grid's six rows and
# of V1), on the cpu profile's MiniCity. Only the model, its learning rate (each config's) and its
# auxiliary heads differ.
BUDGET_ITERS = 1200
_BUDGET = dict(
    **{**_CPU, "warmup_iters": 60, "val_interval": 100, "checkpoint_interval": 100, "keep_checkpoints": 1},
    iters=BUDGET_ITERS,
    ohem_min_kept=2500,
)
BUDGET_RECIPES: dict[str, Recipe] = {
    "bisenetv2": Recipe("bisenetv2-cpu-1200", **_V2, lr=0.05, **_BUDGET),
    "bisenetv1-r18": Recipe("bisenetv1-r18-cpu-1200", **_V1, lr=0.025, **_BUDGET),
}

# every profile's recipes by name (bisenet.recipes.get_recipe looks here and in the model zoo)
PROFILE_RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        *(r for models in PROFILE_MODELS.values() for r in models.values()),
        *PROFILE_ABLATIONS.values(),
        *BUDGET_RECIPES.values(),
    ]
}
