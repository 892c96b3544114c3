"""COCO-Stuff 164k (Caesar et al., CVPR 2018) in mmsegmentation's layout, 171 classes.

    <root>/images/{train2017,val2017}/<id>.jpg
    <root>/annotations/{train2017,val2017}/<id>_labelTrainIds.png

The annotations are the _labelTrainIds.png files mmsegmentation's conversion script
(tools/dataset_converters/coco_stuff164k.py) writes: values 0..170 are the classes below,
255 is "ignore"; any other value is mapped to 255, counted and warned about once. This is the
dataset of the model zoo's BiSeNetV1 COCO-Stuff 164k rows.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

from bisenet.data.base import (
    IGNORE_INDEX,
    DatasetError,
    SegmentationDataset,
    Transform,
    dataset_root,
    lookup_table,
    pair_files,
)

# The 171 classes in train-id order: the 80 COCO "things", then the 91 "stuff" classes
# (the names of mmsegmentation's COCOStuffDataset).
COCOSTUFF_CLASSES: tuple[str, ...] = (
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
    "banner",
    "blanket",
    "branch",
    "bridge",
    "building-other",
    "bush",
    "cabinet",
    "cage",
    "cardboard",
    "carpet",
    "ceiling-other",
    "ceiling-tile",
    "cloth",
    "clothes",
    "clouds",
    "counter",
    "cupboard",
    "curtain",
    "desk-stuff",
    "dirt",
    "door-stuff",
    "fence",
    "floor-marble",
    "floor-other",
    "floor-stone",
    "floor-tile",
    "floor-wood",
    "flower",
    "fog",
    "food-other",
    "fruit",
    "furniture-other",
    "grass",
    "gravel",
    "ground-other",
    "hill",
    "house",
    "leaves",
    "light",
    "mat",
    "metal",
    "mirror-stuff",
    "moss",
    "mountain",
    "mud",
    "napkin",
    "net",
    "paper",
    "pavement",
    "pillow",
    "plant-other",
    "plastic",
    "platform",
    "playingfield",
    "railing",
    "railroad",
    "river",
    "road",
    "rock",
    "roof",
    "rug",
    "salad",
    "sand",
    "sea",
    "shelf",
    "sky-other",
    "skyscraper",
    "snow",
    "solid-other",
    "stairs",
    "stone",
    "straw",
    "structural-other",
    "table",
    "tent",
    "textile-other",
    "towel",
    "tree",
    "vegetable",
    "wall-brick",
    "wall-concrete",
    "wall-other",
    "wall-panel",
    "wall-stone",
    "wall-tile",
    "wall-wood",
    "water-other",
    "waterdrops",
    "window-blind",
    "window-other",
    "wood",
)
# A palette spread around the hue circle (COCO-Stuff has no official one).
COCOSTUFF_PALETTE: tuple[tuple[int, int, int], ...] = tuple(
    tuple(
        int(255 * c)
        for c in colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.65 + 0.35 * (i % 2), 0.6 + 0.4 * ((i // 2) % 2))
    )
    for i in range(len(COCOSTUFF_CLASSES))
)
LABEL_MAP = lookup_table({**{i: i for i in range(len(COCOSTUFF_CLASSES))}, IGNORE_INDEX: IGNORE_INDEX})

IMAGE_SUFFIX = ".jpg"
LABEL_SUFFIX = "_labelTrainIds.png"
SPLITS = {"train": "train2017", "val": "val2017"}


class COCOStuff(SegmentationDataset):
    """COCO-Stuff 164k split ("train"/"train2017" or "val"/"val2017") from a local root."""

    classes = COCOSTUFF_CLASSES
    palette = COCOSTUFF_PALETTE

    def __init__(
        self, root: str | Path, split: str = "train", transform: Transform | None = None, seed: int = 0
    ) -> None:
        root = dataset_root(root)
        if not root.is_dir():
            raise DatasetError(
                f"COCO-Stuff root {root} does not exist. Prepare it as mmsegmentation does (images/ "
                "from COCO 2017, annotations/ from stuffthingmaps_trainval2017.zip converted with "
                "mmseg's tools/dataset_converters/coco_stuff164k.py) and pass its path."
            )
        folder = SPLITS.get(split, split)
        image_dir, label_dir = root / "images" / folder, root / "annotations" / folder
        for d in (image_dir, label_dir):
            if not d.is_dir():
                raise DatasetError(
                    f"{d} does not exist: expected images/{folder}/ and annotations/{folder}/ under {root}"
                )
        images = sorted(image_dir.glob(f"*{IMAGE_SUFFIX}"))
        labels = sorted(label_dir.glob(f"*{LABEL_SUFFIX}"))
        if not images and not labels:
            raise DatasetError(f"split {split!r} of {root} is empty: no {image_dir}/*{IMAGE_SUFFIX}")
        samples = pair_files(images, labels, IMAGE_SUFFIX, LABEL_SUFFIX, f"COCO-Stuff {folder} at {root}")
        self.root, self.split = root, folder
        super().__init__(samples, transform, seed, LABEL_MAP, f"COCO-Stuff {folder} at {root}")
