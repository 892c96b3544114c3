"""Datasets (Cityscapes, COCO-Stuff, the synthetic MiniCity), transforms and loaders."""

from bisenet.data.base import IGNORE_INDEX, DatasetError, SegmentationDataset
from bisenet.data.cityscapes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, Cityscapes, MiniCity
from bisenet.data.cocostuff import COCOSTUFF_CLASSES, COCOStuff
from bisenet.data.factory import DATASETS, build_dataset
from bisenet.data.loader import build_dataloader
from bisenet.data.transforms import eval_pipeline, train_pipeline

__all__ = [
    "CITYSCAPES_CLASSES",
    "CITYSCAPES_PALETTE",
    "COCOSTUFF_CLASSES",
    "COCOStuff",
    "Cityscapes",
    "DATASETS",
    "MiniCity",
    "DatasetError",
    "IGNORE_INDEX",
    "SegmentationDataset",
    "build_dataloader",
    "build_dataset",
    "eval_pipeline",
    "train_pipeline",
]
