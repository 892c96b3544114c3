from __future__ import annotations

from pathlib import Path

import pytest
import torch

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


def read_keys(name: str) -> dict[str, tuple[int, ...]]:
    """A reference state-dict layout: 'name (d0, d1, ...)' per line, in state-dict order."""
    layout = {}
    for line in (DATA / "keys" / name).read_text().splitlines():
        key, shape = line.split(" ", 1)
        layout[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
    return layout
