"""Fixtures of the engine's tests."""

from __future__ import annotations

import pytest
from torch import nn


class PixelModel(nn.Module):
    """A per-pixel classifier: sliding windows and flips cannot change its output."""

    def __init__(self, num_classes: int = 19) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.conv = nn.Conv2d(3, num_classes, 1)

    def forward(self, x):
        return self.conv(x)


@pytest.fixture(scope="session")
def pixel_model():
    """The class of a per-pixel classifier, ``pixel_model(num_classes=19)``: sliding windows,
    flips and rescaling cannot change what it predicts for a pixel."""
    return PixelModel


@pytest.fixture
def val_tree(tmp_path, make_cityscapes_tree):
    """A Cityscapes-layout val split of 3 random 64x128 images, in tmp_path."""
    make_cityscapes_tree(tmp_path, "val", n=3, size=(64, 128))
    return tmp_path
