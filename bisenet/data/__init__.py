"""Datasets (Cityscapes, COCO-Stuff, the synthetic MiniCity) and their transforms."""

from bisenet.data.base import IGNORE_INDEX, DatasetError, SegmentationDataset
from bisenet.data.cityscapes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, Cityscapes
from bisenet.data.cocostuff import COCOSTUFF_CLASSES, COCOStuff
from bisenet.data.factory import DATASETS, EVAL_SCALES, build_dataset
from bisenet.data.minicity import MiniCity
from bisenet.data.transforms import eval_pipeline, train_pipeline

__all__ = [
    "CITYSCAPES_CLASSES",
    "CITYSCAPES_PALETTE",
    "COCOSTUFF_CLASSES",
    "COCOStuff",
    "Cityscapes",
    "DATASETS",
    "EVAL_SCALES",
    "MiniCity",
    "DatasetError",
    "IGNORE_INDEX",
    "SegmentationDataset",
    "build_dataset",
    "eval_pipeline",
    "train_pipeline",
]
