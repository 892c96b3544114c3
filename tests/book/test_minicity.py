"""MiniCity's statistics and sample figure (bisenet.book.minicity), on 40 train images."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from bisenet.book.minicity import class_frequency_table, sample_grid
from bisenet.data.minicity import TRAIN_CLASSES

pytestmark = pytest.mark.filterwarnings("error")  # no numpy warning (0 / 0, bad casts) may pass silently


def test_class_coverage(city40):
    table = class_frequency_table(city40)
    present = table[table.pixels > 0]["class"].tolist()
    assert len(present) >= 15, f"only {present}"


def test_long_tailed_frequencies(city40):
    fraction = class_frequency_table(city40).set_index("class")["fraction"]
    assert fraction[["road", "building", "vegetation", "sky"]].sum() > 0.5
    assert fraction["road"] == fraction.max()
    for rare in ("rider", "motorcycle", "train"):
        assert fraction[rare] < 0.02, rare


def test_class_frequency_table_is_consistent(city40):
    table = class_frequency_table(city40, "train")
    assert list(table.columns) == ["class", "train_id", "pixels", "fraction", "images"]
    assert table["train_id"].tolist() == list(range(19))
    assert table["class"].tolist() == list(TRAIN_CLASSES)
    assert table["class"].tolist()[:3] == ["road", "sidewalk", "building"]
    assert abs(table["fraction"].sum() - 1.0) < 1e-9
    assert (table["images"] <= 40).all() and (table["images"] >= (table["pixels"] > 0)).all()
    total = 0
    for path in (city40 / "gtFine" / "train").glob("*/*_gtFine_labelTrainIds.png"):
        total += int((np.asarray(Image.open(path)) != 255).sum())
    assert table["pixels"].sum() == total


def test_sample_grid(city40):
    fig = sample_grid(city40, n=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 9
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (3, 3)
