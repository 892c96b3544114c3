"""Looking at a generated MiniCity: the pixel frequency of each class, and a grid of samples.

Both read the files as written (Cityscapes' layout), so they work on Cityscapes too. They live
here rather than in ``bisenet.data.minicity`` so that the data layer needs neither pandas nor
matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from PIL import Image

from bisenet.data.minicity import COLOUR_LUT, TRAIN_CLASSES


def class_frequency_table(root: str | Path, split: str = "train") -> pd.DataFrame:
    """Pixel frequency per train class (the 19 Cityscapes train classes), from the written
    ``*_gtFine_labelTrainIds.png`` files.

    Columns: class, train_id, pixels, fraction (of labelled, i.e. non-255, pixels), images
    (number of images where the class occurs); sorted by train_id.
    """
    folder = Path(root) / "gtFine" / split
    files = sorted(folder.glob("*/*_gtFine_labelTrainIds.png"))
    if not files:
        raise FileNotFoundError(f"no *_gtFine_labelTrainIds.png files under {folder}")
    n = len(TRAIN_CLASSES)
    pixels = np.zeros(256, dtype=np.int64)
    images = np.zeros(n, dtype=np.int64)
    for path in files:
        counts = np.bincount(np.asarray(Image.open(path)).ravel(), minlength=256)
        pixels += counts
        images += counts[:n] > 0
    labelled = pixels[:n].sum()
    return pd.DataFrame(
        {
            "class": list(TRAIN_CLASSES),
            "train_id": np.arange(n),
            "pixels": pixels[:n],
            "fraction": pixels[:n] / max(labelled, 1),
            "images": images,
        }
    )


def sample_grid(root: str | Path, split: str = "train", n: int = 4, alpha: float = 0.5) -> Figure:
    """A grid of ``n`` samples (fewer if the split has fewer): image, coloured label
    (Cityscapes palette: each label's ``color``), and the label over the image."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    folder = Path(root) / "leftImg8bit" / split
    # the first n images by sequence number (files are named <city>_<seq>_<frame>_leftImg8bit.png)
    images = sorted(folder.glob("*/*_leftImg8bit.png"), key=lambda p: (p.name.split("_")[-3], p.name))[:n]
    if not images:
        raise FileNotFoundError(f"no *_leftImg8bit.png files under {folder}")
    rows = len(images)
    first = np.asarray(Image.open(images[0]))
    aspect = first.shape[0] / first.shape[1]
    fig = Figure(figsize=(12, rows * 4 * aspect + 0.4), layout="constrained")
    axes = fig.subplots(rows, 3, squeeze=False)
    for row, image_path in enumerate(images):
        city = image_path.parent.name
        stem = image_path.name[: -len("_leftImg8bit.png")]
        ids_path = Path(root) / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png"
        image = np.asarray(Image.open(image_path).convert("RGB"))
        colour = COLOUR_LUT[np.asarray(Image.open(ids_path))]
        overlay = ((1 - alpha) * image + alpha * colour).astype(np.uint8)
        for ax, picture, title in zip(axes[row], (image, colour, overlay), ("image", "labels", "overlay")):
            ax.imshow(picture, interpolation="nearest")
            ax.set_axis_off()
            if row == 0:
                ax.set_title(title)
        axes[row][0].text(0, -2, stem, fontsize=7, va="bottom")
    return fig
