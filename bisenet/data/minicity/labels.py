"""The label ids MiniCity draws, and the tables that map and colour them.

Each id comes from cityscapesscripts' label table by its name (``ROAD``, ``SKY``, ...); the 19
evaluated classes (:data:`TRAIN_CLASSES`) and the label id -> train id table are the Cityscapes
loader's (``bisenet.data.cityscapes``), and :data:`COLOUR_LUT` gives each id its Cityscapes
colour.
"""

from __future__ import annotations

import numpy as np
from cityscapesscripts.helpers.labels import labels, name2label

from bisenet.data.base import UNKNOWN
from bisenet.data.cityscapes import CITYSCAPES_CLASSES, LABEL_ID_TO_TRAIN_ID

# ----------------------------------------------------------------------------------------------
# Labels, straight from cityscapesscripts' table
# ----------------------------------------------------------------------------------------------


def _label_id(name: str) -> int:
    return name2label[name].id


EGO_VEHICLE = _label_id("ego vehicle")
STATIC = _label_id("static")
ROAD = _label_id("road")
SIDEWALK = _label_id("sidewalk")
BUILDING = _label_id("building")
WALL = _label_id("wall")
FENCE = _label_id("fence")
POLE = _label_id("pole")
TRAFFIC_LIGHT = _label_id("traffic light")
TRAFFIC_SIGN = _label_id("traffic sign")
VEGETATION = _label_id("vegetation")
TERRAIN = _label_id("terrain")
SKY = _label_id("sky")
PERSON = _label_id("person")
RIDER = _label_id("rider")
CAR = _label_id("car")
TRUCK = _label_id("truck")
BUS = _label_id("bus")
TRAIN = _label_id("train")
MOTORCYCLE = _label_id("motorcycle")
BICYCLE = _label_id("bicycle")

IGNORE = 255
#: The 19 evaluated classes, in train-id order (the Cityscapes loader's table).
TRAIN_CLASSES: tuple[str, ...] = CITYSCAPES_CLASSES


def _colour_lut() -> np.ndarray:
    """label id -> Cityscapes colour (RGB) as a (256, 3) table; unknown ids are black."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    for lb in labels:
        if 0 <= lb.id < 256:
            lut[lb.id] = lb.color
    return lut


COLOUR_LUT: np.ndarray = _colour_lut()
#: label id -> train id (0..18, 255 for everything not evaluated): the loader's table, with
#: ids outside cityscapesscripts' table (which MiniCity never draws) also mapped to 255.
TRAIN_ID_LUT: np.ndarray = np.where(LABEL_ID_TO_TRAIN_ID == UNKNOWN, IGNORE, LABEL_ID_TO_TRAIN_ID).astype(np.uint8)


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map Cityscapes label ids to train ids (0..18, 255 for everything not evaluated)."""
    return TRAIN_ID_LUT[label_ids]
