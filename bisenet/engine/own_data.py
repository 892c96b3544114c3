"""Training on your own data: a recipe derived from the model zoo's for the model, scaled to the
data, after the data checker has passed it.

``bisenet train --model M --data-root ROOT`` comes here. The derivation, field by field:

* optimiser and schedule (SGD, lr, momentum, weight decay, poly 0.9 to 1e-4) are the model-zoo
  Cityscapes recipe's of the model (:data:`ZOO_RECIPE`); the warm-up keeps its 1000 iterations,
  or a tenth of the run if that is shorter;
* augmentation: mmseg's RandomResize 0.5-2.0 around the data's own median image size (Cityscapes
  recipes resize around 2048x1024, its own size), random crops of ``crop`` (default a square of
  the image's short side, at most the zoo's 1024, rounded down to a multiple of 32), flips and
  photometric distortion;
* batch: the zoo's 4 x 4 (accumulated on fewer processes) unless ``batch`` is given (one
  process, that many images);
* length: ``iters``, or ``epochs`` passes over the training images, by default the zoo's number
  of epochs (160,000 iterations of 16 images over Cityscapes' 2975 = 860 epochs);
* classes: the dataset's, from ``classes.csv``; ``class_weights="auto"`` weights the loss by
  ENet's rule from the training set's pixel frequencies (:func:`bisenet.losses.class_weights_from_frequencies`).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict
from pathlib import Path

from bisenet.data import CAMVID_CLASSES, DataReport, FolderOptions, check, resolve_dataset_kind
from bisenet.errors import DatasetError, UsageError
from bisenet.recipes import RECIPES, Recipe

ZOO_RECIPE = {
    "bisenetv2": "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024",
    "bisenetv2-large": "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024",
    "bisenetv1-r18": "bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024",
    "bisenetv1-r50": "bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024",
    "bisenetv1-r101": "bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024",  # mmseg has no Cityscapes R-101 row
}
CITYSCAPES_TRAIN_IMAGES = 2975
OWN_DATA_KINDS = ("folder", "camvid")


def check_data(
    data_root: str | Path,
    kind: str,
    options: FolderOptions,
    splits: tuple[str, ...] = ("train", "val"),
    progress: bool = True,
) -> DataReport:
    """:func:`bisenet.data.check` of a folder or CamVid root (CamVid with its built-in class table
    and layout; ``options`` then unused)."""
    if kind == "camvid":
        return check(
            data_root,
            splits,
            FolderOptions(layout="camvid", void_values=(11,)),
            classes=CAMVID_CLASSES,
            progress=progress,
        )
    return check(data_root, splits, options, progress=progress)


def refuse_bad_data(report: DataReport) -> None:
    """Raise :class:`DatasetError` listing every error of the report (the files included)."""
    if not report.ok:
        raise DatasetError(
            f"the data at {report.root} cannot be trained on (bisenet check-data shows the full "
            f"report):\n{report.errors()}"
        )


def data_recipe(
    model: str,
    data_root: str | Path,
    *,
    data: str = "auto",
    options: FolderOptions = FolderOptions(),
    crop: tuple[int, int] | None = None,
    iters: int | None = None,
    epochs: float | None = None,
    batch: int | None = None,
    loss: str = "ce",
    class_weights: str = "none",
    init: str | Path | None = None,
    progress: bool = True,
) -> tuple[Recipe, DataReport]:
    """The recipe for ``model`` on the folder (or CamVid) dataset at ``data_root`` (see the module
    docstring) and the data checker's report; data with errors raises :class:`DatasetError`."""
    from bisenet.losses import class_weights_from_frequencies

    if model not in ZOO_RECIPE:
        raise UsageError(f"no model-zoo recipe to derive from for {model!r}; models: {', '.join(ZOO_RECIPE)}")
    kind = resolve_dataset_kind(data, data_root)
    if kind not in OWN_DATA_KINDS:
        raise UsageError(
            f"{data_root} holds {kind}: train it with --recipe NAME (bisenet recipes lists the model "
            "zoo's); --model with --data-root is for folder datasets (a classes.csv) and CamVid"
        )
    if iters is not None and epochs is not None:
        raise UsageError("give --iters or --epochs, not both")
    if class_weights not in ("auto", "none"):
        raise UsageError(f"--class-weights must be auto or none, got {class_weights!r}")
    report = check_data(data_root, kind, options, progress=progress)
    refuse_bad_data(report)
    zoo = RECIPES[ZOO_RECIPE[model]]
    height, width = report.typical_size("train")
    if crop is None:
        side = max(32, min(height, width, zoo.crop_size[0]) // 32 * 32)
        crop = (side, side)
    if min(crop) < 32:
        raise UsageError(f"--crop {crop[0]}x{crop[1]}: both sides must be at least 32 pixels")
    gpus, per_gpu = (1, batch) if batch else (zoo.gpus, zoo.batch_per_gpu)
    n_train = report.splits["train"]
    if iters is None:
        zoo_epochs = zoo.iters * zoo.global_batch / CITYSCAPES_TRAIN_IMAGES
        iters = math.ceil((epochs if epochs is not None else zoo_epochs) * n_train / (gpus * per_gpu))
    weights = None
    if class_weights == "auto":
        weights = tuple(round(w, 6) for w in class_weights_from_frequencies(report.pixels["train"], method="enet"))
    every = max(1, iters // 10)
    recipe = zoo.with_(
        name=f"{model}_{kind}_{Path(data_root).name}",
        model=model,
        dataset=kind,
        num_classes=len(report.classes),
        crop_size=tuple(crop),
        scale=(max(height, width), min(height, width)),
        eval_scale=None,
        gpus=gpus,
        batch_per_gpu=per_gpu,
        iters=iters,
        warmup_iters=min(zoo.warmup_iters, iters // 10),
        loss=loss,
        ohem_min_kept=zoo.ohem_min_kept,
        class_weights=weights,
        init=str(init) if init else "",
        data_options=asdict(options) if kind == "folder" else {},
        val_interval=every,
        checkpoint_interval=every,
        log_interval=min(zoo.log_interval, every),
        mmseg_config="",
        ssseg_config="",
        pretrained_backbone=False,
        workers=min(zoo.workers, os.cpu_count() or 1),
        notes=f"derived from {zoo.name} for {n_train} training images of median size {height}x{width}",
    )
    return recipe, report
