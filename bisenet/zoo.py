"""The published BiSeNet checkpoints (the model zoos), and a check of a downloaded file.

One :class:`ZooEntry` per published file, with the figures as its model-zoo README gives them:
mmsegmentation's ``configs/bisenetv2/README.md`` and ``configs/bisenetv1/README.md``,
sssegmentation's ``docs/modelzoo/bisenetv1`` README and CoinCheung/BiSeNet's README. Two
revisions of mmseg's BiSeNetV2 README name the same runs with different hash suffixes (and
different FPS); both files are listed, each entry saying which revision it comes from.

mmseg appends the first 8 hex digits of a file's sha256 to its name
(``..._20210902_015551-bcf10f09.pth``): :func:`verify` checks a downloaded file against it,
loads it with :mod:`bisenet.interop`, checks the architecture and the class count and, given a
dataset root, measures its mIoU beside the published one. Nothing is downloaded here: the table
gives the URL to fetch.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bisenet.errors import CheckpointError, UsageError

if TYPE_CHECKING:
    import torch

SOURCES = ("mmseg", "sssegmentation", "coincheung")
NUM_CLASSES = {"cityscapes": 19, "cocostuff": 171}
_MMSEG = "https://download.openmmlab.com/mmsegmentation/v0.5"
_SSSEG = "https://github.com/SegmentationBLWX/modelstore/releases/download/ssseg_bisenetv1"
_V2_DOC = "mmsegmentation configs/bisenetv2/README.md"
_V1_DOC = "mmsegmentation configs/bisenetv1/README.md"
_SS_DOC = "sssegmentation docs/modelzoo/bisenetv1/README.md"
_CC_DOC = "CoinCheung/BiSeNet README.md"
_CC = "https://github.com/CoinCheung/BiSeNet/releases/download/0.0.0"


@dataclass(frozen=True)
class ZooEntry:
    """One published checkpoint, with its figures as published (``None``: not published)."""

    name: str  # the file name (the URL's last part); a label where no URL is published
    source: str  # mmseg, sssegmentation or coincheung
    model: str  # the package's registered model name
    dataset: str  # cityscapes or cocostuff
    config: str  # the source's config name
    recipe: str  # the package's recipe of the same run (bisenet.recipes.RECIPES), "" if none
    backbone: str
    crop: str
    schedule: str
    memory_gb: float | None
    fps: float | None
    fps_device: str  # what the FPS (and memory) were measured on, or "not stated"
    miou: float | None  # val, single scale, as published
    miou_ms_flip: float | None
    url: str
    sha256_prefix: str  # the hash suffix of the file name ("" where the source has none)
    doc: str  # the README the row comes from
    note: str = ""

    @property
    def num_classes(self) -> int:
        return NUM_CLASSES[self.dataset]


def sha256_prefix_of_url(url: str) -> str:
    """The 8 hex digits mmseg appends to a file name (``...-bcf10f09.pth``), or ""."""
    match = re.search(r"-([0-9a-f]{8})\.pth$", url)
    return match.group(1) if match else ""


def _mmseg(stem: str, folder: str, **fields: Any) -> ZooEntry:
    """An mmseg entry: ``stem`` is ``<run>_<date>_<time>-<hash>``, stored under ``folder``."""
    run = stem.rsplit("_", 2)[0]
    model_folder = folder.split("/")[0]
    url = f"{_MMSEG}/{model_folder}/{run}/{stem}.pth"
    return ZooEntry(name=f"{stem}.pth", source="mmseg", url=url, sha256_prefix=sha256_prefix_of_url(url), **fields)


def _v2(
    stem: str,
    revision: str,
    recipe: str,
    config: str,
    fps: float | None,
    memory: float,
    miou: float,
    ms: float,
    note: str = "",
) -> ZooEntry:
    revision_note = f"README revision {revision} (the two revisions give different hash suffixes and FPS)"
    return _mmseg(
        stem,
        "bisenetv2",
        model="bisenetv2",
        dataset="cityscapes",
        config=config,
        recipe=recipe,
        backbone="BiSeNetV2",
        crop="1024x1024",
        schedule="160k iters",
        memory_gb=memory,
        fps=fps,
        fps_device="not stated",
        miou=miou,
        miou_ms_flip=ms,
        doc=_V2_DOC,
        note="; ".join(x for x in (note, revision_note) if x),
    )


_V2_RUNS = [  # (run stem without hash, recipe, notes, memory, mIoU, ms+flip)
    (
        "bisenetv2_fcn_4x4_1024x1024_160k_cityscapes_20210902_015551",
        "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024",
        "",
        7.64,
        73.21,
        75.74,
    ),
    (
        "bisenetv2_fcn_ohem_4x4_1024x1024_160k_cityscapes_20210902_112947",
        "bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024",
        "OHEM",
        7.64,
        73.57,
        75.80,
    ),
    (
        "bisenetv2_fcn_4x8_1024x1024_160k_cityscapes_20210903_000032",
        "bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024",
        "4 GPUs x 8 images",
        15.05,
        75.76,
        77.79,
    ),
    (
        "bisenetv2_fcn_fp16_4x4_1024x1024_160k_cityscapes_20210902_045942",
        "bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024",
        "FP16 mixed precision",
        5.77,
        73.07,
        75.13,
    ),
]
# per revision: (hash, FPS) of each run above, in the same order
_V2_REVISIONS = {
    "A (FPS 31.77 for the plain run)": [
        ("bcf10f09", 31.77),
        ("5f8103b4", None),
        ("e1a2eed6", None),
        ("b979777b", 36.65),
    ],
    "B (FPS 30.88 for the plain run)": [
        ("79e63fdc", 30.88),
        ("b31ca269", 33.12),
        ("ef56feaa", 31.85),
        ("e404ba78", 35.49),
    ],
}


def _v2_entries() -> list[ZooEntry]:
    entries = []
    for revision, hashes in _V2_REVISIONS.items():
        for (stem, recipe, note, memory, miou, ms), (digest, fps) in zip(_V2_RUNS, hashes):
            config = stem.rsplit("_", 2)[0] + ".py"
            entries.append(_v2(f"{stem}-{digest}", revision, recipe, config, fps, memory, miou, ms, note))
    return entries


def _v1(
    stem: str,
    dataset: str,
    depth: int,
    pre: str,
    batch: int,
    memory: float | None,
    fps: float | None,
    miou: float,
    ms: float,
    note: str = "",
) -> ZooEntry:
    city = dataset == "cityscapes"
    suffix = "cityscapes-1024x1024" if city else "coco-stuff164k-512x512"
    recipe = f"bisenetv1_r{depth}-d32{pre}_4xb{batch}-160k_{suffix}"
    trunk = f"R-{depth}-D32" + ("" if pre else " (no pretrain)")
    return _mmseg(
        stem,
        "bisenetv1",
        model=f"bisenetv1-r{depth}",
        dataset=dataset,
        config=recipe + ".py",
        recipe=recipe,
        backbone=trunk,
        crop="1024x1024" if city else "512x512",
        schedule="160k iters",
        memory_gb=memory,
        fps=fps,
        fps_device="V100",
        miou=miou,
        miou_ms_flip=ms,
        doc=_V1_DOC,
        note=note,
    )


# mmseg 1.2.2's BiSeNetV1 model zoo (configs/bisenetv1/README.md), one row a line: the file's stem,
# the dataset, the ResNet depth, ImageNet-pretrained trunk, images per GPU, training memory (GB),
# FPS (V100), mIoU and mIoU with multi-scale + flip
# fmt: off
_V1_ROWS = [
    ("bisenetv1_r18-d32_4x4_1024x1024_160k_cityscapes_20210922_172239-c55e78e2", "cityscapes", 18, False, 4, 5.69, 31.77, 74.44, 77.05),  # noqa: E501 - a table row
    ("bisenetv1_r18-d32_in1k-pre_4x4_1024x1024_160k_cityscapes_20210905_220251-8ba80eff", "cityscapes", 18, True, 4, 5.69, 31.77, 74.37, 76.91),  # noqa: E501 - a table row
    ("bisenetv1_r18-d32_in1k-pre_4x8_1024x1024_160k_cityscapes_20210905_220322-bb8db75f", "cityscapes", 18, True, 8, 11.17, 31.77, 75.16, 77.24, "4 GPUs x 8 images"),  # noqa: E501 - a table row
    ("bisenetv1_r50-d32_4x4_1024x1024_160k_cityscapes_20210923_222639-7b28a2a6", "cityscapes", 50, False, 4, 15.39, 7.71, 76.92, 78.87),  # noqa: E501 - a table row
    ("bisenetv1_r50-d32_in1k-pre_4x4_1024x1024_160k_cityscapes_20210917_234628-8b304447", "cityscapes", 50, True, 4, 15.39, 7.71, 77.68, 79.57),  # noqa: E501 - a table row
    ("bisenetv1_r18-d32_lr5e-3_4x4_512x512_160k_coco-stuff164k_20211022_054328-046aa2f2", "cocostuff", 18, False, 4, None, None, 25.45, 26.15),  # noqa: E501 - a table row
    ("bisenetv1_r18-d32_in1k-pre_lr5e-3_4x4_512x512_160k_coco-stuff164k_20211023_013100-f700dbf7", "cocostuff", 18, True, 4, 6.33, 74.24, 28.55, 29.26),  # noqa: E501 - a table row
    ("bisenetv1_r50-d32_lr5e-3_4x4_512x512_160k_coco-stuff164k_20211101_040616-d2bb0df4", "cocostuff", 50, False, 4, None, None, 29.82, 30.33),  # noqa: E501 - a table row
    ("bisenetv1_r50-d32_in1k-pre_lr5e-3_4x4_512x512_160k_coco-stuff164k_20211101_181932-66747911", "cocostuff", 50, True, 4, 9.28, 32.60, 34.88, 35.37),  # noqa: E501 - a table row
    ("bisenetv1_r101-d32_lr5e-3_4x4_512x512_160k_coco-stuff164k_20211102_164147-c6b32c3b", "cocostuff", 101, False, 4, None, None, 31.14, 31.76,  # noqa: E501 - a table row
     "the README links this row's config to the R-50 in1k-pre one (a typo there); config and recipe here are the R-101 ones"),  # noqa: E501 - a table row
    ("bisenetv1_r101-d32_in1k-pre_lr5e-3_4x4_512x512_160k_coco-stuff164k_20211101_225220-28c8f092", "cocostuff", 101, True, 4, 10.36, 25.25, 37.38, 37.99),  # noqa: E501 - a table row
]
# fmt: on


def _v1_entries() -> list[ZooEntry]:
    return [_v1(stem, data, depth, "-in1k-pre" if pre else "", *rest) for stem, data, depth, pre, *rest in _V1_ROWS]


def _sssegmentation_entries() -> list[ZooEntry]:
    common = dict(
        source="sssegmentation",
        dataset="cityscapes",
        crop="1024x1024",
        schedule="860 epochs, batch 16, lr 0.05 poly",
        memory_gb=None,
        fps=None,
        fps_device="not stated",
        miou_ms_flip=None,
        sha256_prefix="",
        doc=_SS_DOC,
        note="no hash in the file name; its 'v1c' deep-stem trunk has 19,232 more parameters than "
        "mmseg's (model option deep_stem); loaded by bisenet.interop.from_sssegmentation",
    )
    return [
        ZooEntry(
            name=f"fcn_bisenetv1_resnet{d}os32_cityscapes_train.pth",
            model=f"bisenetv1-r{d}",
            recipe=f"fcn_bisenetv1_resnet{d}os32_cityscapes",
            config=f"fcn_bisenetv1_resnet{d}os32_cityscapes.py",
            backbone=f"R-{d}-D32",
            miou=miou,
            url=f"{_SSSEG}/fcn_bisenetv1_resnet{d}os32_cityscapes_train.pth",
            **common,
        )
        for d, miou in ((18, 75.76), (50, 77.78))
    ]


def _coincheung_entries() -> list[ZooEntry]:
    """CoinCheung/BiSeNet's README (commit 6b4b67a8): "ss" is the single-scale mIoU, "msf" the
    multi-scale one with flips; its FPS table is TensorRT on an A40 at 1024x2048 (tensorrt/README).
    The crops and schedules are those of the repository's configs (``configs/bisenetv2_city.py``,
    ``configs/bisenetv1_city.py``: ``cropsize``, ``max_iter``)."""
    common = dict(
        source="coincheung",
        dataset="cityscapes",
        recipe="",
        memory_gb=None,
        sha256_prefix="",
        doc=_CC_DOC,
        note="no hash in the file name (nothing to check it against); its README's ssc and "
        "mscf columns (crop evaluation) are not listed here",
    )
    device = "A40, TensorRT 10.3, fp32, 1024x2048"
    return [
        ZooEntry(
            name="model_final_v2_city.pth",
            model="bisenetv2",
            config="bisenetv2_city",
            backbone="BiSeNetV2",
            crop="512x1024",
            schedule="150k iters",
            fps=103,
            fps_device=device,
            miou=74.95,
            miou_ms_flip=76.53,
            url=f"{_CC}/model_final_v2_city.pth",
            **common,
        ),
        ZooEntry(
            name="model_final_v1_city_new.pth",
            model="bisenetv1-r18",
            config="bisenetv1_city",
            backbone="R-18",
            crop="1024x1024",
            schedule="80k iters",
            fps=112,
            fps_device=device,
            miou=75.44,
            miou_ms_flip=77.45,
            url=f"{_CC}/model_final_v1_city_new.pth",
            **common,
        ),
    ]


ZOO: tuple[ZooEntry, ...] = tuple(_v2_entries() + _v1_entries() + _sssegmentation_entries() + _coincheung_entries())


def entries(source: str | None = None) -> list[ZooEntry]:
    """The zoo's entries, all or one source's."""
    if source is not None and source not in SOURCES:
        raise UsageError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    return [e for e in ZOO if source is None or e.source == source]


def zoo_table(source: str | None = None):
    """The entries as a pandas DataFrame, one row each, every field a column."""
    import pandas as pd

    return pd.DataFrame([asdict(e) for e in entries(source)])


def find_entry(file_name: str) -> ZooEntry:
    """The entry of a file name (exactly, path left off); a name no entry has raises a
    :class:`UsageError` listing the closest ones."""
    name = Path(file_name).name
    for entry in ZOO:
        if entry.name == name:
            return entry
    close = difflib.get_close_matches(name, [e.name for e in ZOO], n=3, cutoff=0.5)
    hint = f"closest: {', '.join(close)}" if close else "`bisenet zoo` lists them"
    raise UsageError(f"{name!r} is no file of the model zoo ({hint}); pass --row NAME to say which row it is")


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_hash(path: str | Path, entry: ZooEntry) -> str:
    """The file's sha256; raises :class:`CheckpointError` when it does not start with the
    entry's prefix (a partial or a different download)."""
    actual = file_sha256(path)
    if entry.sha256_prefix and not actual.startswith(entry.sha256_prefix):
        raise CheckpointError(
            f"{path}: sha256 starts with {actual[:8]}, expected {entry.sha256_prefix} for {entry.name}: the file "
            f"is incomplete or another one; re-download it from {entry.url or entry.doc}"
        )
    return actual


def load_entry(path: str | Path, entry: ZooEntry):
    """The package's model holding the file, read with the entry's source's loader."""
    from bisenet.interop import CONVERTERS

    return CONVERTERS[entry.source](path)


def check_model(model, entry: ZooEntry, path: str | Path) -> None:
    """Raise :class:`CheckpointError` unless ``model`` has the entry's architecture and class
    count."""
    from bisenet.checkpoint import num_classes_of
    from bisenet.models import model_spec

    name = model_spec(model)[0]
    if name != entry.model:
        raise CheckpointError(
            f"{path} holds a {name}, but row {entry.name} is a {entry.model}: wrong file or wrong --row"
        )
    classes = num_classes_of(model.state_dict())
    if classes != entry.num_classes:
        raise CheckpointError(
            f"{path} predicts {classes} classes, but row {entry.name} ({entry.dataset}) has "
            f"{entry.num_classes}: wrong file or wrong --row"
        )


def parameter_counts(model) -> dict[str, int]:
    """Parameters of the whole model and of the inference network (without auxiliary heads)."""
    from bisenet.checkpoint import AUX_PREFIX

    params = dict(model.named_parameters())
    total = sum(p.numel() for p in params.values())
    inference = sum(p.numel() for k, p in params.items() if not k.startswith(AUX_PREFIX))
    return {"params": total, "params_inference": inference}


def measure_miou(
    path: str | Path, entry: ZooEntry, data_root: str | Path, device: str | torch.device | None = None
) -> float | None:
    """Val mIoU (in %) of the file at ``path`` on the entry's dataset at ``data_root``, whole-image
    inference at the dataset's evaluation scale: ``bisenet eval --mode whole``
    (:func:`bisenet.engine.evaluate_file.evaluate_file`)."""
    from bisenet.engine.evaluate_file import EvalOptions, evaluate_file

    options = EvalOptions(device=device, progress=False)
    metrics = evaluate_file(path, data_root, data=entry.dataset, model=entry.model, options=options).metrics
    return None if metrics.mIoU is None else 100 * metrics.mIoU


def verify(
    path: str | Path,
    entry: ZooEntry | None = None,
    data_root: str | Path | None = None,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """Check a downloaded model-zoo file: its sha256 prefix, that it loads, its architecture
    and class count; with ``data_root``, also its val mIoU (whole mode).

    ``entry``: the row the file is (default: found by the file's name, :func:`find_entry`).
    Returns the row's name, the sha256, the parameter counts, the published mIoU and, with
    ``data_root``, the measured one (both in %)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    entry = entry or find_entry(path.name)
    sha256 = check_hash(path, entry)
    model = load_entry(path, entry)
    check_model(model, entry, path)
    result: dict[str, Any] = {
        "row": entry.name,
        "source": entry.source,
        "model": entry.model,
        "dataset": entry.dataset,
        "sha256": sha256,
        **parameter_counts(model),
        "published_miou": entry.miou,
    }
    if data_root is not None:
        result["measured_miou"] = measure_miou(path, entry, data_root, device)
    return result
