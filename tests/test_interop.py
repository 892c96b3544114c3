"""Loading the model zoo: mmsegmentation (same names) and CoinCheung (renamed) checkpoints, and
``bisenet convert`` (bisenet.interop)."""

from __future__ import annotations

import json

import pytest
import torch

from bisenet import build_model
from bisenet.checkpoint import CheckpointError, model_from_checkpoint
from bisenet.cli import main
from bisenet.interop import coincheung_to_bisenet, from_coincheung, from_mmseg
from bisenet.models import bisenetv1, bisenetv2, model_spec


@pytest.mark.parametrize("name", ["bisenetv2", "bisenetv1-r18", "bisenetv1-r50"])
@pytest.mark.parametrize("layout", ["mmseg", "bare", "path"])
def test_from_mmseg_infers_architecture_and_classes(name, layout, tmp_path, trained_like):
    model = trained_like(name)
    state = model.state_dict()
    checkpoint = {"meta": {"mmseg_version": "1.2.2"}, "state_dict": state} if layout != "bare" else state
    if layout == "path":
        torch.save(checkpoint, tmp_path / "ckpt.pth")
        checkpoint = tmp_path / "ckpt.pth"
    loaded = from_mmseg(checkpoint)
    assert not loaded.training and loaded.auxiliary_head is not None
    assert model_spec(loaded) == (name, {})
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_from_mmseg_class_count_and_missing_aux(tmp_path, trained_like):
    model = trained_like("bisenetv2", num_classes=171, aux_heads=False)
    loaded = from_mmseg(model.state_dict())
    assert loaded.num_classes == 171 and loaded.auxiliary_head is None


@pytest.mark.parametrize(
    "layout, name, options",
    [
        ("keys_coin_v2.txt", "bisenetv2", bisenetv2.COINCHEUNG_OPTIONS),
        ("keys_coin_v1_r18.txt", "bisenetv1-r18", bisenetv1.COINCHEUNG_OPTIONS),
    ],
)
def test_coincheung_layout_maps_one_to_one(layout, name, options, read_keys):
    reference = read_keys(layout)
    mapped_name, mapped = coincheung_to_bisenet({k: torch.zeros(s) for k, s in reference.items()})
    assert mapped_name == name
    ours = {k: tuple(v.shape) for k, v in build_model(name, **options).state_dict().items()}
    assert {k: tuple(v.shape) for k, v in mapped.items()} == ours
    assert len(mapped) == len(reference)  # injective: no two keys collapse


@pytest.mark.parametrize(
    "layout, name, options",
    [
        ("keys_coin_v2.txt", "bisenetv2", bisenetv2.COINCHEUNG_OPTIONS),
        ("keys_coin_v1_r18.txt", "bisenetv1-r18", bisenetv1.COINCHEUNG_OPTIONS),
    ],
)
def test_from_coincheung_round_trip(layout, name, options, trained_like, as_coincheung):
    """Our model with CoinCheung's options, saved under CoinCheung's names, loads back equal."""
    model = trained_like(name, **options)
    loaded = from_coincheung(as_coincheung(model, layout))
    assert model_spec(loaded) == (name, options)  # what `bisenet convert` saves beside the weights
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_coincheung_bga_upsamples_by_four_with_nearest():
    """Hand-checked: with nearest 4x, each semantic cell gates a 4x4 block of detail pixels."""
    from bisenet.models import BilateralGuidedAggregation

    bga = BilateralGuidedAggregation(4, upsample="nearest4x", pointwise_bias=False).eval()
    s = torch.randn(1, 4, 2, 3)
    up = bga._up(s, torch.Size([8, 12]))
    assert torch.equal(up[..., 0:4, 0:4], s[..., 0:1, 0:1].expand(1, 4, 4, 4))
    assert bga.detail_dwconv[0].pointwise_conv.conv.bias is None


def test_unknown_layouts_name_the_keys(read_keys):
    with pytest.raises(CheckpointError, match="not an mmsegmentation BiSeNet checkpoint.*'encoder.w'"):
        from_mmseg({"encoder.w": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="not a CoinCheung BiSeNet checkpoint"):
        from_coincheung({"encoder.w": torch.zeros(1)})
    state = {k: torch.zeros(s) for k, s in read_keys("keys_coin_v2.txt").items()}
    state["segment.S9.weird"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="map to nothing.*segment.S9.weird"):
        from_coincheung(state)
    bad = build_model("bisenetv2").state_dict()
    bad.pop("backbone.bga.conv.conv.weight")
    with pytest.raises(CheckpointError, match="1 missing.*backbone.bga.conv.conv.weight"):
        from_mmseg(bad)


def test_convert_coincheung_then_eval_style_loading(tmp_path, capsys, as_coincheung):
    from bisenet.models.bisenetv2 import COINCHEUNG_OPTIONS

    torch.manual_seed(0)
    ours = build_model("bisenetv2", **COINCHEUNG_OPTIONS).eval()
    torch.save(as_coincheung(ours, "keys_coin_v2.txt"), tmp_path / "coin.pth")
    assert main(["convert", "--from", "coincheung", str(tmp_path / "coin.pth"), str(tmp_path / "ours.pth")]) == 0
    assert "bisenetv2, 19 classes, with auxiliary heads" in capsys.readouterr().out
    loaded = model_from_checkpoint(tmp_path / "ours.pth")  # the architecture comes from the file
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ours(x))


def test_convert_refuses_to_overwrite_its_input(v2_checkpoint, capsys):
    before = v2_checkpoint.read_bytes()
    assert main(["convert", "--from", "mmseg", str(v2_checkpoint), str(v2_checkpoint)]) == 2
    assert "the output would overwrite the input" in capsys.readouterr().err
    assert v2_checkpoint.read_bytes() == before


def test_convert_refuses_an_existing_output_and_a_file_of_this_package(v2_checkpoint, tmp_path, capsys):
    state = torch.load(v2_checkpoint, weights_only=True)["model"]
    torch.save({"meta": {}, "state_dict": state}, tmp_path / "mmseg.pth")
    (tmp_path / "taken.pth").write_bytes(b"precious")
    assert main(["convert", "--from", "mmseg", str(tmp_path / "mmseg.pth"), str(tmp_path / "taken.pth")]) == 2
    assert "exists: pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "taken.pth").read_bytes() == b"precious"
    assert (
        main(["convert", "--from", "mmseg", str(tmp_path / "mmseg.pth"), str(tmp_path / "taken.pth"), "--overwrite"])
        == 0
    )
    assert main(["convert", "--from", "mmseg", str(tmp_path / "taken.pth"), str(tmp_path / "again.pth")]) == 2
    assert "already a checkpoint of this package" in capsys.readouterr().err


def test_eval_and_predict_read_foreign_files_without_model(tmp_path, capsys, as_coincheung, minicity):
    """A CoinCheung file (bare state dict, his names) and an mmseg file: eval and predict find the
    model from the keys; a --model that disagrees is refused."""
    from bisenet.models.bisenetv1 import COINCHEUNG_OPTIONS

    torch.manual_seed(0)
    ours = build_model("bisenetv1-r18", **COINCHEUNG_OPTIONS).eval()
    torch.save(as_coincheung(ours, "keys_coin_v1_r18.txt"), tmp_path / "model_final_v1_city_new.pth")
    torch.save({"meta": {}, "state_dict": build_model("bisenetv2").state_dict()}, tmp_path / "mmseg.pth")
    image = next((minicity / "leftImg8bit" / "val").rglob("*.png"))
    for name, path in (
        ("bisenetv1-r18", tmp_path / "model_final_v1_city_new.pth"),
        ("bisenetv2", tmp_path / "mmseg.pth"),
    ):
        out = tmp_path / f"{path.stem}.json"
        assert (
            main(
                [
                    "eval",
                    "--checkpoint",
                    str(path),
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
        assert json.loads(out.read_text())["model"] == name
        assert main(["predict", "--checkpoint", str(path), str(image), "--out", str(tmp_path / path.stem)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "predict",
                "--model",
                "bisenetv2",
                "--checkpoint",
                str(tmp_path / "model_final_v1_city_new.pth"),
                str(image),
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "is a coincheung bisenetv1-r18, not a bisenetv2" in capsys.readouterr().err
