"""Transform invariants: alignment, nearest labels, ignore survives, cat_max_ratio, padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bisenet.data.transforms import (
    MEAN,
    Compose,
    Normalize,
    Pad,
    PhotoMetricDistortion,
    RandomCrop,
    RandomFlip,
    RandomResize,
    eval_pipeline,
    rescale_size,
    resize_label,
    train_pipeline,
)

PALETTE = np.array([[200, 0, 0], [0, 200, 0], [0, 0, 200], [200, 200, 0]], dtype=np.uint8)


def blocky_sample(seed=0, size=(120, 240)):
    """Labels in 20x20 blocks (one block ignore), image = the label's colour."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 4, (size[0] // 20, size[1] // 20))
    label = np.kron(blocks, np.ones((20, 20), dtype=np.int64)).astype(np.uint8)
    image = PALETTE[label]
    label[:20, :20] = 255
    return image, label


@pytest.mark.parametrize("seed", range(8))
def test_image_and_label_stay_aligned_through_resize_crop_flip(seed):
    image, label = blocky_sample()
    pipeline = Compose([RandomResize((240, 120), (0.5, 2.0)), RandomCrop((64, 96), 0.75), RandomFlip(0.5)])
    img, lab = pipeline(image, label, np.random.default_rng(seed))
    assert img.shape[:2] == lab.shape
    valid = lab != 255
    matches = (img[valid] == PALETTE[lab[valid]]).all(axis=1)
    assert matches.mean() > 0.85  # only block borders blur under bilinear resizing


def test_labels_use_nearest_and_ignore_survives():
    image, label = blocky_sample()
    for seed in range(10):
        _, lab = RandomResize((240, 120), (0.3, 3.0))(image, label, np.random.default_rng(seed))
        assert set(np.unique(lab)) <= set(np.unique(label))
        assert 255 in lab
    assert np.array_equal(resize_label(label, (240, 480))[::2, ::2], label)


def test_rescale_keeps_the_aspect_ratio_like_mmcv():
    assert rescale_size((1024, 2048), (2048, 1024)) == (1024, 2048)
    assert rescale_size((1024, 2048), (1024, 512)) == (512, 1024)
    assert rescale_size((480, 640), (2048, 512)) == (512, 683)


def test_cat_max_ratio_is_respected():
    label = np.zeros((50, 200), np.uint8)
    label[:, 100:] = 1
    image = np.zeros((50, 200, 3), np.uint8)

    def max_ratio(lab):
        counts = np.bincount(lab.ravel(), minlength=2)
        return counts.max() / counts.sum()

    with_ratio = [max_ratio(RandomCrop((50, 100), 0.75)(image, label, np.random.default_rng(s))[1]) for s in range(50)]
    without = [max_ratio(RandomCrop((50, 100), 1.0)(image, label, np.random.default_rng(s))[1]) for s in range(50)]
    assert sum(r >= 0.75 for r in with_ratio) <= 2  # 10 redraws make a failure very rare
    assert sum(r >= 0.75 for r in without) > 15


def test_crop_larger_than_image_keeps_it_and_pad_fills_with_ignore():
    image, label = blocky_sample(size=(40, 60))
    img, lab = RandomCrop((64, 96))(image, label, np.random.default_rng(0))
    assert img.shape[:2] == (40, 60)
    x, y = Pad((64, 96))(*Normalize()(img, lab))
    assert x.shape == (3, 64, 96) and y.shape == (64, 96)
    assert (y[40:] == 255).all() and (y[:, 60:] == 255).all() and (x[:, 40:] == 0).all()


def test_photometric_distortion_changes_only_the_image_and_is_seeded():
    image, label = blocky_sample()
    pmd = PhotoMetricDistortion()
    outs = [pmd(image, label, np.random.default_rng(s)) for s in range(6)]
    assert all(o[1] is label for o in outs)
    assert all(o[0].dtype == np.uint8 and o[0].shape == image.shape for o in outs)
    assert any(not np.array_equal(o[0], image) for o in outs)
    again = pmd(image, label, np.random.default_rng(3))[0]
    assert np.array_equal(again, outs[3][0])


def test_normalize_uses_mmseg_statistics():
    image = np.full((4, 4, 3), MEAN, dtype=np.float32).round().astype(np.uint8)
    x, y = Normalize()(image, np.zeros((4, 4), np.uint8))
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.abs().max() < 0.01


def test_train_pipeline_is_deterministic_and_sized():
    image, label = blocky_sample(size=(240, 480))
    pipe = train_pipeline(crop_size=(96, 96), scale=(480, 240))
    a = pipe(image, label, np.random.default_rng(7))
    b = pipe(image, label, np.random.default_rng(7))
    assert a[0].shape == (3, 96, 96) and a[1].shape == (96, 96)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_eval_pipeline_resizes_the_image_only():
    image, label = blocky_sample(size=(120, 240))
    x, y = eval_pipeline(scale=(480, 240))(image, label, None)
    assert x.shape == (3, 240, 480) and y.shape == (120, 240)
