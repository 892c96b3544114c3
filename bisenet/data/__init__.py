"""Datasets (Cityscapes, COCO-Stuff, the synthetic MiniCity, CamVid, your own folder of images and
masks), the data checker, and the transforms."""

from bisenet.data.base import IGNORE_INDEX, DatasetError, SegmentationDataset
from bisenet.data.check import DataReport, check
from bisenet.data.cityscapes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, Cityscapes
from bisenet.data.cocostuff import COCOSTUFF_CLASSES, COCOStuff
from bisenet.data.factory import DATASETS, EVAL_SCALES, build_dataset, resolve_dataset_kind
from bisenet.data.folder import CAMVID_CLASSES, CamVid, ClassTable, FolderDataset, FolderOptions, read_classes
from bisenet.data.minicity import MiniCity
from bisenet.data.transforms import eval_pipeline, train_pipeline

__all__ = [
    "CAMVID_CLASSES",
    "CamVid",
    "ClassTable",
    "DataReport",
    "FolderDataset",
    "FolderOptions",
    "check",
    "read_classes",
    "resolve_dataset_kind",
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
