"""Data that used to give a silently wrong result: two images of one name, a sample listed twice, a
link to nothing, transparent mask pixels, a palette that orders the classes differently from
classes.csv, and a model scored under another dataset's class order. Each is refused, naming the
file or the classes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bisenet.cli import main
from bisenet.data.folder import FolderDataset
from bisenet.engine.evaluator import check_class_names
from bisenet.errors import DatasetError, UsageError

CLASSES = "name,r,g,b\nroad,128,64,128\ncar,0,0,142\nsky,70,130,180\n"


def folder_dataset(root, n: int = 2, size: int = 64):
    """images/train, masks/train with index masks (ids 0..2), classes.csv of three classes."""
    (root / "images" / "train").mkdir(parents=True)
    (root / "masks" / "train").mkdir(parents=True)
    (root / "classes.csv").write_text(CLASSES)
    for i in range(n):
        Image.fromarray(np.full((size, size, 3), 40 * i, np.uint8)).save(root / "images" / "train" / f"{i:03d}.png")
        mask = np.zeros((size, size), np.uint8)
        mask[size // 2 :] = 1
        mask[:, : size // 4] = 2
        Image.fromarray(mask).save(root / "masks" / "train" / f"{i:03d}.png")
    return root


def test_two_images_of_one_name_are_refused_naming_both(tmp_path):
    root = folder_dataset(tmp_path / "d")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(root / "images" / "train" / "000.jpg")
    with pytest.raises(DatasetError, match=r"000\.jpg and .*000\.png have the same name|000\.png and .*000\.jpg"):
        FolderDataset(root, "train")


def test_a_link_to_nothing_is_named(tmp_path):
    root = folder_dataset(tmp_path / "d")
    (root / "images" / "train" / "002.png").symlink_to(tmp_path / "gone.png")
    with pytest.raises(DatasetError, match=r"002\.png is a link to .*gone\.png, which does not exist"):
        FolderDataset(root, "train")


def test_a_sample_listed_twice_is_refused(tmp_path):
    root = folder_dataset(tmp_path / "d")
    line = "images/train/000.png,masks/train/000.png"
    (root / "train.txt").write_text(f"{line}\nimages/train/001.png,masks/train/001.png\n{line}\n")
    from bisenet.data.folder import FolderOptions

    with pytest.raises(DatasetError, match=r"train\.txt, line 3 repeats line 1"):
        FolderDataset(root, "train", options=FolderOptions(list_file=str(root / "train.txt")))


def test_transparent_mask_pixels_are_refused(tmp_path):
    root = folder_dataset(tmp_path / "d")
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., :3] = (128, 64, 128)
    rgba[..., 3] = 255
    rgba[:8, :8, 3] = 0  # a corner the annotator left transparent
    Image.fromarray(rgba, "RGBA").save(root / "masks" / "train" / "000.png")
    with pytest.raises(DatasetError, match="64 transparent pixel"):
        FolderDataset(root, "train").load(0)


def test_a_palette_that_orders_the_classes_differently_is_refused(tmp_path):
    root = folder_dataset(tmp_path / "d")
    mask = Image.open(root / "masks" / "train" / "000.png").convert("L").convert("P")
    palette = [0] * 768
    palette[0:3] = (0, 0, 142)  # index 0 drawn as car (class 1 in classes.csv)
    palette[3:6] = (128, 64, 128)  # index 1 drawn as road (class 0)
    palette[6:9] = (70, 130, 180)
    mask.putpalette(palette)
    mask.save(root / "masks" / "train" / "000.png")
    with pytest.raises(DatasetError, match="draws index 0 in the colour of class 'car'"):
        FolderDataset(root, "train").load(0)
    palette[0:6] = [128, 64, 128, 0, 0, 142]  # the palette in classes.csv's order: read by index
    mask.putpalette(palette)
    mask.save(root / "masks" / "train" / "000.png")
    assert FolderDataset(root, "train").load(0)[1].max() == 2


def test_a_model_is_not_scored_under_another_class_order(tmp_path, capsys):
    check_class_names(["road", "car", "sky"], ("road", "car", "sky"), "m.pth")
    check_class_names(None, ("road", "car", "sky"), "m.pth")  # a file that does not say
    with pytest.raises(UsageError, match="same classes in another order"):
        check_class_names(["car", "road", "sky"], ("road", "car", "sky"), "m.pth")
    with pytest.raises(UsageError, match="another dataset's model"):
        check_class_names(["a", "b", "c"], ("road", "car", "sky"), "m.pth")

    from bisenet.checkpoint import Checkpoint, save_checkpoint
    from bisenet.models import build_model

    root = folder_dataset(tmp_path / "d")
    (root / "images" / "val").mkdir()
    (root / "masks" / "val").mkdir()
    for kind in ("images", "masks"):
        (root / kind / "train" / "000.png").rename(root / kind / "val" / "000.png")
    state = build_model("bisenetv2", num_classes=3, aux_heads=False).state_dict()
    ckpt = save_checkpoint(Checkpoint(state, "bisenetv2", classes=["car", "road", "sky"]), tmp_path / "m.pth")
    assert main(["eval", "--checkpoint", str(ckpt), "--data-root", str(root), "--split", "val"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "another order" in err[-1]
