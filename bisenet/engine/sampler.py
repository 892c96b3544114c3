"""Which samples each iteration trains on: an endless, seeded stream cut into micro-batches.

Reproducibility by construction: micro-batch ``m`` of iteration ``i`` always holds the same
samples with the same augmentation, whether the run was interrupted and resumed or not, and
whatever the number of processes.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class IterationSampler(Sampler):
    """Micro-batches for iterations ``start .. total - 1`` of one process.

    The data are an endless stream: position p is sample ``perm_e[p % n]`` of epoch
    ``e = p // n``, with ``perm_e`` a permutation seeded by (seed, e). Iteration i consumes the
    positions [i * B, (i + 1) * B) of the global batch B, cut into micro-batches of ``b``; this
    process takes micro-batches ``rank * accum .. rank * accum + accum - 1``. Yields lists of
    (epoch, index) keys, which the dataset turns into (sample, augmentation seed).

    Args:
        n: the number of training samples.
        micro_batch: images per micro-batch (``b``, the recipe's ``batch_per_gpu``).
        accum: micro-batches per iteration in this process (gradient accumulation).
        rank: this process's rank; world: the number of processes.
        seed: the recipe's seed.
        start, total: the first iteration and the end of the run.
    """

    def __init__(
        self, n: int, micro_batch: int, accum: int, rank: int, world: int, seed: int, start: int, total: int
    ) -> None:
        self.n, self.b, self.accum = n, micro_batch, accum
        self.rank, self.world, self.seed = rank, world, seed
        self.start, self.total = start, total
        self._perms: dict[int, list[int]] = {}

    def _perm(self, epoch: int) -> list[int]:
        if epoch not in self._perms:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perms = {epoch: torch.randperm(self.n, generator=g).tolist()}
        return self._perms[epoch]

    def __len__(self) -> int:
        return (self.total - self.start) * self.accum

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        global_batch = self.b * self.accum * self.world
        for i in range(self.start, self.total):
            for a in range(self.accum):
                first = i * global_batch + (self.rank * self.accum + a) * self.b
                keys = []
                for p in range(first, first + self.b):
                    epoch = p // self.n
                    keys.append((epoch, self._perm(epoch)[p % self.n]))
                yield keys
