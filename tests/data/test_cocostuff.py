"""COCO-Stuff 164k: layout and labels (bisenet.data.cocostuff)."""

from __future__ import annotations

import numpy as np
import pytest

from bisenet.data import COCOSTUFF_CLASSES, COCOStuff, DatasetError


def test_cocostuff_layout(tmp_path, write_png):
    rng = np.random.default_rng(0)
    for split in ("train2017", "val2017"):
        for i in range(2):
            img = tmp_path / "images" / split / f"{i:012d}.jpg"
            img.parent.mkdir(parents=True, exist_ok=True)
            __import__("PIL.Image", fromlist=["Image"]).fromarray(
                rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
            ).save(img)
            label = rng.integers(0, 171, (40, 50))
            label[0, 0] = 255
            write_png(tmp_path / "annotations" / split / f"{i:012d}_labelTrainIds.png", label)
    ds = COCOStuff(tmp_path, "val")
    assert len(ds) == 2 and len(COCOSTUFF_CLASSES) == 171 and len(ds.palette) == 171
    image, label = ds[1]
    assert image.shape == (40, 50, 3) and label.max() <= 255 and label[0, 0] == 255
    assert set(np.unique(label)) - {255} <= set(range(171))
    with pytest.raises(DatasetError, match="images/test2017"):
        COCOStuff(tmp_path, "test2017")
