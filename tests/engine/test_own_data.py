"""Training on your own data (bisenet.engine.own_data, bisenet train --model M --data-root ROOT):
each accepted convention trains, evaluates, predicts and exports; bad data is refused before the
first iteration with its files named; --init fine-tunes across class counts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bisenet import build_model
from bisenet.book.split import regroup, write_split
from bisenet.checkpoint import load_checkpoint, model_from_checkpoint
from bisenet.cli import main
from bisenet.data import FolderDataset, FolderOptions
from bisenet.data.folder import write_classes
from bisenet.data.minicity import MiniCity
from bisenet.engine import train
from bisenet.engine.own_data import data_recipe
from bisenet.errors import DatasetError
from bisenet.interop import init_from
from bisenet.losses import class_weights_from_frequencies

GROUPS = {
    "background": ["building", "vegetation", "sky", "sidewalk", "terrain", "wall", "fence"],
    "road": ["road"],
    "vehicle": ["car", "truck", "bus"],
    "person": ["person", "rider"],
}
COLOURS = ((70, 70, 70), (128, 64, 128), (0, 0, 142), (220, 20, 60))


@pytest.fixture(scope="module")
def own(minicity, tmp_path_factory) -> Path:
    """MiniCity regrouped into 4 classes, as a folder dataset with colour masks."""
    from bisenet.data import ClassTable

    root = tmp_path_factory.mktemp("own") / "streets"
    table = ClassTable(tuple(GROUPS), COLOURS)
    for split in ("train", "val"):
        source = MiniCity(minicity, split)
        write_split(source, root, split, regroup(GROUPS, source.classes), table)
    return root


def _as_index_masks(own: Path, root: Path, layout: str) -> Path:
    """The same data with index masks in another convention: mmseg's (ids from 1, 0 = other,
    suffixes) or a list file."""
    dataset = {s: FolderDataset(own, s) for s in ("train", "val")}
    write_classes(root / "classes.csv", dataset["train"].table)
    for split, d in dataset.items():
        lines = []
        for i in range(len(d)):
            image, ids = d.load(i)
            if layout == "mmseg":
                img, ann = root / "img_dir" / split / f"{i}_img.jpg", root / "ann_dir" / split / f"{i}_seg.png"
                ids = np.where(ids == 255, 0, ids + 1).astype(np.uint8)
            else:
                img, ann = root / "pictures" / f"{split}{i}.png", root / "labels" / f"{split}{i}.png"
                lines.append(f"{img.relative_to(root)},{ann.relative_to(root)}")
            for path, array in ((img, image), (ann, ids)):
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(path, quality=98)
        if lines:
            (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root


CONVENTIONS = {
    "folder, colour masks": [],
    "mmseg naming, reduce_zero_label": ["--img-suffix", "_img.jpg", "--seg-suffix", "_seg.png", "--reduce-zero-label"],
    "list file": [],
}


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_each_convention_trains_evaluates_predicts_and_exports(convention, own, tmp_path, capsys):
    root = (
        own
        if convention.startswith("folder")
        else _as_index_masks(own, tmp_path / "data", "mmseg" if "mmseg" in convention else "list")
    )
    flags = CONVENTIONS[convention]
    work = tmp_path / "work"
    assert (
        main(
            [
                "train",
                "--model",
                "bisenetv2",
                "--data-root",
                str(root),
                "--iters",
                "2",
                "--batch",
                "2",
                "--crop",
                "64x64",
                "--work-dir",
                str(work),
                "--workers",
                "0",
                *flags,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "bisenetv2 on folder: crops 64x64, batch 1x2, 2 iterations" in out
    saved = load_checkpoint(work / "iter_2.pth")
    assert saved.classes == list(GROUPS) and saved.palette == [list(c) for c in COLOURS] and saved.num_classes == 4
    # eval: the dataset kind from the root, the model from the file
    assert (
        main(
            [
                "eval",
                "--checkpoint",
                str(work / "iter_2.pth"),
                "--data-root",
                str(root),
                *flags,
                "--json",
                str(tmp_path / "m.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "m.json").read_text())["data"] == "folder"
    image = next(
        p
        for p in sorted(root.rglob("*"))
        if p.suffix in (".png", ".jpg")
        and "val" in str(p)
        and "mask" not in str(p)
        and "ann" not in str(p)
        and "label" not in str(p)
    )
    assert main(["predict", "--checkpoint", str(work / "iter_2.pth"), str(image), "--out", str(tmp_path / "pred")]) == 0
    assert (
        main(
            ["export", "--checkpoint", str(work / "iter_2.pth"), "--onnx", str(tmp_path / "m.onnx"), "--size", "64x128"]
        )
        == 0
    )
    import onnxruntime as ort

    meta = ort.InferenceSession(str(tmp_path / "m.onnx")).get_modelmeta().custom_metadata_map
    assert json.loads(meta["classes"]) == list(GROUPS)


def test_predict_colours_come_from_classes_csv(own, tmp_path):
    from bisenet.predict import predict_inputs

    torch.manual_seed(0)
    model = build_model("bisenetv2", num_classes=4, aux_heads=False).eval()
    with torch.no_grad():
        model.decode_head.conv_seg.bias.copy_(torch.tensor([0.0, 0.0, 50.0, 0.0]))  # always "vehicle"
        model.decode_head.conv_seg.weight.zero_()
    image = own / "images" / "val" / "00000.png"
    written = predict_inputs(model, [image], tmp_path, alpha=1.0, palette=COLOURS, progress=False)
    assert (np.asarray(Image.open(written[0])) == COLOURS[2]).all()


def test_bad_data_is_refused_before_the_first_iteration(own, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(own, broken)
    (broken / "masks" / "train" / "00001.png").rename(broken / "masks" / "train" / "00001.jpg")
    (broken / "images" / "train" / "extra.png").write_bytes((own / "images" / "train" / "00000.png").read_bytes())
    work = tmp_path / "work"
    assert (
        main(
            [
                "train",
                "--model",
                "bisenetv2",
                "--data-root",
                str(broken),
                "--iters",
                "2",
                "--batch",
                "2",
                "--work-dir",
                str(work),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "cannot be trained on" in err and "00001.jpg" in err and "extra.png" in err and "Traceback" not in err
    assert not work.exists()  # nothing was trained, nothing written
    recipe, _ = data_recipe("bisenetv2", own, iters=2, batch=2, crop=(64, 64))
    with pytest.raises(DatasetError, match="00001.jpg"):  # the trainer checks too (a recipe made before the damage)
        train(recipe, data_root=broken, work_dir=tmp_path / "api", progress=False)


def test_init_across_class_counts(own, tmp_path, capsys):
    torch.manual_seed(0)
    source = build_model("bisenetv2", num_classes=19)
    torch.save({"meta": {}, "state_dict": source.state_dict()}, tmp_path / "city.pth")  # mmseg's layout, 19 classes
    target = build_model("bisenetv2", num_classes=4)
    report = init_from(target, tmp_path / "city.pth")
    reshaped = {r.split(" ")[0] for r in report.reshaped}
    assert reshaped == {
        "decode_head.conv_seg.weight",
        "decode_head.conv_seg.bias",
        *{f"auxiliary_head.{i}.conv_seg.{p}" for i in range(4) for p in ("weight", "bias")},
    }
    assert torch.equal(
        target.backbone.detail.detail_branch[0][0].conv.weight, source.backbone.detail.detail_branch[0][0].conv.weight
    )
    assert (
        "loaded" in report.summary()
        and "decode_head.conv_seg.weight (19, 1024, 1, 1) != (4, 1024, 1, 1)" in report.summary()
    )
    # from the command line, with a fine-tuning run whose first weights are the checkpoint's
    work = tmp_path / "work"
    assert (
        main(
            [
                "train",
                "--model",
                "bisenetv2",
                "--data-root",
                str(own),
                "--iters",
                "1",
                "--batch",
                "2",
                "--crop",
                "64x64",
                "--init",
                str(tmp_path / "city.pth"),
                "--work-dir",
                str(work),
            ]
        )
        == 0
    )
    assert "--init" in capsys.readouterr().out and load_checkpoint(work / "iter_1.pth").recipe["init"]
    with pytest.raises(Exception, match="of the parameters of BiSeNetV1 fit the checkpoint"):
        init_from(build_model("bisenetv1-r18", num_classes=4), tmp_path / "city.pth")


def test_class_weights_auto_are_enet_weights_of_the_training_pixels(own):
    recipe, report = data_recipe("bisenetv2", own, iters=2, batch=2, class_weights="auto")
    share = report.pixels["train"] / report.pixels["train"].sum()
    assert np.allclose(recipe.class_weights, 1 / np.log(1.02 + share), atol=1e-5)
    assert recipe.num_classes == 4 and recipe.class_weights[3] > recipe.class_weights[0]  # person is rare
    assert class_weights_from_frequencies(report.pixels["train"]) == pytest.approx(list(recipe.class_weights), abs=1e-5)


def test_recipe_is_derived_from_the_model_zoos(own):
    recipe, report = data_recipe("bisenetv1-r18", own, epochs=2)
    h, w = report.typical_size()
    assert (recipe.lr, recipe.weight_decay, recipe.poly_power) == (0.025, 5e-4, 0.9)  # the zoo's V1 R-18
    assert recipe.scale == (max(h, w), min(h, w)) and recipe.crop_size == (min(h, w) // 32 * 32,) * 2
    assert recipe.iters == int(np.ceil(2 * report.splits["train"] / 16))  # 2 epochs at the zoo's batch 4x4
    assert data_recipe("bisenetv2", own, iters=10)[0].warmup_iters == 1
    with pytest.raises(Exception, match="--iters or --epochs, not both"):
        data_recipe("bisenetv2", own, iters=1, epochs=1)


def test_camvid_preset_trains(tmp_path):
    root = tmp_path / "CamVid"
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for i in range(2):
            ids = rng.integers(0, 12, size=(64, 96)).astype(np.uint8)
            for folder, array in ((split, rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)), (f"{split}annot", ids)):
                (root / folder).mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(root / folder / f"0001TP_{i:06d}.png")
    assert main(["check-data", "--data-root", str(root)]) == 0
    assert (
        main(
            [
                "train",
                "--model",
                "bisenetv2",
                "--data-root",
                str(root),
                "--iters",
                "1",
                "--batch",
                "2",
                "--crop",
                "64x64",
                "--work-dir",
                str(tmp_path / "w"),
            ]
        )
        == 0
    )
    assert load_checkpoint(tmp_path / "w" / "iter_1.pth").classes[3] == "road"
    assert model_from_checkpoint(tmp_path / "w" / "iter_1.pth").num_classes == 11
    assert FolderOptions() == FolderOptions()  # (the default options compare equal: build_dataset relies on it)


def test_the_same_through_the_python_api(own, tmp_path):
    from bisenet.data import eval_pipeline
    from bisenet.deploy import export_onnx
    from bisenet.engine.evaluator import evaluate
    from bisenet.predict import predict_inputs

    recipe, report = data_recipe("bisenetv1-r18", own, iters=2, batch=2, crop=(64, 64), loss="lovasz")
    assert report.ok and recipe.dataset == "folder"
    result = train(recipe.with_(workers=0), data_root=own, work_dir=tmp_path / "w", progress=False)
    saved = load_checkpoint(result.last_checkpoint)
    model = model_from_checkpoint(saved)
    metrics = evaluate(model, FolderDataset(own, "val", transform=eval_pipeline(None)), progress=False)
    assert metrics.classes_evaluated >= 1
    assert predict_inputs(
        model, [own / "images" / "val" / "00000.png"], tmp_path / "p", palette=saved.palette, progress=False
    )
    export_onnx(model, tmp_path / "m.onnx", size=(64, 128), classes=saved.classes, palette=saved.palette)
    import onnx

    assert {p.key for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props} == {"classes", "palette"}


def test_write_split_refuses_more_samples_than_the_source_holds(minicity, tmp_path):
    from bisenet.data import ClassTable
    from bisenet.errors import DatasetError

    source = MiniCity(minicity, "val")
    table = ClassTable(tuple(GROUPS), COLOURS)
    lookup = regroup(GROUPS, source.classes)
    with pytest.raises(DatasetError, match=f"holds {len(source)} samples"):
        write_split(source, tmp_path / "x", "val", lookup, table, count=len(source) + 1)
    assert write_split(source, tmp_path / "y", "val", lookup, table, count=2) == 2


def test_a_crop_far_larger_than_the_images_is_refused_before_training(own, tmp_path, capsys):
    from bisenet.cli import main

    work = tmp_path / "w"
    args = ["train", "--model", "bisenetv2", "--data-root", str(own), "--crop", "2048x4096", "--iters", "2"]
    assert main([*args, "--work-dir", str(work)]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # after the data check's progress bars
    assert "Traceback" not in err and last.startswith("error:") and "larger than any image the augmentation" in last
    assert not (work / "log.jsonl").exists()
