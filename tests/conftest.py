from __future__ import annotations

from pathlib import Path

import pytest
import torch

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


def read_keys(name: str) -> dict[str, tuple[int, ...]]:
    """A reference state-dict layout: 'name (d0, d1, ...)' per line, in state-dict order."""
    layout = {}
    for line in (DATA / "keys" / name).read_text().splitlines():
        key, shape = line.split(" ", 1)
        layout[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
    return layout


def write_png(path: Path, array) -> None:
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def make_cityscapes_tree(root: Path, split: str = "train", n: int = 3, size=(64, 128), seed: int = 0,
                         cities=("alpha", "beta")) -> list[Path]:
    """A small Cityscapes-layout tree with random images and random valid label ids (0..33)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    written = []
    for i in range(n):
        city = cities[i % len(cities)]
        stem = f"{city}_{i:06d}_000019"
        image = rng.integers(0, 256, (*size, 3))
        label = rng.integers(0, 34, size)
        write_png(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", image)
        write_png(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", label)
        written.append(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png")
    return written
