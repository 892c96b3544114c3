"""bisenet predict on images, folders and videos, and the palettes (bisenet.predict)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bisenet.cli import main
from bisenet.predict import expand_inputs, palette_for


def test_predict_images_folders_and_video(v2_checkpoint, tmp_path):
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
    assert main(["predict", "--model", "bisenetv2", "--checkpoint", str(v2_checkpoint), *inputs, "--out", str(out)]) == 0
    overlay = np.asarray(Image.open(out / "one_overlay.png"))
    assert overlay.shape == (40, 70, 3)
    assert (out / "f0_overlay.png").exists() and (out / "f1_overlay.png").exists()
    if video is not None:
        import imageio.v3 as iio

        frames = iio.imread(out / "clip_overlay.mp4", extension=".mp4")
        assert frames.shape[0] == 3 and frames.shape[1:3] == (64, 96)


def test_predict_bad_inputs(v2_checkpoint, tmp_path, capsys):
    assert main(["predict", "--model", "bisenetv2", "--checkpoint", str(v2_checkpoint), str(tmp_path / "nope.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not an image or video"):
        expand_inputs([tmp_path / "notes.txt"])


def test_palettes():
    assert tuple(palette_for(19)[0]) == (128, 64, 128)  # Cityscapes' road
    assert palette_for(171).shape == (171, 3) and palette_for(5).shape == (5, 3)
