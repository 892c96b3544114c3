"""Evaluate a model over a dataset: inference in one of the three modes, predictions resized to
each label's resolution, a confusion matrix on the model's device, metrics at the end."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from bisenet.atomic import atomic_write
from bisenet.data.base import SegmentationDataset
from bisenet.engine.inference import MSFLIP_RATIOS, infer
from bisenet.errors import BiSeNetError, UsageError, unwrap_worker_error
from bisenet.metrics import ConfusionMatrix, Metrics


def check_class_names(model_classes: Sequence[str] | None, dataset_classes: Sequence[str], what: str) -> None:
    """Refuse to score a model whose class names (saved with it: a checkpoint's ``classes``, an ONNX
    graph's metadata) are not the dataset's, in the same order: its IoUs would be printed under the
    wrong names. Nothing is checked when the model does not say (the model zoo's files).

    Args:
        model_classes: the model's class names, or None.
        dataset_classes: the dataset's, in train-id order.
        what: the model's file, for the message.
    """
    if not model_classes or tuple(model_classes) == tuple(dataset_classes):
        return
    ours, theirs = list(model_classes), list(dataset_classes)
    if sorted(ours) == sorted(theirs):
        moved = [name for name, other in zip(ours, theirs, strict=True) if name != other]
        raise UsageError(
            f"{what} was trained with the same classes in another order ({', '.join(moved[:4])} ... are at other "
            "places): its scores would be printed under the wrong names; put the dataset's classes.csv back in "
            "the order the model was trained with"
        )
    raise UsageError(
        f"{what} was trained on the classes ({', '.join(ours[:6])}{', ...' if len(ours) > 6 else ''}), this dataset "
        f"has ({', '.join(theirs[:6])}{', ...' if len(theirs) > 6 else ''}): another dataset's model?"
    )


def evaluate(
    model: nn.Module,
    dataset: SegmentationDataset,
    mode: str = "whole",
    crop: tuple[int, int] | None = None,
    stride: tuple[int, int] | None = None,
    ratios: tuple[float, ...] = MSFLIP_RATIOS,
    device: str | torch.device | None = None,
    num_workers: int = 0,
    prediction_dir: str | Path | None = None,
    label_ids: np.ndarray | None = None,
    progress: bool = True,
) -> Metrics:
    """mIoU and friends of ``model`` on ``dataset`` (whose transform should be
    ``eval_pipeline``: normalised image, label at its original size).

    ``prediction_dir``: also write each prediction as a PNG named after its image, with values
    mapped through ``label_ids`` (e.g. Cityscapes train id -> label id, what the official
    evaluation script reads). The model is put in eval mode and returned to its former mode.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    num_classes = model.num_classes if hasattr(model, "num_classes") else None
    if num_classes is None:
        raise UsageError("evaluate() needs a model with a num_classes attribute (a bisenet model)")
    if dataset.classes and len(dataset.classes) != num_classes:
        raise UsageError(f"the model predicts {num_classes} classes but {dataset.name} has {len(dataset.classes)}")
    was_training = model.training
    model.eval()
    matrix = ConfusionMatrix(num_classes, device=device)
    if num_workers < 0:
        raise UsageError(f"num_workers must be >= 0, got {num_workers}")
    loader = DataLoader(dataset, batch_size=1, shuffle=False, num_workers=num_workers)
    if prediction_dir is not None:
        prediction_dir = Path(prediction_dir)
        prediction_dir.mkdir(parents=True, exist_ok=True)
    bar = tqdm(loader, desc=f"eval ({mode})", disable=not progress)
    try:
        for i, (image, label) in enumerate(_batches(bar)):
            image, label = image.to(device), label.to(device)
            scores = infer(model, image, mode, crop, stride, ratios)  # (1, C, h, w)
            if scores.shape[-2:] != label.shape[-2:]:
                scores = F.interpolate(scores, size=label.shape[-2:], mode="bilinear", align_corners=False)
            prediction = scores.argmax(dim=1)  # (1, H, W)
            matrix.update(prediction, label)
            if prediction_dir is not None:
                save_prediction(prediction[0], dataset.samples[i][0], prediction_dir, label_ids)
    finally:
        bar.close()  # a message that follows starts on its own line
        model.train(was_training)
    return matrix.compute(dataset.classes or None)


def _batches(loader):
    """The loader's batches; a bad file reported by a DataLoader worker is re-raised with the
    dataset's own message (naming the file), not the worker's whole traceback."""
    try:
        yield from loader
    except BiSeNetError as e:
        raise unwrap_worker_error(e) from None


def prediction_path(image_path: Path, prediction_dir: Path) -> Path:
    """Where the prediction for ``image_path`` goes: its name without the suffix (and without
    Cityscapes' ``_leftImg8bit``), then ``_pred.png``."""
    return prediction_dir / f"{image_path.stem.removesuffix('_leftImg8bit')}_pred.png"


def save_prediction(
    prediction: torch.Tensor, image_path: Path, prediction_dir: Path, label_ids: np.ndarray | None = None
) -> Path:
    """Write a (H, W) prediction of train ids (mapped through ``label_ids`` if given) as a PNG."""
    values = prediction.to("cpu", torch.uint8).numpy()
    if label_ids is not None:
        values = label_ids[values]
    path = prediction_path(image_path, prediction_dir)
    with atomic_write(path) as f:
        Image.fromarray(values.astype(np.uint8)).save(f, format="PNG")
    return path
