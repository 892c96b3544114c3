"""Fixtures shared by the whole test tree. Helpers reach tests only as fixtures: no test module
imports another test module or this file (``--import-mode=importlib`` makes sure of it)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

KEYS = Path(__file__).parent / "keys"


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def read_keys():
    """``read_keys(name)``: a reference state-dict layout from tests/keys, 'name (d0, d1, ...)'
    per line, in state-dict order, as {key: shape}."""

    def read_keys(name: str) -> dict[str, tuple[int, ...]]:
        layout = {}
        for line in (KEYS / name).read_text().splitlines():
            key, shape = line.split(" ", 1)
            layout[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
        return layout

    return read_keys


@pytest.fixture(scope="session")
def as_coincheung(read_keys):
    """``as_coincheung(model, layout)``: the model's state dict under CoinCheung's names, the
    recorded layout ``layout`` of tests/keys giving them (its order is the package's order)."""
    from bisenet.interop import coincheung_to_bisenet

    def as_coincheung(model, layout: str) -> dict[str, torch.Tensor]:
        reference = read_keys(layout)
        _, mapped = coincheung_to_bisenet({k: torch.zeros(s) for k, s in reference.items()})
        theirs = dict(zip(mapped, reference))  # dicts keep order: mapped[i] came from reference[i]
        return {theirs[k]: v for k, v in model.state_dict().items()}

    return as_coincheung


@pytest.fixture(scope="session")
def write_png():
    """``write_png(path, array)``: the array as an 8-bit PNG, parent folders made."""

    def write_png(path: Path, array) -> None:
        from PIL import Image

        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)

    return write_png


@pytest.fixture(scope="session")
def make_cityscapes_tree(write_png):
    """``make_cityscapes_tree(root, split, n, size, seed, cities)``: a small Cityscapes-layout tree
    with random images and random valid label ids (0..33); returns the label paths."""

    def make_cityscapes_tree(
        root: Path, split: str = "train", n: int = 3, size=(64, 128), seed: int = 0, cities=("alpha", "beta")
    ) -> list[Path]:
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

    return make_cityscapes_tree


@pytest.fixture(scope="session")
def minicity(tmp_path_factory) -> Path:
    """The one small MiniCity of the tests: 6 train and 2 val images at 64x128, seed 0."""
    from bisenet.data.minicity import generate_minicity

    return generate_minicity(tmp_path_factory.mktemp("minicity"), train=6, val=2, size=(64, 128), seed=0)


@pytest.fixture(scope="session")
def city40(tmp_path_factory) -> Path:
    """40 train images at 128x256 (seed 0), shared by the MiniCity statistics tests."""
    from bisenet.data.minicity import generate_minicity

    root = tmp_path_factory.mktemp("minicity") / "city40"
    start = time.perf_counter()
    generate_minicity(root, train=40, val=0, size=(128, 256), seed=0)
    print(f"MiniCity 40 x 128x256: {40 / (time.perf_counter() - start):.1f} images/s")  # informative only
    return root


@pytest.fixture(scope="session")
def trained_like():
    """``trained_like(name, **options)``: a model whose BatchNorms hold non-trivial statistics,
    as after training (eval mode)."""
    from bisenet import build_model
    from bisenet.deploy import randomize_bn_statistics

    def trained_like(name, **options):
        torch.manual_seed(0)
        return randomize_bn_statistics(build_model(name, **options), seed=1).eval()

    return trained_like


@pytest.fixture
def v2_checkpoint(tmp_path) -> Path:
    """A BiSeNetV2 (random weights, no booster heads) saved as {"model": state_dict}."""
    from bisenet import build_model

    torch.manual_seed(0)
    model = build_model("bisenetv2", aux_heads=False)
    path = tmp_path / "v2.pth"
    torch.save({"model": model.state_dict()}, path)
    return path
