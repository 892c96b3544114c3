"""Cityscapes: layout parsing, the label mapping, and every promised error (bisenet.data.cityscapes)."""

from __future__ import annotations

import numpy as np
import pytest
from cityscapesscripts.helpers.labels import labels as cs_labels

from bisenet.data import Cityscapes, DatasetError
from bisenet.data.cityscapes import CITYSCAPES_CLASSES, LABEL_ID_TO_TRAIN_ID, TRAIN_ID_TO_LABEL_ID


def test_label_table_is_cityscapesscripts():
    assert len(CITYSCAPES_CLASSES) == 19
    for lb in cs_labels:
        if lb.id < 0:
            continue
        expected = lb.trainId if 0 <= lb.trainId < 255 else 255
        assert LABEL_ID_TO_TRAIN_ID[lb.id] == expected, lb.name
    for train_id, label_id in enumerate(TRAIN_ID_TO_LABEL_ID):
        assert LABEL_ID_TO_TRAIN_ID[label_id] == train_id
    assert CITYSCAPES_CLASSES[0] == "road" and CITYSCAPES_CLASSES[-1] == "bicycle"


def test_reads_layout_and_maps_labels(tmp_path, make_cityscapes_tree):
    make_cityscapes_tree(tmp_path, "val", n=4)
    ds = Cityscapes(tmp_path, "val")
    assert len(ds) == 4
    assert [p[0].parent.name for p in ds.samples] == ["alpha", "alpha", "beta", "beta"]
    image, label = ds[0]
    assert image.shape == (64, 128, 3) and image.dtype == np.uint8
    raw = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(ds.samples[0][1]))
    assert np.array_equal(label, LABEL_ID_TO_TRAIN_ID[raw])
    assert set(np.unique(label)) <= set(range(19)) | {255}


def test_root_from_environment(tmp_path, monkeypatch, make_cityscapes_tree):
    make_cityscapes_tree(tmp_path, "train", n=1)
    monkeypatch.setenv("CITYSCAPES_DATASET", str(tmp_path))
    assert len(Cityscapes(split="train")) == 1


def test_no_root_explains_how_to_get_data(monkeypatch):
    monkeypatch.delenv("CITYSCAPES_DATASET", raising=False)
    with pytest.raises(DatasetError, match="CITYSCAPES_DATASET is not set.*cityscapes-dataset.com.*MiniCity"):
        Cityscapes()


def test_missing_root_split_and_empty_split(tmp_path, make_cityscapes_tree):
    with pytest.raises(DatasetError, match="nowhere does not exist"):
        Cityscapes(tmp_path / "nowhere")
    make_cityscapes_tree(tmp_path, "train", n=1)
    with pytest.raises(DatasetError, match="leftImg8bit/val does not exist"):
        Cityscapes(tmp_path, "val")
    (tmp_path / "leftImg8bit" / "test" / "x").mkdir(parents=True)
    (tmp_path / "gtFine" / "test" / "x").mkdir(parents=True)
    with pytest.raises(DatasetError, match="split 'test' .* is empty"):
        Cityscapes(tmp_path, "test")


def test_image_without_label_and_label_without_image(tmp_path, make_cityscapes_tree, write_png):
    labels = make_cityscapes_tree(tmp_path, "train", n=3)
    labels[1].unlink()
    with pytest.raises(DatasetError, match="1 image\\(s\\) without a label, e.g. .*beta_000001_000019_leftImg8bit.png"):
        Cityscapes(tmp_path, "train")
    write_png(tmp_path / "gtFine/train/gamma/gamma_000009_000019_gtFine_labelIds.png", np.zeros((4, 4)))
    with pytest.raises(DatasetError, match="label\\(s\\) without an image, e.g. .*gamma_000009"):
        Cityscapes(tmp_path, "train")


def test_truncated_png_is_named(tmp_path, make_cityscapes_tree):
    make_cityscapes_tree(tmp_path, "train", n=2)
    ds = Cityscapes(tmp_path, "train")
    path = ds.samples[1][0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    ds[0]  # the intact one still loads
    with pytest.raises(DatasetError, match=f"cannot read image {path}"):
        ds[1]


def test_label_values_outside_the_table_become_ignore_with_one_warning(tmp_path, make_cityscapes_tree, write_png):
    labels = make_cityscapes_tree(tmp_path, "train", n=2)
    for p in labels:
        bad = np.full((64, 128), 7, np.uint8)  # road
        bad[:2] = 200  # not a Cityscapes label id
        write_png(p, bad)
    ds = Cityscapes(tmp_path, "train")
    with pytest.warns(UserWarning, match="label value\\(s\\) \\[200\\] outside the label table"):
        _, label = ds[0]
    assert (label[:2] == 255).all() and (label[2:] == 0).all()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds[1]  # counted, not warned again
    assert ds.unknown_label_pixels == 2 * 2 * 128


def test_size_mismatch_between_image_and_label(tmp_path, make_cityscapes_tree, write_png):
    labels = make_cityscapes_tree(tmp_path, "train", n=1)
    write_png(labels[0], np.zeros((32, 32)))
    with pytest.raises(DatasetError, match="is 128x64 but its label .* is 32x32"):
        Cityscapes(tmp_path, "train")[0]
