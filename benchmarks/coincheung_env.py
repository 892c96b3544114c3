"""Build CoinCheung/BiSeNet's own networks from a local clone of its repository, for the
side-by-side check ``tests/benchmarks/test_coincheung_equivalence.py`` (set COINCHEUNG_BISENET
to the clone; the test skips without it). The repository is plain PyTorch; its models fetch
ImageNet weights with ``torch.utils.model_zoo.load_url`` while they are built, which is replaced
here by an empty state dict (nothing is downloaded: the test gives the weights), and its V1
module's unused ``import torchvision`` is answered by placeholders (``stub_modules``).

    git clone https://github.com/CoinCheung/BiSeNet /tmp/coincheung   # checked at commit 6b4b67a8
    COINCHEUNG_BISENET=/tmp/coincheung pytest tests/benchmarks/test_coincheung_equivalence.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

import torch
from stub_modules import stub_if_missing


def build_coincheung_model(root: str | Path, name: str, num_classes: int = 19) -> torch.nn.Module:
    """CoinCheung's ``bisenetv1`` or ``bisenetv2`` (``lib.models.model_factory``) in eval mode,
    with the auxiliary heads (``aux_mode="train"`` builds them; the forward of eval mode is
    taken by setting ``aux_mode`` to "eval" afterwards, as his ``tools/evaluate.py`` builds it)."""
    stub_if_missing("torchvision")
    root = str(Path(root).resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    from lib.models import model_factory

    with mock.patch("torch.utils.model_zoo.load_url", lambda *args, **kwargs: {}):
        model = model_factory[name](num_classes, aux_mode="train")
    model.aux_mode = "eval"
    return model.eval()
