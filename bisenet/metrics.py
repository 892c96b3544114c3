"""Segmentation metrics from a confusion matrix, as mmsegmentation's ``IoUMetric`` computes them.

For class c with TP, FP, FN pixels (pixels whose ground truth is "ignore", 255, are skipped):

    IoU_c = TP / (TP + FP + FN)        Acc_c = TP / (TP + FN)
    mIoU  = mean of IoU_c              mAcc  = mean of Acc_c
    aAcc  = sum TP / number of labelled pixels

A class absent from both the predictions and the ground truth has 0 / 0: its IoU is NaN and it is
left out of the mean (mmseg and cityscapesscripts both do this), so an mIoU over a small split
may average fewer than all classes; ``Metrics.classes_evaluated`` says how many. A class that is
predicted but absent from the ground truth has IoU 0 and counts. Acc_c is NaN when the class is
absent from the ground truth.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch

from bisenet.data.base import IGNORE_INDEX


class ConfusionMatrix:
    """Accumulates a (num_classes, num_classes) int64 matrix, rows = ground truth, columns =
    prediction, on the device of the tensors it is given."""

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX, device: str | torch.device = "cpu") -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)

    def reset(self) -> None:
        self.matrix.zero_()

    def update(self, prediction: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch: ``prediction`` and ``target`` integer tensors of the same shape."""
        if prediction.shape != target.shape:
            raise ValueError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ in shape")
        valid = target != self.ignore_index
        target, prediction = target[valid].long(), prediction[valid].long()
        if target.numel() and (target.min() < 0 or target.max() >= self.num_classes):
            raise ValueError(
                f"target values must be in 0..{self.num_classes - 1} or {self.ignore_index}; "
                f"got {target.min().item()}..{target.max().item()}"
            )
        if prediction.numel() and (prediction.min() < 0 or prediction.max() >= self.num_classes):
            raise ValueError(f"prediction values must be in 0..{self.num_classes - 1}")
        index = target * self.num_classes + prediction
        counts = torch.bincount(index, minlength=self.num_classes**2)
        self.matrix += counts.view(self.num_classes, self.num_classes).to(self.matrix.device)

    def compute(self, class_names: Sequence[str] | None = None) -> Metrics:
        m = self.matrix.double().cpu()
        tp = m.diag()
        gt = m.sum(dim=1)  # TP + FN
        pred = m.sum(dim=0)  # TP + FP
        union = gt + pred - tp
        iou = tp / union  # 0 / 0 -> NaN for classes absent from both
        acc = tp / gt
        names = list(class_names) if class_names is not None else [str(i) for i in range(self.num_classes)]
        if len(names) != self.num_classes:
            raise ValueError(f"{len(names)} class names for {self.num_classes} classes")
        return Metrics(
            aAcc=_nan_to_none(tp.sum().item() / gt.sum().item()) if gt.sum() > 0 else None,
            mIoU=_nanmean(iou),
            mAcc=_nanmean(acc),
            iou=dict(zip(names, (_nan_to_none(v) for v in iou.tolist()))),
            acc=dict(zip(names, (_nan_to_none(v) for v in acc.tolist()))),
            pixels=dict(zip(names, (int(v) for v in gt.tolist()))),
            classes_evaluated=int((~torch.isnan(iou)).sum()),
        )


def _nanmean(values: torch.Tensor) -> float | None:
    valid = values[~torch.isnan(values)]
    return valid.mean().item() if valid.numel() else None


def _nan_to_none(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass
class Metrics:
    """mIoU, mAcc, aAcc (fractions in 0..1; None when undefined) and per-class IoU and Acc
    (None, shown as NaN in the DataFrame, for classes without pixels)."""

    aAcc: float | None
    mIoU: float | None
    mAcc: float | None
    iou: dict[str, float | None] = field(default_factory=dict)
    acc: dict[str, float | None] = field(default_factory=dict)
    pixels: dict[str, int] = field(default_factory=dict)  # ground-truth pixels per class
    classes_evaluated: int = 0

    def to_dataframe(self) -> pd.DataFrame:
        """One row per class: IoU, Acc (in %), ground-truth pixels."""
        frame = pd.DataFrame(
            {
                "IoU": [float("nan") if v is None else 100 * v for v in self.iou.values()],
                "Acc": [float("nan") if v is None else 100 * v for v in self.acc.values()],
                "pixels": list(self.pixels.values()),
            },
            index=pd.Index(list(self.iou), name="class"),
        )
        return frame

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2)

    def summary(self) -> str:
        def pct(v: float | None) -> str:
            return "n/a" if v is None else f"{100 * v:.2f}"

        return (
            f"mIoU {pct(self.mIoU)}  mAcc {pct(self.mAcc)}  aAcc {pct(self.aAcc)}  "
            f"({self.classes_evaluated} of {len(self.iou)} classes present)"
        )
