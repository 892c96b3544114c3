"""The iteration sampler: training batches are deterministic and independent of the number of
loader workers (bisenet.engine.sampler)."""

from __future__ import annotations

import torch

from bisenet.data import Cityscapes, train_pipeline


def test_training_batches_are_deterministic_and_independent_of_workers(tmp_path, make_cityscapes_tree):
    from torch.utils.data import DataLoader

    from bisenet.engine.sampler import IterationSampler

    make_cityscapes_tree(tmp_path, "train", n=4, size=(96, 192))
    pipeline = train_pipeline(crop_size=(64, 64), scale=(192, 96))

    def batches(workers):
        ds = Cityscapes(tmp_path, "train", transform=pipeline, seed=3)
        sampler = IterationSampler(len(ds), micro_batch=2, accum=1, rank=0, world=1, seed=5, start=0, total=2)
        return [(x.clone(), y.clone()) for x, y in DataLoader(ds, batch_sampler=sampler, num_workers=workers)]

    a, b, c = batches(0), batches(0), batches(2)
    assert len(a) == 2 and a[0][0].shape == (2, 3, 64, 64) and a[0][1].dtype == torch.int64
    for (xa, ya), (xb, yb), (xc, yc) in zip(a, b, c):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        assert torch.equal(xa, xc) and torch.equal(ya, yc)
    ds = Cityscapes(tmp_path, "train", transform=pipeline, seed=3)
    first = ds[0][0]
    assert not torch.equal(first, ds[1, 0][0])  # a new epoch draws new augmentations
