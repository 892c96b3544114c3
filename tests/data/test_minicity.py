"""MiniCity, the synthetic street scenes in Cityscapes' layout (bisenet.data.minicity): layout,
label ids, determinism, arguments, existing folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cityscapesscripts.helpers.labels import labels
from PIL import Image

from bisenet.data.minicity import CITIES, generate_minicity, render_scene

pytestmark = pytest.mark.filterwarnings("error")  # no numpy warning (0 / 0, bad casts) may pass silently


def cityscapes_lut() -> np.ndarray:
    """label id -> train id, built here independently from cityscapesscripts' table."""
    lut = np.full(256, 255, dtype=np.uint8)
    for lb in labels:
        if 0 <= lb.id < 256 and 0 <= lb.trainId < 255:
            lut[lb.id] = lb.trainId
    return lut


def expected_stems(split: str, count: int) -> dict[str, str]:
    """file stem -> city folder for ``count`` images of ``split``."""
    cities = CITIES[split]
    return {f"{cities[i % len(cities)]}_{i:06d}_000019": cities[i % len(cities)] for i in range(count)}


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_layout_names_and_png_formats(tmp_path):
    out = generate_minicity(tmp_path / "mc", train=3, val=2, size=(64, 128), seed=0)
    assert out == tmp_path / "mc" and isinstance(out, Path)
    for split, count in (("train", 3), ("val", 2)):
        stems = expected_stems(split, count)
        images = sorted((out / "leftImg8bit" / split).glob("*/*"))
        assert [p.name for p in images] == sorted(f"{s}_leftImg8bit.png" for s in stems)
        for stem, city in stems.items():
            image = out / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
            ids = out / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png"
            train_ids = out / "gtFine" / split / city / f"{stem}_gtFine_labelTrainIds.png"
            with Image.open(image) as im:
                assert (im.format, im.mode, im.size) == ("PNG", "RGB", (128, 64))
            for path in (ids, train_ids):
                with Image.open(path) as im:
                    assert (im.format, im.mode, im.size) == ("PNG", "L", (128, 64))
        assert len(list((out / "gtFine" / split).glob("*/*.png"))) == 2 * count
    meta = json.loads((out / "minicity.json").read_text())
    assert meta["seed"] == 0 and meta["size"] == [64, 128] and (meta["train"], meta["val"]) == (3, 2)
    assert isinstance(meta["version"], str) and meta["version"]


def test_train_ids_are_cityscapes_lookup_of_label_ids(city40):
    lut = cityscapes_lut()
    known = {lb.id for lb in labels if lb.id >= 0}
    for ids_path in sorted((city40 / "gtFine" / "train").glob("*/*_gtFine_labelIds.png"))[:10]:
        ids = np.asarray(Image.open(ids_path))
        train = np.asarray(Image.open(str(ids_path).replace("_labelIds", "_labelTrainIds")))
        assert ids.dtype == np.uint8 and train.dtype == np.uint8
        assert set(np.unique(ids).tolist()) <= known
        np.testing.assert_array_equal(train, lut[ids])


def test_render_scene_shapes_and_aspect_ratios():
    for size in [(64, 64), (100, 80), (96, 320)]:
        image, label_ids = render_scene(np.random.default_rng(1), size)
        assert image.shape == (*size, 3) and image.dtype == np.uint8
        assert label_ids.shape == size and label_ids.dtype == np.uint8
        assert len(np.unique(label_ids)) >= 3  # a real scene, not one flat colour


def test_a_seed_gives_the_same_street_at_every_size():
    small = render_scene(np.random.default_rng([5, 0, 1]), (64, 128))[1]
    large = render_scene(np.random.default_rng([5, 0, 1]), (128, 256))[1]
    assert (large[::2, ::2] == small).mean() > 0.85  # the same scene, drawn at two resolutions


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = all_files(generate_minicity(tmp_path / "a", train=2, val=1, size=(64, 128), seed=3))
    b = all_files(generate_minicity(tmp_path / "b", train=2, val=1, size=(64, 128), seed=3))
    c = all_files(generate_minicity(tmp_path / "c", train=2, val=1, size=(64, 128), seed=4))
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a if k.endswith("_leftImg8bit.png"))


def test_first_images_do_not_depend_on_the_count(tmp_path):
    small = all_files(generate_minicity(tmp_path / "small", train=2, val=1, size=(64, 128), seed=0))
    large = all_files(generate_minicity(tmp_path / "large", train=4, val=2, size=(64, 128), seed=0))
    assert small and all(large[k] == v for k, v in small.items())
    assert len(large) == 2 * len(small)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": (32, 128)}, r"\(32, 128\)"),
        ({"size": (64, 63)}, r"\(64, 63\)"),
        ({"train": -1}, "-1"),
        ({"val": -5}, "-5"),
        ({"train": 0, "val": 0}, "train=0, val=0"),
        ({"seed": -2}, "-2"),
    ],
)
def test_bad_arguments_are_named(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_minicity(tmp_path / "bad", **{"train": 1, "val": 1, "size": (64, 64), **kwargs})
    assert not (tmp_path / "bad").exists()


def test_render_scene_rejects_small_sizes():
    with pytest.raises(ValueError, match=r"\(16, 16\)"):
        render_scene(np.random.default_rng(0), (16, 16))


def test_existing_folders(tmp_path):
    root = tmp_path / "mc"
    generate_minicity(root, train=1, val=1, size=(64, 64), seed=0)
    image = next((root / "leftImg8bit").rglob("*.png"))
    stamp = image.stat().st_mtime_ns
    generate_minicity(root, train=1, val=1, size=(64, 64), seed=0)  # same arguments: kept as is
    assert image.stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="overwrite=True"):
        generate_minicity(root, train=2, val=1, size=(64, 64), seed=0)
    generate_minicity(root, train=2, val=1, size=(64, 64), seed=0, overwrite=True)
    assert len(list((root / "leftImg8bit" / "train").rglob("*.png"))) == 2

    other = tmp_path / "holiday photos"
    other.mkdir()
    (other / "beach.jpg").write_bytes(b"not a city")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="holiday photos"):
            generate_minicity(other, train=1, val=1, size=(64, 64), overwrite=overwrite)
    assert [p.name for p in other.iterdir()] == ["beach.jpg"]


def test_a_city_too_large_to_render_is_refused():
    from bisenet.errors import UsageError

    with pytest.raises(UsageError, match="larger than MiniCity renders"):
        render_scene(np.random.default_rng(0), (100_000, 100_000))
