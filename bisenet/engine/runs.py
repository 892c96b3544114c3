"""A training run's folder and what may be trained there: where a run lives by default, which recipe
it holds, whether to continue it or start it (:func:`resume_or_start`, the rule the book's cache
and the ablation grid follow), and the checks a recipe passes before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from bisenet.checkpoint import latest_valid
from bisenet.engine.run_log import read_run_info, remove_run, write_run_info
from bisenet.errors import UsageError
from bisenet.recipes import Recipe

if TYPE_CHECKING:
    import torch

# recipe fields that only say how often to log, validate or save, how many workers load the data,
# and which modules --sync-bn would synchronise (whether it did is the run's own record, run.json):
# a resumed run may change them; any other change would make it another run
OPERATIONAL_FIELDS = (
    "workers",
    "log_interval",
    "val_interval",
    "checkpoint_interval",
    "checkpoint_minutes",
    "keep_checkpoints",
    "name",
    "notes",
    "mmseg_config",
    "ssseg_config",
    "sync_bn_modules",
)


def check_recipe(recipe: Recipe, device: torch.device, world: int, pretrained: str | Path | None, resume: bool) -> int:
    """Refuse settings that cannot train (the recipe's own values: :meth:`Recipe.check`; then what
    this run adds: the ImageNet trunk, the fine-tuning start, the processes); return the
    accumulation steps of this process."""
    recipe.check()
    if pretrained is not None and not recipe.pretrained_backbone:
        raise UsageError(
            f"--pretrained {pretrained}: recipe {recipe.name} trains its network from scratch and would ignore it; "
            "the recipes that start from an ImageNet trunk have 'in1k-pre' in their names"
        )
    if pretrained is not None and not Path(pretrained).is_file():
        raise UsageError(f"--pretrained {pretrained} does not exist (a torchvision ResNet checkpoint, .pth)")
    if recipe.init and not Path(recipe.init).is_file():
        raise UsageError(f"--init {recipe.init} does not exist (a checkpoint to fine-tune from)")
    if recipe.global_batch % (world * recipe.batch_per_gpu):
        raise UsageError(
            f"the recipe's global batch {recipe.gpus}x{recipe.batch_per_gpu} = {recipe.global_batch} is not "
            f"a multiple of {world} processes x {recipe.batch_per_gpu} images"
        )
    if recipe.pretrained_backbone and pretrained is None and not resume:
        kind = (
            "v1c (deep-stem) checkpoint (--pretrained resnet18_v1c.pth, as mmcv's open-mmlab://resnet18_v1c)"
            if recipe.model_options.get("deep_stem")
            else "torchvision-format checkpoint (--pretrained resnet18.pth)"
        )
        raise UsageError(
            f"recipe {recipe.name} starts from an ImageNet-pretrained trunk: pass the local path of a {kind}, "
            "or use a recipe that trains from scratch (without 'in1k-pre')"
        )
    return recipe.global_batch // (world * recipe.batch_per_gpu)


def recipe_changes(saved: dict, recipe: Recipe) -> list[str]:
    """The fields (other than :data:`OPERATIONAL_FIELDS`) in which ``recipe`` differs from the
    recipe a checkpoint was trained with, as "field saved -> new" strings."""
    new = recipe.to_dict()
    default = Recipe("", "", "").to_dict()  # a field an older checkpoint does not have: its default

    def plain(value):
        return list(map(plain, value)) if isinstance(value, (list, tuple)) else value

    return [
        f"{k} {plain(saved.get(k, default[k]))!r} -> {plain(v)!r}"
        for k, v in new.items()
        if k not in OPERATIONAL_FIELDS and plain(saved.get(k, default[k])) != plain(v)
    ]


def default_work_dir(recipe: Recipe) -> Path:
    """Where :func:`train` keeps a run without ``work_dir``: ``work_dirs/<recipe name>``."""
    return Path("work_dirs") / recipe.name


def recipe_of_run(work_dir: str | Path) -> Recipe | None:
    """The recipe the run in ``work_dir`` was trained with (its newest checkpoint's, else its
    ``run.json``'s), or None when the folder holds no run: what ``bisenet train --resume``
    continues with."""
    found = latest_valid(work_dir)
    saved = found[1].recipe if found else (read_run_info(Path(work_dir)) or {}).get("recipe")
    return Recipe.from_dict(saved) if saved else None


def resume_or_start(work_dir: str | Path) -> bool:
    """The rule for a run that may have been interrupted: True (resume) when ``work_dir`` holds a
    valid checkpoint; otherwise False (start), after deleting what a run stopped before its first
    checkpoint wrote there (anything else in the folder is kept: :func:`~bisenet.engine.run_log.remove_run`).

    Args:
        work_dir: the run's folder (need not exist).
    """
    work_dir = Path(work_dir)
    if not work_dir.exists():
        return False
    if latest_valid(work_dir) is not None:
        return True
    remove_run(work_dir)
    return False


def recipe_to_continue(recipe: Recipe, work_dir: str | Path) -> Recipe:
    """The recipe ``bisenet train --resume`` continues with: the one the run in ``work_dir`` was
    started with (its ``--iters``, ``--lr`` ...), or ``recipe`` when the folder holds no run. A run
    of another recipe is refused: continuing it under this name would mix two runs.

    Args:
        recipe: the recipe asked for.
        work_dir: the run's folder.
    """
    saved = recipe_of_run(work_dir)
    if saved is not None and saved.name != recipe.name:
        raise UsageError(
            f"--resume: {work_dir} holds a run of recipe {saved.name!r}, not {recipe.name!r}: "
            f"pass --recipe {saved.name} to continue it, or another --work-dir to start a new run"
        )
    return saved or recipe


def record_segment(work_dir: Path, start: int, info: dict) -> None:
    """``run.json``: the recipe, the process layout and the provenance of the run; a run resumed
    at ``start`` > 0 keeps that record and appends its own under ``"resumed"`` (every part of a
    run is on record)."""
    run = read_run_info(work_dir) if start > 0 else None
    if run is None:
        write_run_info(work_dir, info)
        return
    run.setdefault("resumed", []).append({"start_iteration": start, **info})
    write_run_info(work_dir, run)


@dataclass(frozen=True, kw_only=True)
class RecipeOverrides:
    """What ``bisenet train`` may change in a recipe; None keeps the recipe's value.

    Args:
        iters, gpus, batch_per_gpu, lr, workers, seed, loss, bn_momentum_per_iteration,
            channels_last: the recipe's fields of those names.
        amp: "fp16", "bf16", or "none" (fp32, e.g. for a cpu-profile recipe, which trains in bf16).
    """

    iters: int | None = None
    amp: str | None = None
    gpus: int | None = None
    batch_per_gpu: int | None = None
    lr: float | None = None
    workers: int | None = None
    seed: int | None = None
    loss: str | None = None
    bn_momentum_per_iteration: bool | None = None
    channels_last: bool | None = None

    def apply(self, recipe: Recipe) -> Recipe:
        """``recipe`` with the values given (checked later by :meth:`Recipe.check`)."""
        changes = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if changes.get("amp") == "none":
            changes["amp"] = None
        return recipe.with_(**changes)


def recipe_to_run(recipe: Recipe, overrides: RecipeOverrides, *, resume: bool, work_dir: str | Path | None) -> Recipe:
    """What ``bisenet train`` trains: with ``resume``, the recipe the run in ``work_dir`` was started
    with (:func:`recipe_to_continue`), else ``recipe``; then the overrides given (on a resumed run
    they still count, and a change that makes it another run is refused when it resumes).

    Args:
        recipe: the recipe asked for (a named one, or one derived for your own data).
        overrides: the command's changes (:class:`RecipeOverrides`).
        resume: continue the run in ``work_dir``.
        work_dir: the run's folder (default: :func:`default_work_dir`).
    """
    if resume:
        recipe = recipe_to_continue(recipe, work_dir or default_work_dir(recipe))
    return overrides.apply(recipe)
