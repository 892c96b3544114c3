"""The quoted tables of book/data (published figures, not measurements): published_results.csv
(every published Cityscapes mIoU of BiSeNet V1 and V2, read by the appendix "Why is my mIoU
lower than the paper's?") and after_bisenet.csv (the successors of chapter 20). They parse, every
row names its source, and where they overlap with what the package already records (the model
zoos in bisenet.zoo, the recipes in bisenet.recipes, the paper's ablation in bisenet.ablation,
speed_accuracy_landscape.csv) the figures are the same."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from bisenet import zoo
from bisenet.ablation import VARIANTS
from bisenet.recipes import RECIPES

DATA = Path(__file__).resolve().parents[1] / "book" / "data"
PUBLISHED = DATA / "published_results.csv"
AFTER = DATA / "after_bisenet.csv"

PUBLISHED_COLUMNS = [
    "network",
    "model",
    "publisher",
    "row",
    "split",
    "miou",
    "eval_mode",
    "eval_input",
    "pretraining",
    "gpus",
    "batch_per_gpu",
    "batch",
    "crop",
    "iterations",
    "schedule",
    "loss",
    "precision",
    "spread_min",
    "spread_max",
    "source",
    "reference",
    "url",
    "note",
]
AFTER_COLUMNS = [
    "model",
    "family",
    "miou_val",
    "miou_test",
    "fps",
    "resolution",
    "gpu",
    "runtime",
    "source",
    "reference",
    "url",
    "note",
]

# the package's model-zoo recipe of each mmseg row of published_results.csv
MMSEG_ROWS = {
    "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024": "BiSeNetV2",
    "bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024": "BiSeNetV2 (OHEM)",
    "bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024": "BiSeNetV2 (4x8)",
    "bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024": "BiSeNetV2 (FP16)",
    "bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024": "R-18-D32 (No Pretrain)",
    "bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024": "R-18-D32",
    "bisenetv1_r18-d32-in1k-pre_4xb8-160k_cityscapes-1024x1024": "R-18-D32 (4x8)",
    "bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024": "R-50-D32 (No Pretrain)",
    "bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024": "R-50-D32",
}


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return pd.read_csv(PUBLISHED)


@pytest.fixture(scope="module")
def after() -> pd.DataFrame:
    return pd.read_csv(AFTER)


def one(rows: pd.DataFrame) -> pd.Series:
    assert len(rows) == 1, rows
    return rows.iloc[0]


def row_of(published, publisher, row, eval_mode="single scale", split="val") -> pd.Series:
    return one(
        published[
            (published.publisher == publisher)
            & (published.row == row)
            & (published.eval_mode == eval_mode)
            & (published.split == split)
        ]
    )


@pytest.mark.parametrize(
    "path, columns",
    [(PUBLISHED, PUBLISHED_COLUMNS), (AFTER, AFTER_COLUMNS)],
    ids=["published_results", "after_bisenet"],
)
def test_the_tables_parse_and_every_row_has_its_source(path, columns):
    table = pd.read_csv(path)
    assert list(table.columns) == columns
    assert len(table) > 0
    for column in ("source", "reference", "url"):
        assert table[column].notna().all() and (table[column].str.strip() != "").all(), column
    assert table.url.str.match(r"https://").all()
    assert not table.source.str.contains("ANCHORS", case=False).any()  # a file readers cannot open
    assert not table.reference.str.contains("ANCHORS", case=False).any()


def test_published_rows_are_one_figure_each(published):
    assert set(published.network) == {"BiSeNetV1", "BiSeNetV2"}
    assert set(published.split) <= {"val", "test"}
    assert published.miou.between(50, 100).all()
    assert set(published.publisher) == {"paper", "mmseg", "sssegmentation", "coincheung", "paddleseg"}
    assert not published.duplicated(["publisher", "row", "split", "eval_mode"]).any()
    known = published.dropna(subset=["gpus", "batch_per_gpu", "batch"])
    assert (known.gpus * known.batch_per_gpu == known.batch).all()
    spread = published.dropna(subset=["spread_min"])
    assert (spread.spread_min <= spread.miou).all() and (spread.miou <= spread.spread_max).all()


@pytest.mark.parametrize("recipe", list(MMSEG_ROWS))
def test_mmseg_rows_are_bisenet_zoo_rows_and_recipes(published, recipe):
    entries = [e for e in zoo.entries("mmseg") if e.recipe == recipe]
    assert entries, recipe
    label, r = MMSEG_ROWS[recipe], RECIPES[recipe]
    single, msflip = row_of(published, "mmseg", label), row_of(published, "mmseg", label, "ms+flip")
    for entry in entries:  # both revisions of the V2 README give the same mIoUs
        assert (single.miou, msflip.miou) == (entry.miou, entry.miou_ms_flip)
        assert single.crop == entry.crop == f"{r.crop_size[0]}x{r.crop_size[1]}"
    for row in (single, msflip):
        assert (row.gpus, row.batch_per_gpu, row.batch) == (r.gpus, r.batch_per_gpu, r.global_batch)
        assert row.iterations == r.iters
        assert (not row.pretraining.startswith("none")) == r.pretrained_backbone
        assert ("OHEM" in row.loss) == (r.loss == "ohem")
        assert row.precision.startswith("fp16") == (r.amp == "fp16")


def test_every_cityscapes_figure_of_bisenet_zoo_is_a_row(published):
    for entry in zoo.entries():
        if entry.dataset != "cityscapes":
            continue
        same = published[published.publisher == entry.source]
        assert entry.miou in set(same[same.eval_mode == "single scale"].miou), entry.name
        if entry.miou_ms_flip is not None:
            assert entry.miou_ms_flip in set(same[same.eval_mode == "ms+flip"].miou), entry.name


@pytest.mark.parametrize("depth", [18, 50])
def test_sssegmentation_rows_are_bisenet_zoo_rows_and_recipes(published, depth):
    entry = one(pd.DataFrame([e.__dict__ for e in zoo.entries("sssegmentation") if e.model == f"bisenetv1-r{depth}"]))
    row = row_of(published, "sssegmentation", f"FCN, BiSeNetV1, R-{depth}-D32")
    r = RECIPES[f"fcn_bisenetv1_resnet{depth}os32_cityscapes"]
    assert row.miou == entry.miou and row.crop == entry.crop
    assert (row.gpus, row.batch_per_gpu, row.batch, row.iterations) == (
        r.gpus,
        r.batch_per_gpu,
        r.global_batch,
        r.iters,
    )
    assert (not row.pretraining.startswith("none")) == r.pretrained_backbone


@pytest.mark.parametrize("model, prefix", [("bisenetv2", "bisenetv2"), ("bisenetv1-r18", "bisenetv1")])
def test_coincheung_rows_are_bisenet_zoo_rows(published, model, prefix):
    entry = next(e for e in zoo.entries("coincheung") if e.model == model)
    assert row_of(published, "coincheung", f"{prefix} / ss").miou == entry.miou
    assert row_of(published, "coincheung", f"{prefix} / msf", "ms+flip").miou == entry.miou_ms_flip
    single = row_of(published, "coincheung", f"{prefix} / ss")  # crops and schedules: the configs'
    assert single.crop == entry.crop
    assert entry.schedule == f"{int(single.iterations) // 1000}k iters"


def test_the_v2_papers_ablation_rows_are_bisenet_ablations(published):
    for variant, row in (("bga", "BGA"), ("bga+booster", "+ Booster"), ("bga+booster+ohem", "+ OHEM")):
        assert row_of(published, "paper", row, "not restated here").miou == VARIANTS[variant].paper_miou


def test_after_bisenet_rows(after):
    assert not after.model.duplicated().any()
    assert {"BiSeNet", "STDC", "PP-LiteSeg", "DDRNet", "PIDNet", "SegFormer", "SCTNet", "EfficientViT"} == set(
        after.family
    )
    for column in ("miou_val", "miou_test"):
        assert after[column].dropna().between(50, 100).all()
    assert (after[["miou_val", "miou_test"]].notna().any(axis=1)).all()
    assert (after.fps.dropna() > 0).all()
    assert after.resolution.str.fullmatch(r"\d+x\d+").all()
    # a value left empty is said to be so in the row's note
    for _, row in after[after[["fps", "gpu"]].isna().any(axis=1)].iterrows():
        assert isinstance(row.note, str) and re.search(r"not (re-)?checked|left empty", row.note), row.model
    # the requested variants are all there
    for name in (
        "STDC1-Seg50",
        "STDC2-Seg50",
        "STDC1-Seg75",
        "STDC2-Seg75",
        "PP-LiteSeg-T1",
        "PP-LiteSeg-B1",
        "PP-LiteSeg-T2",
        "PP-LiteSeg-B2",
        "DDRNet-23-slim",
        "DDRNet-23",
        "PIDNet-S",
        "PIDNet-M",
        "PIDNet-L",
        "SegFormer-B0",
        "SCTNet-S-Seg50",
        "SCTNet-B-Seg100",
        "EfficientViT-Seg-B0",
        "EfficientViT-Seg-L2",
    ):
        assert name in set(after.model), name


@pytest.mark.parametrize(
    "model, row",
    [
        ("BiSeNetV1 Xception39", "Xception39"),
        ("BiSeNetV1 R-18", "R-18"),
        ("BiSeNetV2", "BiSeNetV2"),
        ("BiSeNetV2-L", "BiSeNetV2-L"),
    ],
)
def test_after_bisenets_bisenet_rows_are_the_papers_rows(after, published, model, row):
    mine = one(after[after.model == model])
    assert mine.miou_val == row_of(published, "paper", row).miou
    assert mine.miou_test == row_of(published, "paper", row, split="test").miou


def test_bisenet_rows_agree_with_the_speed_landscape(after):
    landscape = pd.read_csv(DATA / "speed_accuracy_landscape.csv")
    matched = 0
    for _, row in after[after.family == "BiSeNet"].iterrows():
        for split in ("val", "test"):
            same = landscape[(landscape.model == row.model) & (landscape.split == split)]
            if len(same) == 1:
                matched += 1
                assert same.iloc[0].miou == row[f"miou_{split}"]
                assert same.iloc[0].fps == row.fps
    assert matched >= 4  # the landscape quotes the same papers
