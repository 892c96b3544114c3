"""Several processes under torchrun: the process group and this process's place in it."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_distributed() -> tuple[int, int]:
    """(rank, world size), initialising the process group (NCCL with CUDA, else gloo) when
    torchrun started several processes; (0, 1) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def barrier(world: int) -> None:
    """Wait for every process (a no-op in a single process)."""
    if world > 1:
        dist.barrier()
