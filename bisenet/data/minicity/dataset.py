"""The MiniCity dataset: a generated MiniCity read through the Cityscapes loader."""

from __future__ import annotations

from pathlib import Path

from bisenet.data.base import DatasetError, Transform
from bisenet.data.cityscapes import Cityscapes


class MiniCity(Cityscapes):
    """MiniCity, the synthetic city of ``bisenet.data.minicity``, read through the Cityscapes
    loader (same layout, same label ids). ``root`` is required: no environment variable."""

    def __init__(
        self, root: str | Path, split: str = "train", transform: Transform | None = None, seed: int = 0
    ) -> None:
        if root is None or not Path(root).expanduser().is_dir():
            raise DatasetError(
                f"MiniCity root {root} does not exist; generate it first: "
                f"`bisenet minicity --out {root or 'data/minicity'}` "
                "(or bisenet.data.minicity.generate_minicity)"
            )
        super().__init__(root, split, transform, seed)
