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
    assert (
        main(["predict", "--model", "bisenetv2", "--checkpoint", str(v2_checkpoint), *inputs, "--out", str(out)]) == 0
    )
    overlay = np.asarray(Image.open(out / "one_overlay.png"))
    assert overlay.shape == (40, 70, 3)
    assert (out / "f0_overlay.png").exists() and (out / "f1_overlay.png").exists()
    if video is not None:
        import imageio.v3 as iio

        frames = iio.imread(out / "clip_overlay.mp4", extension=".mp4")
        assert frames.shape[0] == 3 and frames.shape[1:3] == (64, 96)


def test_predict_bad_inputs(v2_checkpoint, tmp_path, capsys):
    assert (
        main(["predict", "--model", "bisenetv2", "--checkpoint", str(v2_checkpoint), str(tmp_path / "nope.png")]) == 2
    )
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not an image or video"):
        expand_inputs([tmp_path / "notes.txt"])


def test_palettes():
    assert tuple(palette_for(19)[0]) == (128, 64, 128)  # Cityscapes' road
    assert palette_for(171).shape == (171, 3) and palette_for(5).shape == (5, 3)


def _image(path, size=(48, 80), seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)).save(path)


def test_same_names_from_two_places_are_refused_not_overwritten(v2_checkpoint, tmp_path, capsys):
    _image(tmp_path / "img" / "a" / "x.png")
    _image(tmp_path / "img" / "b" / "x.png", seed=1)
    out = tmp_path / "pred"
    code = main(
        [
            "predict",
            "--model",
            "bisenetv2",
            "--checkpoint",
            str(v2_checkpoint),
            str(tmp_path / "img" / "a"),
            str(tmp_path / "img" / "b" / "x.png"),
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "would both be written to" in err and "x.png" in err
    assert not out.exists() or not any(out.rglob("*.png"))  # nothing written before the refusal


def test_a_folder_keeps_its_structure_and_the_count_is_true(v2_checkpoint, tmp_path, capsys):
    _image(tmp_path / "img" / "day" / "x.png")
    _image(tmp_path / "img" / "night" / "x.png", seed=1)
    out = tmp_path / "pred"
    assert (
        main(
            [
                "predict",
                "--model",
                "bisenetv2",
                "--checkpoint",
                str(v2_checkpoint),
                str(tmp_path / "img"),
                str(tmp_path / "img"),
                "--out",
                str(out),
            ]
        )
        == 0
    )  # the same folder twice: segmented once
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert written == ["day/x_overlay.png", "night/x_overlay.png"]
    assert "wrote 2 file(s)" in capsys.readouterr().out


def test_unreadable_small_and_video_inputs_are_refused_before_any_work(v2_checkpoint, tmp_path, capsys, monkeypatch):
    ok, out = tmp_path / "ok.png", tmp_path / "pred"
    _image(ok)
    (tmp_path / "text.png").write_text("not an image")
    _image(tmp_path / "tiny.png", size=(20, 20))
    (tmp_path / "clip.mp4").write_text("not a video")
    args = ["predict", "--model", "bisenetv2", "--checkpoint", str(v2_checkpoint), "--out", str(out)]
    for bad, message in [
        ("text.png", "cannot read image"),
        ("tiny.png", "smaller than 32x32"),
        ("clip.mp4", "cannot read video"),
    ]:
        assert main([*args, str(ok), str(tmp_path / bad)]) == 2
        err = capsys.readouterr().err
        assert message in err and bad in err and "Traceback" not in err
    assert not (out / "ok_overlay.png").exists()  # refused before the good one was written
    assert main([*args, "--scale", "64x32", str(tmp_path / "tiny.png")]) == 0  # resized: fine
    import builtins

    real_import = builtins.__import__

    def no_imageio(name, *a, **k):
        if name.startswith("imageio"):
            raise ImportError("no module named imageio")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_imageio)
    assert main([*args, str(tmp_path / "clip.mp4")]) == 2
    assert 'pip install "bisenet[video]"' in capsys.readouterr().err


def test_alpha_is_an_opacity():
    from bisenet.errors import UsageError
    from bisenet.predict import predict_inputs

    with pytest.raises(UsageError, match="alpha must be from 0 to 1"):
        predict_inputs(None, [], "out", alpha=5)


def test_sixteen_bit_images_are_read_by_their_top_byte_and_truncated_ones_refused(tmp_path, v2_checkpoint, capsys):
    from bisenet.data.base import read_image

    grey = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16
    Image.fromarray(grey).save(tmp_path / "g16.png")
    rgb = read_image(tmp_path / "g16.png")
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == (grey >> 8)).all()  # not clipped to white
    _image(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    assert (
        main(
            [
                "predict",
                "--model",
                "bisenetv2",
                "--checkpoint",
                str(v2_checkpoint),
                str(tmp_path / "cut.png"),
                "--out",
                str(tmp_path / "pred"),
            ]
        )
        == 2
    )
    assert "cannot read image" in capsys.readouterr().err and not (tmp_path / "pred" / "cut_overlay.png").exists()
