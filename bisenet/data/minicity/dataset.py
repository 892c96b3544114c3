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
        if root is None:
            raise DatasetError(
                "no MiniCity root given (--data-root): MiniCity lives in a folder you generate first, "
                "`bisenet minicity --out data/minicity` (or bisenet.data.minicity.generate_minicity), "
                "then --data-root data/minicity"
            )
        if not Path(root).expanduser().is_dir():
            raise DatasetError(
                f"MiniCity root {root} does not exist; generate it first: `bisenet minicity --out {root}` "
                "(or bisenet.data.minicity.generate_minicity)"
            )
        super().__init__(root, split, transform, seed)
        self.name = f"MiniCity {split} at {self.root}"
