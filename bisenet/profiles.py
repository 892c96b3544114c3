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
(``gpu`` when CUDA is available, else ``cpu``). Every notebook prints
:func:`bisenet.book.chapter.banner` first. The profiles' recipes are in :mod:`bisenet.recipes.profiles`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from bisenet.cache import MiniCitySpec, cached_minicity
from bisenet.errors import UsageError
from bisenet.recipes import Recipe
from bisenet.recipes.profiles import PROFILE_ABLATIONS, PROFILE_MODELS

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


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(
            "gpu",
            "cuda",
            MiniCitySpec(400, 50, (1024, 2048)),
            recipes=PROFILE_MODELS["gpu"],
            ablation=PROFILE_ABLATIONS["gpu"],
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
            recipes=PROFILE_MODELS["cpu"],
            ablation=PROFILE_ABLATIONS["cpu"],
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
            recipes=PROFILE_MODELS["smoke"],
            ablation=PROFILE_ABLATIONS["smoke"],
            ablation_minicity=MiniCitySpec(8, 4, (64, 128)),
            costs=_SMOKE_COSTS,
        ),
        Profile(
            "gpu-dryrun",
            "cpu",
            MiniCitySpec(8, 4, (64, 128)),  # the smoke MiniCity (one cached copy)
            recipes=PROFILE_MODELS["gpu-dryrun"],
            ablation=PROFILE_ABLATIONS["gpu-dryrun"],
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
# the MiniCity of the shared CPU budget (bisenet.recipes.recipes.BUDGET_RECIPES): the cpu profile's
BUDGET_MINICITY = PROFILES["cpu"].minicity


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
