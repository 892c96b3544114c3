"""Execution profiles: how big a run the book's notebooks and the CLI make.

One :class:`Profile` record holds everything a profile decides: the device it runs on, the
recipe of each model it trains (the models the book shows trained), the MiniCity it generates,
and the scale of the paper's ablation grid (``bisenet ablate --scale <profile>``).

* ``gpu``: a CUDA device; full resolution; Cityscapes when ``CITYSCAPES_DATASET`` points at it,
  else MiniCity at Cityscapes' size.
* ``cpu``: the default without a GPU; MiniCity at reduced resolution, schedules of minutes on a
  2-core CPU.
* ``smoke``: seconds per notebook; what the tests run.

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
        name: "gpu", "cpu" or "smoke".
        device: "cuda" (the profile needs a CUDA device) or "cpu".
        minicity: the MiniCity the profile trains and evaluates on (generated into the cache).
        recipes: the recipe of each model the profile trains, by model name (the book's models).
        ablation: the base recipe of the ablation grid at this scale (``bisenet.ablation``).
        ablation_minicity: the grid's MiniCity.
        cityscapes: whether Cityscapes replaces MiniCity when ``CITYSCAPES_DATASET`` is set.
        source: where the choice of profile came from (set by :func:`current_profile`).
    """

    name: str
    device: str
    minicity: MiniCitySpec
    recipes: dict[str, Recipe]
    ablation: Recipe
    ablation_minicity: MiniCitySpec
    cityscapes: bool = False
    source: str = "chosen by name"

    def __str__(self) -> str:
        return f"profile {self.name!r} ({self.source}), device {self.device}"

    def recipe(self, model: str) -> Recipe:
        """The recipe this profile trains ``model`` with."""
        if model not in self.recipes:
            raise UsageError(f"profile {self.name!r} trains {tuple(self.recipes)}, not {model!r}")
        return self.recipes[model]

    def all_recipes(self) -> list[Recipe]:
        return [*self.recipes.values(), self.ablation]


# --- the three profiles -------------------------------------------------------------------------

# "cpu": sized so that each model reaches a clearly non-trivial mIoU within about 10 minutes on a
# 2-core CPU; "gpu": minutes on one GPU; "smoke": seconds, for tests.
_CPU = dict(dataset="minicity", crop_size=(256, 256), scale=(512, 256), gpus=1, batch_per_gpu=4,
            warmup_iters=30, val_interval=50, checkpoint_interval=50, log_interval=10, workers=0)
_GPU = dict(dataset="minicity", crop_size=(512, 1024), scale=(2048, 1024), gpus=1, batch_per_gpu=8,
            warmup_iters=200, val_interval=500, checkpoint_interval=500, log_interval=50, workers=4, amp="fp16")
_SMOKE = dict(dataset="minicity", crop_size=(64, 64), scale=(128, 64), gpus=1, batch_per_gpu=2, iters=4,
              warmup_iters=2, val_interval=2, checkpoint_interval=2, log_interval=1, workers=0,
              ohem_min_kept=100)
_V2 = dict(model="bisenetv2", aux_weights=V2_AUX)
_V1 = dict(model="bisenetv1-r18", aux_weights=V1_AUX)
# The ablation grid (bisenet.ablation): every variant changes only the model options, the
# booster and the loss of these. OHEM's min_kept keeps the same share of a batch's pixels as
# mmseg's 10,000 per 1024x1024 image (0.95 %).
_ABLATION_CPU_ITERS = 150

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile(
            "gpu", "cuda", MiniCitySpec(400, 50, (1024, 2048)),
            recipes={
                "bisenetv2": Recipe("bisenetv2-gpu", **_V2, lr=0.05, iters=4000, **_GPU),
                "bisenetv1-r18": Recipe("bisenetv1-r18-gpu", **_V1, lr=0.025, iters=4000, **_GPU),
            },
            ablation=Recipe("bisenetv2-ablation-gpu", **_V2, lr=0.05, iters=4000, **{**_GPU, "keep_checkpoints": 1},
                            ohem_min_kept=40_000),
            ablation_minicity=MiniCitySpec(400, 50, (1024, 2048)),
            cityscapes=True,
        ),
        Profile(
            "cpu", "cpu", MiniCitySpec(200, 30, (256, 512)),
            recipes={
                "bisenetv2": Recipe("bisenetv2-cpu", **_V2, lr=0.05, iters=300, **_CPU),
                "bisenetv1-r18": Recipe("bisenetv1-r18-cpu", **_V1, lr=0.025, iters=500, **_CPU),
            },
            # MiniCity rendered at 128x256, so that decoding and augmenting a batch costs little
            # beside training
            ablation=Recipe("bisenetv2-ablation-cpu", **_V2, lr=0.05, iters=_ABLATION_CPU_ITERS,
                            **{**_CPU, "crop_size": (128, 128), "scale": (256, 128), "batch_per_gpu": 8,
                               "warmup_iters": 20, "val_interval": _ABLATION_CPU_ITERS, "checkpoint_interval": 50,
                               "keep_checkpoints": 1, "log_interval": 10},
                            ohem_min_kept=1250),
            ablation_minicity=MiniCitySpec(200, 30, (128, 256)),
        ),
        Profile(
            "smoke", "cpu", MiniCitySpec(8, 4, (64, 128)),
            recipes={
                "bisenetv2": Recipe("bisenetv2-smoke", **_V2, lr=0.01, **_SMOKE),
                "bisenetv1-r18": Recipe("bisenetv1-r18-smoke", **_V1, lr=0.01, **_SMOKE),
            },
            ablation=Recipe("bisenetv2-ablation-smoke", **_V2, lr=0.01,
                            **{**_SMOKE, "iters": 2, "val_interval": 2, "keep_checkpoints": 1}),
            ablation_minicity=MiniCitySpec(8, 4, (64, 128)),
        ),
    ]
}

# every profile's recipes by name (``bisenet.recipes.get_recipe`` looks here and in the model zoo)
PROFILE_RECIPES: dict[str, Recipe] = {r.name: r for p in PROFILES.values() for r in p.all_recipes()}


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
    return "minicity", cached_minicity(profile.minicity, cache)


def ablation_data(profile: Profile, cache: str | Path | None = None) -> tuple[str, Path]:
    """(dataset name, root) of the profile's ablation grid, as :func:`profile_data`."""
    if profile.cityscapes and os.environ.get(CITYSCAPES_ENV_VAR):
        return "cityscapes", Path(os.environ[CITYSCAPES_ENV_VAR])
    return "minicity", cached_minicity(profile.ablation_minicity, cache)


def banner(profile: Profile | None = None, cache: str | Path | None = None) -> None:
    """Print the profile, device and data a notebook (or command) runs with: every notebook's
    first output, so that no figure passes for something it is not."""
    profile = profile or current_profile()
    name, root = profile_data(profile, cache)
    what = "Cityscapes" if name == "cityscapes" else "MiniCity (synthetic; never Cityscapes results)"
    print(f"{describe(profile)}; data: {what} at {root}")
