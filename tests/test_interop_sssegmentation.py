"""sssegmentation's FCN + BiSeNetV1 (R-18, R-50): its key layout maps one to one onto the package's
model with the v1c stem, files as its train.py writes them load through from_sssegmentation,
``bisenet convert``, ``eval`` and ``predict`` (bisenet.interop). Equality of the logits with
sssegmentation's own inference is tests/benchmarks/test_ssseg_equivalence.py (optional env)."""

from __future__ import annotations

import json

import pytest
import torch

from bisenet import build_model
from bisenet.checkpoint import CheckpointError, model_from_checkpoint
from bisenet.cli import main
from bisenet.interop import from_sssegmentation, load_model, sssegmentation_to_bisenet
from bisenet.models import model_spec
from bisenet.models.bisenetv1 import SSSEG_OPTIONS

LAYOUTS = {"bisenetv1-r18": "keys_ssseg_v1_r18.txt", "bisenetv1-r50": "keys_ssseg_v1_r50.txt"}
# parameters of sssegmentation 1.7.0's segmentors (sum over segmentor.parameters(), 19 classes),
# main and auxiliary heads included
SSSEG_PARAMETERS = {"bisenetv1-r18": 13_444_953, "bisenetv1-r50": 59_262_617}


def _their_names(read_keys, name: str) -> dict[str, str]:
    """The package's key -> sssegmentation's key, from the recorded layout (dicts keep order)."""
    reference = read_keys(LAYOUTS[name])
    _, mapped = sssegmentation_to_bisenet({k: torch.zeros(s) for k, s in reference.items()})
    return dict(zip(mapped, reference))


def _as_ssseg_saves_it(model, read_keys, name: str) -> dict:
    """The dict sssegmentation's train.py saves: scheduler.state() (cur_epoch, cur_iter, the
    optimizer's state dict) plus 'model' = segmentor.module.state_dict()."""
    ours_to_theirs = _their_names(read_keys, name)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    for p in model.parameters():
        optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p)
    return {
        "cur_epoch": 860,
        "cur_iter": 159_100,
        "optimizer": optimizer.state_dict(),
        "model": {ours_to_theirs[k]: v for k, v in model.state_dict().items()},
    }


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layout_maps_one_to_one_with_the_v1c_stem(name, read_keys):
    reference = read_keys(LAYOUTS[name])
    mapped_name, mapped = sssegmentation_to_bisenet({k: torch.zeros(s) for k, s in reference.items()})
    assert mapped_name == name
    model = build_model(name, **SSSEG_OPTIONS)
    assert {k: tuple(v.shape) for k, v in mapped.items()} == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert len(mapped) == len(reference)  # injective: no two keys collapse
    # parameter counts to the unit: the recorded layout's, sssegmentation's and the package's
    recorded = sum(
        torch.Size(s).numel()
        for k, s in reference.items()
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )
    assert recorded == SSSEG_PARAMETERS[name] == sum(p.numel() for p in model.parameters())


def test_deep_stem_is_the_only_structural_difference_from_mmseg():
    for name in LAYOUTS:
        ours = build_model(name, **SSSEG_OPTIONS).state_dict()
        mmseg = build_model(name).state_dict()
        stem = "backbone.context_path.backbone."
        assert {k for k in ours if k not in mmseg} == {k for k in ours if k.startswith(stem + "stem.")}
        assert {k for k in mmseg if k not in ours} == {
            stem + k
            for k in (
                "conv1.weight",
                "bn1.weight",
                "bn1.bias",
                "bn1.running_mean",
                "bn1.running_var",
                "bn1.num_batches_tracked",
            )
        }
    extra = 3 * 32 * 9 + 32 * 32 * 9 + 32 * 64 * 9 + 2 * (32 + 32 + 64)  # three 3x3 convs and their BNs
    seven = 3 * 64 * 49 + 2 * 64  # the 7x7 conv and its BN
    r18 = sum(p.numel() for p in build_model("bisenetv1-r18", **SSSEG_OPTIONS).parameters())
    assert r18 - sum(p.numel() for p in build_model("bisenetv1-r18").parameters()) == extra - seven == 19_232


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_a_file_as_ssseg_writes_it_loads_equal(name, tmp_path, trained_like, read_keys):
    model = trained_like(name, **SSSEG_OPTIONS)
    torch.save(_as_ssseg_saves_it(model, read_keys, name), tmp_path / "checkpoints-epoch-860.pth")
    for loaded in (
        from_sssegmentation(tmp_path / "checkpoints-epoch-860.pth"),
        load_model(tmp_path / "checkpoints-epoch-860.pth", aux_heads=True),
    ):
        assert not loaded.training and loaded.auxiliary_head is not None
        assert model_spec(loaded) == (name, SSSEG_OPTIONS)
        x = torch.randn(1, 3, 64, 96)
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), model(x))


def test_convert_eval_and_predict_take_an_ssseg_file(tmp_path, trained_like, read_keys, minicity, capsys):
    model = trained_like("bisenetv1-r18", **SSSEG_OPTIONS)
    ssseg_file = tmp_path / "ssseg.pth"
    torch.save(_as_ssseg_saves_it(model, read_keys, "bisenetv1-r18"), ssseg_file)
    assert main(["convert", "--from", "sssegmentation", str(ssseg_file), str(tmp_path / "ours.pth")]) == 0
    assert "sssegmentation bisenetv1-r18, 19 classes, with auxiliary heads" in capsys.readouterr().out
    converted = model_from_checkpoint(tmp_path / "ours.pth")  # name and options come from the file
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(converted(x), model(x))
    # eval on the original file and on the converted one: the same numbers, no --model needed
    results = []
    for checkpoint in (ssseg_file, tmp_path / "ours.pth"):
        out = tmp_path / f"{checkpoint.stem}.json"
        assert (
            main(
                [
                    "eval",
                    "--checkpoint",
                    str(checkpoint),
                    "--data",
                    "minicity",
                    "--data-root",
                    str(minicity),
                    "--json",
                    str(out),
                ]
            )
            == 0
        )
        results.append(json.loads(out.read_text()))
    assert results[0]["model"] == "bisenetv1-r18" and results[0]["mIoU"] == results[1]["mIoU"]
    image = next((minicity / "leftImg8bit" / "val").rglob("*.png"))
    assert main(["predict", "--checkpoint", str(ssseg_file), str(image), "--out", str(tmp_path / "pred")]) == 0
    assert list((tmp_path / "pred").rglob("*.png"))


def test_bad_ssseg_files_are_named(tmp_path, read_keys, trained_like, capsys):
    state = {k: torch.zeros(s) for k, s in read_keys(LAYOUTS["bisenetv1-r18"]).items()}
    with pytest.raises(CheckpointError, match="map to nothing.*backbone_net.extra.weight"):
        from_sssegmentation({**state, "backbone_net.extra.weight": torch.zeros(1)})
    seven = {k: v for k, v in state.items() if ".stem." not in k}
    with pytest.raises(CheckpointError, match="no v1c stem"):
        from_sssegmentation(seven)
    with pytest.raises(CheckpointError, match="not an sssegmentation BiSeNetV1 checkpoint"):
        from_sssegmentation(build_model("bisenetv2").state_dict())
    # --model that disagrees with the file
    model = trained_like("bisenetv1-r18", **SSSEG_OPTIONS)
    torch.save(_as_ssseg_saves_it(model, read_keys, "bisenetv1-r18"), tmp_path / "ssseg.pth")
    with pytest.raises(CheckpointError, match="is a sssegmentation bisenetv1-r18, not a bisenetv1-r50"):
        load_model(tmp_path / "ssseg.pth", "bisenetv1-r50")


def test_the_recipes_are_rows_beside_mmsegs():
    from bisenet.recipes import RECIPES, recipe_table

    r18 = RECIPES["fcn_bisenetv1_resnet18os32_cityscapes"]
    assert (r18.lr, r18.gpus * r18.batch_per_gpu, r18.crop_size, r18.iters) == (0.05, 16, (1024, 1024), 860 * 185)
    assert (r18.warmup_iters, r18.warmup_ratio, r18.poly_power, r18.eta_min) == (1000, 0.1, 0.9, 1e-4)
    assert r18.model_options == SSSEG_OPTIONS and r18.pretrained_backbone
    for departure in ("SyncBN", "v1c", "initialisation", "-100"):
        assert departure in r18.notes
    table = recipe_table(include_profiles=False).set_index("recipe")
    assert table.loc["fcn_bisenetv1_resnet50os32_cityscapes", "config"] == "sssegmentation 1.7.0"
    assert table.loc["bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024", "config"] == "mmseg 1.2.2"
    assert table.loc["fcn_bisenetv1_resnet18os32_cityscapes", "pretrained"] == "ImageNet v1c"


def test_zoo_verify_reads_an_ssseg_download(tmp_path, trained_like, read_keys):
    from bisenet import zoo

    model = trained_like("bisenetv1-r18", **SSSEG_OPTIONS)
    path = tmp_path / "fcn_bisenetv1_resnet18os32_cityscapes_train.pth"
    torch.save(_as_ssseg_saves_it(model, read_keys, "bisenetv1-r18"), path)
    result = zoo.verify(path)
    assert (result["row"], result["model"], result["published_miou"]) == (path.name, "bisenetv1-r18", 75.76)
    assert result["params"] == SSSEG_PARAMETERS["bisenetv1-r18"]
    with pytest.raises(CheckpointError, match="holds a bisenetv1-r18, but row .*resnet50.* is a bisenetv1-r50"):
        zoo.verify(path, zoo.find_entry("fcn_bisenetv1_resnet50os32_cityscapes_train.pth"))
