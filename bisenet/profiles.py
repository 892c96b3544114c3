"""Execution profiles: how big a run the book's notebooks and the CLI make.

One :class:`Profile` record holds everything a profile decides: the device it runs on, the
recipe of each model it trains (the models the book shows trained), the MiniCity it generates,
and the scale of the paper's ablation grid (``bisenet ablate --scale <profile>``).

* ``gpu``: a CUDA device; full resolution; Cityscapes when ``CITYSCAPES_DATASET`` points at it,
  else MiniCity at Cityscapes' size.
* ``cpu``: the default without a GPU; MiniCity at reduced resolution, schedules of minutes on a
  2-core CPU.
* ``smoke``: seconds per notebook; what the tests run.
* ``gpu-dryrun``: the ``gpu`` profile rehearsed on the CPU, for CI and for checking a change
  before a GPU is at hand. It takes the code paths, committed-file names and printed text of
  ``gpu`` (``kind == "gpu"``: the gpu branches of the notebooks; the ``*-gpu`` recipes' settings,
  fp16 autocast with a gradient scaler included) and differs from it in **size** (``sizes ==
  "smoke"``: the smoke profile's images, iterations, crops, batch and timing runs; one loader
  worker instead of four; always the smoke MiniCity, never Cityscapes, whose 500 full-size val
  images no dry run can afford) and **device** (the CPU). What it makes is named as its own:
  recipes ``*-gpu-dryrun``, runs ``<cache>/runs/<model>-gpu-dryrun-minicity``, the grid
  ``ablations_gpu-dryrun.csv``. Its figures are never results; it exists so that the gpu
  branches are known to run.

A notebook asks :attr:`Profile.kind` which branch to take ("gpu", "cpu" or "smoke") and
:meth:`Profile.pick` for a size (by :attr:`Profile.sizes`), never :attr:`Profile.name`, so that
``gpu-dryrun`` executes exactly the code ``gpu`` does.

The profile in force comes from ``BISENET_PROFILE`` when set, otherwise it is auto-detected
(``gpu`` when CUDA is available, else ``cpu``). Every notebook prints :func:`banner` first.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from bisenet.cache import MiniCitySpec, cached_minicity
from bisenet.errors import UsageError
from bisenet.recipes import V1_AUX, V2_AUX, Recipe

ENV_VAR = "BISENET_PROFILE"
CITYSCAPES_ENV_VAR = "CITYSCAPES_DATASET"


@dataclass(frozen=True)
class Profile:
    """Everything a profile decides.

    Args:
        name: "gpu", "cpu", "smoke" or "gpu-dryrun".
        device: "cuda" (the profile needs a CUDA device) or "cpu".
        minicity: the MiniCity the profile trains and evaluates on (generated into the cache).
        recipes: the recipe of each model the profile trains, by model name (the book's models).
        ablation: the base recipe of the ablation grid at this scale (``bisenet.ablation``).
        ablation_minicity: the grid's MiniCity.
        cityscapes: whether Cityscapes replaces MiniCity when ``CITYSCAPES_DATASET`` is set.
        kind: whose code paths, file names and text the profile follows ("gpu", "cpu" or
            "smoke"); default: ``name``.
        sizes: whose sizes :meth:`pick` returns; default: ``name``.
        costs: how long the profile's slow steps take, by step (see :meth:`cost`): "minicity"
            (generating its MiniCity), "ablation-minicity" (the grid's), "train:<model>" (training
            a model of ``recipes``), "ablation-run" (one run of the grid), "own-data" (one
            training run of chapter 19), each (seconds, what the figure rests on).
        source: where the choice of profile came from (set by :func:`current_profile`).
    """

    name: str
    device: str
    minicity: MiniCitySpec
    recipes: dict[str, Recipe]
    ablation: Recipe
    ablation_minicity: MiniCitySpec
    cityscapes: bool = False
    kind: str = ""
    sizes: str = ""
    costs: dict[str, tuple[float, str]] = dataclasses.field(default_factory=dict)
    source: str = "chosen by name"

    def __post_init__(self) -> None:
        for field in ("kind", "sizes"):
            if not getattr(self, field):
                object.__setattr__(self, field, self.name)

    def __str__(self) -> str:
        return f"profile {self.name!r} ({self.source}), device {self.device}"

    def pick(self, *, smoke, cpu, gpu):
        """The value for this profile's sizes: ``profile.pick(smoke=(64, 128), cpu=(256, 512),
        gpu=(1024, 2048))``. ``gpu-dryrun`` gets the smoke value (it differs from gpu only in size
        and device)."""
        return {"smoke": smoke, "cpu": cpu, "gpu": gpu}[self.sizes]

    def cost(self, step: str) -> str:
        """How long ``step`` (a key of :attr:`costs`) takes in this profile, with what the figure
        rests on, e.g. "about 7 min (measured: ...)"; "no estimate" for a step it has none for."""
        if step not in self.costs:
            return "no estimate"
        seconds, basis = self.costs[step]
        return f"about {format_duration(seconds)} ({basis})"

    def recipe(self, model: str) -> Recipe:
        """The recipe this profile trains ``model`` with."""
        if model not in self.recipes:
            raise UsageError(f"profile {self.name!r} trains {tuple(self.recipes)}, not {model!r}")
        return self.recipes[model]

    def all_recipes(self) -> list[Recipe]:
        return [*self.recipes.values(), self.ablation]


def format_duration(seconds: float) -> str:
    """12 s, 3 min, 1.5 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# --- the profiles -------------------------------------------------------------------------------

# "cpu": sized so that each model reaches a clearly non-trivial mIoU within about 10 minutes on a
# 2-core CPU; "gpu": minutes on one GPU; "smoke": seconds, for tests.
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

# What the slow steps cost (Profile.costs). The cpu figures are measured (a fresh clone's
# `make book` and `bisenet ablate --scale cpu`, 2-core AMD EPYC, torch 2.13.0+cpu); MiniCity is
# generated on the CPU in every profile (0.054 s an image at 256x512, 0.54 s at 1024x2048, the same
# machine). No gpu figure has been measured: those are estimates from the FLOPs and the data
# pipeline (4 loader workers decoding 2048x1024 PNGs), to be replaced by benchmarks/gpu/run.sh's.
_BUILD_MACHINE = "measured: 2-core AMD EPYC build machine, torch 2.13.0+cpu"
_GPU_GUESS = "estimate, not measured: no GPU has run it yet"
_SMOKE_COSTS = {
    "minicity": (1, _BUILD_MACHINE),
    "ablation-minicity": (1, _BUILD_MACHINE),
    "train:bisenetv2": (10, _BUILD_MACHINE),
    "own-data": (3, _BUILD_MACHINE),
    "train:bisenetv1-r18": (10, _BUILD_MACHINE),
    "ablation-run": (5, _BUILD_MACHINE),
}

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


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(
            "gpu",
            "cuda",
            MiniCitySpec(400, 50, (1024, 2048)),
            recipes=_GPU_RECIPES,
            ablation=_GPU_ABLATION,
            ablation_minicity=MiniCitySpec(400, 50, (1024, 2048)),
            cityscapes=True,
            costs={
                "minicity": (450 * 0.54, "450 images x 0.54 s, measured per image on the 2-core build machine's CPU"),
                "ablation-minicity": (
                    450 * 0.54,
                    "450 images x 0.54 s, measured per image on the 2-core build "
                    "machine's CPU (the same MiniCity: made once)",
                ),
                "train:bisenetv2": (12 * 60, _GPU_GUESS),
                "train:bisenetv1-r18": (15 * 60, _GPU_GUESS),
                "ablation-run": (12 * 60, _GPU_GUESS),
                "own-data": (4 * 60, _GPU_GUESS),
            },
        ),
        Profile(
            "cpu",
            "cpu",
            MiniCitySpec(200, 30, (256, 512)),
            recipes={
                "bisenetv2": Recipe("bisenetv2-cpu", **_V2, lr=0.05, iters=300, **_CPU),
                "bisenetv1-r18": Recipe("bisenetv1-r18-cpu", **_V1, lr=0.025, iters=500, **_CPU, **_CPU_SPEED),
            },
            # MiniCity rendered at 128x256, so that decoding and augmenting a batch costs little
            # beside training
            ablation=Recipe(
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
            ablation_minicity=MiniCitySpec(200, 30, (128, 256)),
            costs={
                "minicity": (230 * 0.054, _BUILD_MACHINE),
                "ablation-minicity": (230 * 0.054 / 4, _BUILD_MACHINE),
                "train:bisenetv2": (393, _BUILD_MACHINE),  # fp32
                "train:bisenetv1-r18": (370, _BUILD_MACHINE),  # bf16 + channels_last (fp32: 613 s)
                "ablation-run": (474, _BUILD_MACHINE),
                "own-data": (25, _BUILD_MACHINE),
            },
        ),
        Profile(
            "smoke",
            "cpu",
            MiniCitySpec(8, 4, (64, 128)),
            recipes={
                "bisenetv2": Recipe("bisenetv2-smoke", **_V2, lr=0.01, **_SMOKE),
                "bisenetv1-r18": Recipe("bisenetv1-r18-smoke", **_V1, lr=0.01, **_SMOKE),
            },
            ablation=Recipe(
                "bisenetv2-ablation-smoke",
                **_V2,
                lr=0.01,
                **{**_SMOKE, "iters": 2, "val_interval": 2, "keep_checkpoints": 1},
            ),
            ablation_minicity=MiniCitySpec(8, 4, (64, 128)),
            costs=_SMOKE_COSTS,
        ),
        Profile(
            "gpu-dryrun",
            "cpu",
            MiniCitySpec(8, 4, (64, 128)),  # the smoke MiniCity (one cached copy)
            recipes={model: _dryrun(recipe) for model, recipe in _GPU_RECIPES.items()},
            ablation=_dryrun(_GPU_ABLATION, iters=2, val_interval=2),
            ablation_minicity=MiniCitySpec(8, 4, (64, 128)),
            kind="gpu",
            sizes="smoke",
            costs={
                **_SMOKE_COSTS,
                "train:bisenetv2": (20, _BUILD_MACHINE + ", fp16 autocast on the CPU"),
                "train:bisenetv1-r18": (20, _BUILD_MACHINE + ", fp16 autocast on the CPU"),
            },
        ),
    ]
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
BUDGET_MINICITY = PROFILES["cpu"].minicity

# every profile's recipes by name (``bisenet.recipes.get_recipe`` looks here and in the model zoo)
PROFILE_RECIPES: dict[str, Recipe] = {
    r.name: r for r in [*(r for p in PROFILES.values() for r in p.all_recipes()), *BUDGET_RECIPES.values()]
}


def get_profile(name: str) -> Profile:
    """A profile by name; an unknown name raises :class:`UsageError` listing the profiles."""
    if name not in PROFILES:
        raise UsageError(f"{name!r} is not a profile; use one of {', '.join(PROFILES)}")
    return PROFILES[name]


def current_profile() -> Profile:
    """The profile in force: ``BISENET_PROFILE`` if set, else auto-detected (``gpu`` with CUDA,
    else ``cpu``). A gpu profile without a CUDA device raises :class:`UsageError`."""
    import torch

    cuda = torch.cuda.is_available()
    requested = os.environ.get(ENV_VAR, "").strip().lower()
    if not requested:
        return dataclasses.replace(PROFILES["gpu" if cuda else "cpu"], source="auto-detected")
    if requested not in PROFILES:
        raise UsageError(
            f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not a profile; use one of {', '.join(PROFILES)} "
            "or leave it unset to auto-detect"
        )
    profile = PROFILES[requested]
    if profile.device == "cuda" and not cuda:
        raise UsageError(
            f"{ENV_VAR}={requested} but torch sees no CUDA device (torch {torch.__version__}); install a "
            "CUDA build of PyTorch (environment.yml) or use BISENET_PROFILE=cpu"
        )
    return dataclasses.replace(profile, source=f"from {ENV_VAR}")


def describe(profile: Profile | None = None) -> str:
    """One line: profile, device, torch and thread count."""
    import torch

    profile = profile or current_profile()
    return f"{profile}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads"


def profile_data(profile: Profile | None = None, cache: str | Path | None = None) -> tuple[str, Path]:
    """(dataset name, root) the profile trains and evaluates on: Cityscapes when the profile
    uses it and ``CITYSCAPES_DATASET`` is set, else its MiniCity (generated into ``cache``,
    default :func:`bisenet.cache.cache_dir`, on first use)."""
    profile = profile or current_profile()
    if profile.cityscapes and os.environ.get(CITYSCAPES_ENV_VAR):
        return "cityscapes", Path(os.environ[CITYSCAPES_ENV_VAR])
    return "minicity", cached_minicity(profile.minicity, cache, cost=profile.cost("minicity"))


def ablation_data(profile: Profile, cache: str | Path | None = None) -> tuple[str, Path]:
    """(dataset name, root) of the profile's ablation grid, as :func:`profile_data`."""
    if profile.cityscapes and os.environ.get(CITYSCAPES_ENV_VAR):
        return "cityscapes", Path(os.environ[CITYSCAPES_ENV_VAR])
    return "minicity", cached_minicity(profile.ablation_minicity, cache, cost=profile.cost("ablation-minicity"))


def banner(profile: Profile | None = None, cache: str | Path | None = None, chapter: str | None = None) -> None:
    """Print the profile, device and data a notebook (or command) runs with: every notebook's
    first output, so that no figure passes for something it is not; with ``chapter`` (the
    notebook's file name without ``.ipynb``) also its measured execution time in each profile
    (:func:`bisenet.results.chapter_time_line`). Returns None: a notebook cell ending in
    ``banner()`` would display a returned value as a second copy of the line."""
    from bisenet.results import chapter_time_line

    profile = profile or current_profile()
    name, root = profile_data(profile, cache)
    what = "Cityscapes" if name == "cityscapes" else "MiniCity (synthetic; never Cityscapes results)"
    print(f"{describe(profile)}; data: {what} at {root}")
    if profile.name != profile.kind:
        print(
            f"{profile.name}: the {profile.kind} profile's code, recipes and file names at the {profile.sizes} "
            f"profile's sizes on the {profile.device.upper()}: it checks that the {profile.kind} branches run; "
            "no figure here is a result"
        )
    if profile.cityscapes and name != "cityscapes":
        print(
            f"{CITYSCAPES_ENV_VAR} is not set, so this profile runs on {profile.minicity}, not on Cityscapes: "
            f"set {CITYSCAPES_ENV_VAR}=/path/to/cityscapes (the folder holding leftImg8bit/ and gtFine/) "
            "to train and evaluate on Cityscapes"
        )
    if chapter is not None:
        print(chapter_time_line(chapter))
