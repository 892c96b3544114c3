"""The profile's trained models: each model a profile trains (``Profile.recipes``; the book shows
BiSeNet V2 and V1 R-18 trained) is trained once with the profile's recipe on the profile's data and
kept in the cache, so that every later call (in this build of the book or the next) loads it.

    from bisenet.book.trained import trained_model, training_log
    model = trained_model("bisenetv2")      # trained in the current profile, or loaded
    log = training_log("bisenetv2")         # its log.jsonl as a DataFrame

``bisenet book-cache`` trains them all before the book is built. The run of model M in profile P
on dataset D lives in ``<cache>/runs/M-P-D/``, its final weights in ``final.pth`` there; the cache
is ``BISENET_CACHE`` or ``~/.cache/bisenet`` (:mod:`bisenet.cache`), or the ``cache`` argument.
Delete the folder to retrain; a run whose recipe is no longer the profile's (the package changed
it) is moved to ``M-P-D.previous-recipe/`` and trained again.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from torch import nn

from bisenet.atomic import exclusive_lock
from bisenet.cache import cache_dir
from bisenet.checkpoint import Checkpoint, latest_valid, model_from_checkpoint, save_checkpoint
from bisenet.errors import CheckpointError
from bisenet.profiles import Profile, current_profile, profile_data
from bisenet.recipes import Recipe

FINAL = "final.pth"


def run_dir(model: str, profile: Profile | None = None, cache: str | Path | None = None) -> Path:
    """The folder of the cached training run of ``model`` in ``profile`` (default: the current one)."""
    profile = profile or current_profile()
    profile.recipe(model)  # refuses a model the profile does not train
    dataset, _ = profile_data(profile, cache)
    return cache_dir(cache) / "runs" / f"{model}-{profile.name}-{dataset}"


def stale_run(work_dir: Path, recipe: Recipe) -> list[str]:
    """How the recipe of the run in ``work_dir`` (its ``run.json``) differs from ``recipe``, e.g.
    ``["amp None -> 'bf16'"]`` after the profile's recipe changed; [] when it is the same (or the
    folder has no ``run.json``: a run from before it was written is taken as it is)."""
    from bisenet.engine.run_log import read_run_info
    from bisenet.engine.runs import recipe_changes

    saved = (read_run_info(work_dir) or {}).get("recipe")
    return recipe_changes(saved, recipe) if saved else []


def train_cached(model: str, profile: Profile | None = None, cache: str | Path | None = None) -> Path:
    """Train ``model`` with the profile's recipe unless its final checkpoint is cached; return
    that checkpoint's path. A run interrupted after a checkpoint resumes; one interrupted before
    its first checkpoint starts again. Processes that ask at the same time take turns: the first
    trains, the others wait and load its result."""
    from bisenet.engine.trainer import train

    profile = profile or current_profile()
    dataset, root = profile_data(profile, cache)
    work_dir = run_dir(model, profile, cache)
    final = work_dir / FINAL
    recipe = profile.recipe(model).with_(dataset=dataset)
    if final.exists() and not stale_run(work_dir, recipe):
        return final
    with exclusive_lock(work_dir.with_name(f".{work_dir.name}.lock")):
        changes = stale_run(work_dir, recipe)  # [] also when another process trained it while this one waited
        if final.exists() and not changes:
            return final
        if changes:  # a run of an earlier version of the profile's recipe: kept aside, trained again
            old = work_dir.with_name(f"{work_dir.name}.previous-recipe")
            shutil.rmtree(old, ignore_errors=True)
            work_dir.rename(old)
            print(
                f"{work_dir} holds a run of another recipe ({'; '.join(changes)}): moved to {old}, training again",
                flush=True,
            )
        resume = latest_valid(work_dir) is not None if work_dir.exists() else False
        print(
            f"training {model} once for profile {profile.name} ({'resuming ' if resume else ''}recipe {recipe.name}: "
            f"{recipe.iters} iterations of {recipe.global_batch} crops of {recipe.crop_size[0]}x{recipe.crop_size[1]}"
            f"{', ' + recipe.amp if recipe.amp else ''}, on {dataset}, {profile.device}) into {work_dir}: "
            f"{profile.cost('train:' + model)}; later calls load it",
            flush=True,
        )
        train(recipe, data_root=root, work_dir=work_dir, resume="auto", device=profile.device, progress=False)
        _, last = latest_valid(work_dir)
        save_checkpoint(
            Checkpoint(
                last.state_dict,
                last.model_name,
                last.model_options,
                last.recipe,
                last.iteration,
                last.metrics,
                last.provenance,
            ),
            final,
        )
    return final


def trained_model(model: str, profile: Profile | None = None, cache: str | Path | None = None) -> nn.Module:
    """``model`` ("bisenetv2" or "bisenetv1-r18") trained with the profile's recipe, in eval mode
    on the profile's device, without auxiliary heads. Trains once (minutes in the cpu profile) and
    caches the checkpoint; later calls load it."""
    profile = profile or current_profile()
    final = train_cached(model, profile, cache)
    try:
        return model_from_checkpoint(final).to(profile.device)
    except CheckpointError as e:
        raise CheckpointError(
            f"{e}. The cached model is unusable: delete {final.parent} (it is trained again on next use)"
        ) from e


def training_log(model: str, profile: Profile | None = None, cache: str | Path | None = None):
    """The JSON-lines log of :func:`trained_model`'s run as a DataFrame (training it if needed)."""
    from bisenet.engine.run_log import LOG_FILE, read_log

    final = train_cached(model, profile, cache)
    return read_log(final.parent / LOG_FILE)


def prepare_all(profile: Profile | None = None, cache: str | Path | None = None) -> dict[str, float]:
    """Train (or find) every model of the profile; seconds each took (``bisenet book-cache``)."""
    profile = profile or current_profile()
    seconds = {}
    for model in profile.recipes:
        start = time.perf_counter()
        train_cached(model, profile, cache)
        seconds[model] = time.perf_counter() - start
    return seconds
