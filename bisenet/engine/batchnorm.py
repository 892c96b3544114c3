"""BatchNorm when a run's processes differ from the model zoo's GPUs.

* :func:`convert_sync_bn`: SyncBatchNorm in the modules a recipe's config synchronises
  (``Recipe.sync_bn_modules``: mmseg's V1 in its ResNet trunk and heads, V2 in its heads), so that
  those layers normalise over the images of every process, as the zoo's 4 GPUs do.
* :func:`per_iteration_bn_momentum`: with gradient accumulation, the running statistics decay per
  iteration as on the zoo's GPUs.
"""

from __future__ import annotations

from torch import nn


def convert_sync_bn(model: nn.Module, modules: tuple[str, ...] = ()) -> nn.Module:
    """Replace the BatchNorm layers of the named child modules (a recipe's ``sync_bn_modules``,
    e.g. ``("decode_head", "auxiliary_head")``) by SyncBatchNorm, which normalises over the images
    of every process; with no names, every BatchNorm of ``model``. Returns the model.

    Args:
        model: the network (BatchNorm layers with their running statistics and affine weights,
            which SyncBatchNorm takes over).
        modules: names of ``model``'s submodules (dotted paths allowed); () for all of it.
    """
    if not modules:
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name in modules:
        parent, _, leaf = name.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        setattr(owner, leaf, nn.SyncBatchNorm.convert_sync_batchnorm(model.get_submodule(name)))
    return model


def per_iteration_bn_momentum(model: nn.Module, accum: int) -> None:
    """Set each BatchNorm's momentum m to 1 - (1 - m) ** (1 / accum): with ``accum`` micro-batches
    per iteration (each one's forward updates the running statistics), they then decay by
    (1 - m) per iteration, as on the model zoo's GPUs (one update per iteration on each). The
    forward pass is unchanged (it normalises with the micro-batch's own statistics); only the
    running statistics, what evaluation uses, change. No-op for accum 1 or momentum None."""
    if accum <= 1:
        return
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.momentum is not None:
            module.momentum = 1 - (1 - module.momentum) ** (1 / accum)
