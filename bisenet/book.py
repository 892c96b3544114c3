"""What the book's notebooks share: the profile banner, the dataset of the profile, and trained
models cached between builds (so that the book trains each model at most once).

    from bisenet.book import banner, data_root, trained_model
    banner()                                # first output of every notebook
    model = trained_model("bisenetv2")     # trained in this profile, or loaded from the cache

Profiles (``bisenet.profiles``): ``smoke`` trains for seconds on a tiny MiniCity, ``cpu`` uses the
``*-cpu`` recipes on MiniCity 256x512 (minutes), ``gpu`` the ``*-gpu`` recipes on Cityscapes when
``CITYSCAPES_DATASET`` is set, else on MiniCity at Cityscapes' size.

The cache lives in ``BISENET_CACHE`` if set, else in ``.cache/bisenet`` of the repository the
package was installed from (``~/.cache/bisenet`` for an installed package). Delete it to retrain.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from bisenet.profiles import Profile, current_profile, describe

# MiniCity made for each profile: (train, val, (H, W))
MINICITY_SIZES = {"smoke": (8, 4, (64, 128)), "cpu": (200, 30, (256, 512)), "gpu": (400, 50, (1024, 2048))}
BOOK_MODELS = ("bisenetv2", "bisenetv1-r18")


def cache_dir() -> Path:
    if os.environ.get("BISENET_CACHE"):
        return Path(os.environ["BISENET_CACHE"]).expanduser()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo / ".cache" / "bisenet"
    return Path.home() / ".cache" / "bisenet"


def cached_minicity(train: int, val: int, size: tuple[int, int]) -> Path:
    """The root of MiniCity at ``size`` (seed 0) in the cache, generated on first use."""
    from bisenet.data.minicity import generate_minicity

    root = cache_dir() / f"minicity-{size[0]}x{size[1]}"
    return generate_minicity(root, train=train, val=val, size=size, seed=0)


def dataset_of(profile: Profile | None = None) -> tuple[str, Path]:
    """(dataset name, root) of the profile: Cityscapes in the gpu profile when
    ``CITYSCAPES_DATASET`` is set, else MiniCity (generated into the cache on first use)."""
    profile = profile or current_profile()
    if profile.name == "gpu" and os.environ.get("CITYSCAPES_DATASET"):
        return "cityscapes", Path(os.environ["CITYSCAPES_DATASET"])
    return "minicity", cached_minicity(*MINICITY_SIZES[profile.name])


def data_root(profile: Profile | None = None) -> Path:
    return dataset_of(profile)[1]


def banner() -> str:
    """Print (and return) the profile, device and data a notebook runs with."""
    name, root = dataset_of()
    what = "Cityscapes" if name == "cityscapes" else "MiniCity (synthetic; never Cityscapes results)"
    line = f"{describe()}; data: {what} at {root}"
    print(line)
    return line


def trained_model(name: str, profile: Profile | None = None) -> torch.nn.Module:
    """``name`` ("bisenetv2" or "bisenetv1-r18") trained with the profile's recipe, in eval mode
    on the profile's device. Trains once (minutes in the cpu profile) and caches the checkpoint;
    later calls, in this build or the next, load it."""
    from bisenet.checkpoint import model_from_checkpoint
    from bisenet.engine.trainer import train

    if name not in BOOK_MODELS:
        raise ValueError(f"the book trains {BOOK_MODELS}, not {name!r}")
    profile = profile or current_profile()
    dataset, root = dataset_of(profile)
    work_dir = cache_dir() / "runs" / f"{name}-{profile.name}-{dataset}"
    final = work_dir / "final.pth"
    if not final.exists():
        from bisenet.engine.checkpoints import latest_valid, save_atomic

        resume = work_dir.exists() and latest_valid(work_dir) is not None
        if work_dir.exists() and not resume:  # interrupted before its first checkpoint
            shutil.rmtree(work_dir)
        train(f"{name}-{profile.name}", data_root=root, work_dir=work_dir, resume=resume, dataset=dataset,
              device=profile.device, progress=False)
        path, state = latest_valid(work_dir)
        save_atomic({"model": state["model"], "model_name": name, "model_options": {},
                     "trained_with": state["recipe"], "iteration": state["iteration"]}, final)
    return model_from_checkpoint(final).to(profile.device)


def training_log(name: str, profile: Profile | None = None):
    """The JSON-lines log of :func:`trained_model`'s run as a DataFrame (training it if needed)."""
    from bisenet.engine.trainer import read_log

    profile = profile or current_profile()
    trained_model(name, profile)
    dataset, _ = dataset_of(profile)
    return read_log(cache_dir() / "runs" / f"{name}-{profile.name}-{dataset}" / "log.jsonl")
