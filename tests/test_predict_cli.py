"""bisenet predict / convert / export / bench backends, end to end on small inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from bisenet import build_model
from bisenet.checkpoint import model_from_checkpoint
from bisenet.cli import main
from bisenet.predict import expand_inputs, palette_for
from conftest import read_keys


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = build_model("bisenetv2", aux_heads=False)
    path = tmp_path / "v2.pth"
    torch.save({"model": model.state_dict()}, path)
    return path


def test_predict_images_folders_and_video(checkpoint, tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (48, 80, 3), dtype=np.uint8)).save(folder / f"f{i}.png")
    single = tmp_path / "one.jpg"
    Image.fromarray(rng.integers(0, 255, (40, 70, 3), dtype=np.uint8)).save(single)
    inputs = [str(folder), str(single)]
    try:
        import imageio.v2 as imageio

        video = tmp_path / "clip.mp4"
        with imageio.get_writer(video, fps=5, macro_block_size=1) as w:
            for _ in range(3):
                w.append_data(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
        inputs.append(str(video))
    except ImportError:
        video = None
    out = tmp_path / "out"
    assert main(["predict", "--model", "bisenetv2", "--checkpoint", str(checkpoint), *inputs, "--out", str(out)]) == 0
    overlay = np.asarray(Image.open(out / "one_overlay.png"))
    assert overlay.shape == (40, 70, 3)
    assert (out / "f0_overlay.png").exists() and (out / "f1_overlay.png").exists()
    if video is not None:
        import imageio.v3 as iio

        frames = iio.imread(out / "clip_overlay.mp4", extension=".mp4")
        assert frames.shape[0] == 3 and frames.shape[1:3] == (64, 96)


def test_predict_bad_inputs(checkpoint, tmp_path, capsys):
    assert main(["predict", "--model", "bisenetv2", "--checkpoint", str(checkpoint), str(tmp_path / "nope.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not an image or video"):
        expand_inputs([tmp_path / "notes.txt"])


def test_palettes():
    assert tuple(palette_for(19)[0]) == (128, 64, 128)  # Cityscapes' road
    assert palette_for(171).shape == (171, 3) and palette_for(5).shape == (5, 3)


def test_convert_coincheung_then_eval_style_loading(tmp_path, capsys):
    from bisenet.interop import coincheung_to_bisenet
    from bisenet.models.bisenetv2 import COINCHEUNG_OPTIONS

    torch.manual_seed(0)
    ours = build_model("bisenetv2", **COINCHEUNG_OPTIONS).eval()
    reference = read_keys("keys_coin_v2.txt")
    _, mapped = coincheung_to_bisenet({k: torch.zeros(s) for k, s in reference.items()})
    theirs = {dict(zip(mapped, reference))[k]: v for k, v in ours.state_dict().items()}
    torch.save(theirs, tmp_path / "coin.pth")
    assert main(["convert", "--from", "coincheung", str(tmp_path / "coin.pth"), str(tmp_path / "ours.pth")]) == 0
    assert "bisenetv2, 19 classes, with auxiliary heads" in capsys.readouterr().out
    loaded = model_from_checkpoint(tmp_path / "ours.pth")  # the architecture comes from the file
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ours(x))


def test_export_cli_verifies_with_onnxruntime(checkpoint, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    assert main(["export", "--model", "bisenetv2", "--checkpoint", str(checkpoint), "--onnx", str(tmp_path / "m.onnx"),
                 "--size", "64x128", "--dynamic", "--argmax"]) == 0
    out = capsys.readouterr().out
    assert out.count("verified at") == 3 and "agree on" in out


def test_bench_backends_and_plot(tmp_path):
    pytest.importorskip("onnxruntime")
    csv, png = tmp_path / "b.csv", tmp_path / "b.png"
    assert main(["bench", "--model", "bisenetv2", "--size", "64x64", "--runs", "2", "--warmup", "1",
                 "--backend", "eager,onnxruntime", "--fold-bn", "--csv", str(csv), "--plot", str(png)]) == 0
    table = pd.read_csv(csv)
    assert set(table.backend) == {"eager", "onnxruntime"} and table.fold_bn.all()
    assert png.stat().st_size > 1000 and "command" in table.columns
