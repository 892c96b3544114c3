"""A DataLoader factory: batching, workers and a seeded shuffle order."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset


def build_dataloader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = True,
    num_workers: int = 0,
    seed: int = 0,
    drop_last: bool | None = None,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader whose shuffle order depends only on ``seed`` (a dedicated
    ``torch.Generator``), and whose augmentation depends only on the dataset's seed, the epoch
    and the sample index (see ``bisenet.data.base``), never on the number of workers.
    ``drop_last`` defaults to ``shuffle`` (training batches are full, evaluation sees every image).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if num_workers < 0:
        raise ValueError(f"num_workers must be >= 0, got {num_workers}")
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        generator=generator,
        drop_last=shuffle if drop_last is None else drop_last,
        pin_memory=pin_memory,
        persistent_workers=False,  # workers must see the dataset's epoch (set_epoch)
    )
