"""Your own data (bisenet.data.folder, bisenet.data.check): every accepted layout reads the same
class ids, and every classic mistake planted in a dataset is caught with its file named."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bisenet.cli import main
from bisenet.data import CamVid, ClassTable, FolderDataset, FolderOptions, check, read_classes
from bisenet.data.folder import detect_dataset, write_classes
from bisenet.errors import DatasetError

TABLE = ClassTable(("background", "road", "car"), ((70, 70, 70), (128, 64, 128), (0, 0, 142)))
COLOURS = np.array(TABLE.colours + ((0, 0, 0),) * 253, dtype=np.uint8)  # 255 (ignore) -> black


def _ids(seed: int, size=(32, 48)) -> np.ndarray:
    """A mask of class ids 0..2 with a corner of ignore (255)."""
    ids = np.random.default_rng(seed).integers(0, 3, size=size).astype(np.uint8)
    ids[:4, :4] = 255
    return ids


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def make_folder(root: Path, n: int = 3, colour: bool = True) -> Path:
    """A 3-class folder dataset in the package's layout: train and val, colour or index masks."""
    write_classes(root / "classes.csv", TABLE)
    for split, offset in (("train", 0), ("val", 100)):
        for i in range(n):
            ids = _ids(offset + i)
            _save(
                root / "images" / split / f"s{i}.png",
                np.random.default_rng(i).integers(0, 255, (*ids.shape, 3), dtype=np.uint8),
            )
            _save(root / "masks" / split / f"s{i}.png", COLOURS[ids] if colour else ids)
    return root


def test_classes_csv_is_read_and_refused_clearly(tmp_path):
    write_classes(tmp_path / "classes.csv", TABLE)
    assert read_classes(tmp_path / "classes.csv") == TABLE
    (tmp_path / "bad.csv").write_text("road,128,64\n")
    with pytest.raises(DatasetError, match="bad.csv, line 1: expected 'name,r,g,b'"):
        read_classes(tmp_path / "bad.csv")
    (tmp_path / "dup.csv").write_text("a,1,2,3\nb,1,2,3\n")
    with pytest.raises(DatasetError, match="classes 0 and 1 have the same colour"):
        read_classes(tmp_path / "dup.csv")
    (tmp_path / "sub").mkdir()
    with pytest.raises(DatasetError, match="classes.csv does not exist"):
        FolderDataset(tmp_path / "sub", "train")


@pytest.mark.parametrize("colour", [True, False])
def test_colour_and_index_masks_read_the_same_ids(tmp_path, colour):
    root = make_folder(tmp_path / "d", colour=colour)
    dataset = FolderDataset(root, "train")
    assert dataset.classes == TABLE.names and dataset.palette == TABLE.colours and len(dataset) == 3
    _, label = dataset.load(0)
    assert np.array_equal(label, _ids(0))
    assert detect_dataset(root) == "folder"


def test_mmseg_naming_with_reduce_zero_label(tmp_path):
    root = tmp_path / "mm"
    write_classes(root / "classes.csv", TABLE)
    ids = _ids(0)
    shifted = np.where(ids == 255, 0, ids + 1).astype(np.uint8)  # 0 = other, classes from 1
    _save(root / "img_dir" / "train" / "a_leftImg.jpg", np.zeros((*ids.shape, 3), dtype=np.uint8))
    _save(root / "ann_dir" / "train" / "a_gt.png", shifted)
    options = FolderOptions(img_suffix="_leftImg.jpg", seg_suffix="_gt.png", reduce_zero_label=True)
    _, label = FolderDataset(root, "train", options=options).load(0)
    assert np.array_equal(label, ids)
    with pytest.raises(DatasetError, match=r"value\(s\) \[3\] outside the 3 classes.*--reduce-zero-label"):
        FolderDataset(root, "train", options=FolderOptions(img_suffix="_leftImg.jpg", seg_suffix="_gt.png")).load(0)


def test_list_file_and_camvid_layouts(tmp_path):
    root = make_folder(tmp_path / "d", colour=False)
    (root / "train.txt").write_text("images/train/s1.png,masks/train/s1.png\nimages/train/s0.png,masks/train/s0.png\n")
    listed = FolderDataset(root, "train")  # train.txt wins over the folders
    assert [p.name for p, _ in listed.samples] == ["s1.png", "s0.png"]
    camvid = tmp_path / "camvid"
    ids = np.full((24, 32), 11, dtype=np.uint8)  # void
    ids[:, :16] = 3  # road
    _save(camvid / "train" / "0001TP_006690.png", np.zeros((24, 32, 3), dtype=np.uint8))
    _save(camvid / "trainannot" / "0001TP_006690.png", ids)
    _, label = CamVid(camvid, "train").load(0)
    assert set(np.unique(label)) == {3, 255} and detect_dataset(camvid) == "camvid"


def _plant(root: Path) -> dict[str, str]:
    """Plant each classic mistake once into a clean dataset; returns kind -> the file it is in."""
    train_i, train_m = root / "images" / "train", root / "masks" / "train"
    planted = {}
    ids = _ids(7)
    _save(train_i / "gray.png", np.zeros((*ids.shape, 3), dtype=np.uint8))  # RGB mask, three equal channels
    _save(train_m / "gray.png", np.repeat(ids[..., None], 3, axis=2))
    planted["rgb-gray"] = ""
    _save(train_i / "jpegmask.png", np.zeros((*ids.shape, 3), dtype=np.uint8))
    Image.fromarray(COLOURS[ids]).save(train_m / "jpegmask.jpg", quality=90)
    planted["jpeg-mask"] = "jpegmask.jpg"
    _save(train_i / "outside.png", np.zeros((*ids.shape, 3), dtype=np.uint8))
    bad = ids.copy()
    bad[5, 5] = 7
    _save(train_m / "outside.png", np.repeat(bad[..., None], 1, axis=2)[..., 0])
    planted["outside-table"] = "outside.png"
    _save(train_i / "colour.png", np.zeros((*ids.shape, 3), dtype=np.uint8))
    odd = COLOURS[ids].copy()
    odd[0, 10] = (1, 2, 3)
    _save(train_m / "colour.png", odd)
    planted["unknown-colour"] = "colour.png"
    _save(train_i / "size.png", np.zeros((ids.shape[0] + 2, ids.shape[1], 3), dtype=np.uint8))
    _save(train_m / "size.png", COLOURS[ids])
    planted["size"] = "size.png"
    (train_i / "broken.png").write_bytes(b"\x89PNG not really")
    _save(train_m / "broken.png", COLOURS[ids])
    planted["unreadable-image"] = "broken.png"
    _save(train_i / "lonely.png", np.zeros((*ids.shape, 3), dtype=np.uint8))
    planted["no-mask"] = "lonely.png"
    _save(train_m / "orphan.png", COLOURS[ids])
    planted["no-image"] = "orphan.png"
    return planted


def test_check_catches_every_planted_mistake_with_its_file(tmp_path, capsys):
    clean = make_folder(tmp_path / "clean")
    assert check(clean, progress=False).ok
    assert (
        main(
            [
                "check-data",
                "--data-root",
                str(clean),
                "--plot",
                str(tmp_path / "f.png"),
                "--csv",
                str(tmp_path / "f.csv"),
            ]
        )
        == 0
    )
    assert "the data can be trained on" in capsys.readouterr().out and (tmp_path / "f.png").stat().st_size > 0
    broken = tmp_path / "broken"
    shutil.copytree(clean, broken)
    planted = _plant(broken)
    report = check(broken, progress=False)
    found = {p.kind: p for p in report.problems}
    for kind, file in planted.items():
        assert kind in found, (kind, report.summary())
        assert not file or any(f.endswith(file) for f in found[kind].files), (kind, found[kind].files)
    assert found["rgb-gray"].severity == "warning" and not report.ok
    assert main(["check-data", "--data-root", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "jpegmask.jpg" in out and "lonely.png" in out and "fix the errors above" in out


def test_binary_and_shifted_masks_are_recognised(tmp_path):
    for name, transform, kind in (
        ("binary", lambda ids: np.where(ids > 0, 255, 0), "binary-255"),
        ("shifted", lambda ids: np.where(ids == 255, 1, ids + 1), "zero-label"),
    ):
        root = make_folder(tmp_path / name, colour=False)
        for mask in (root / "masks").rglob("*.png"):
            _save(mask, transform(np.asarray(Image.open(mask))).astype(np.uint8))
        report = check(root, progress=False)
        assert kind in {p.kind for p in report.problems} and not report.ok, report.summary()
    fixed = check(tmp_path / "shifted", options=FolderOptions(reduce_zero_label=True), progress=False)
    assert fixed.ok, fixed.summary()


def test_frequencies_count_pixels_and_images(tmp_path):
    root = make_folder(tmp_path / "d")
    report = check(root, splits=("train",), progress=False)
    expected = sum(np.bincount(_ids(i).ravel(), minlength=256)[:3] for i in range(3))
    assert report.frequencies("train").pixels.tolist() == expected.tolist()
    assert report.frequencies("train").images.tolist() == [3, 3, 3] and report.typical_size() == (32, 48)


def test_the_dataset_kind_is_recognised_from_the_root(tmp_path, minicity, make_cityscapes_tree):
    from bisenet.data import resolve_dataset_kind
    from bisenet.errors import UsageError

    assert detect_dataset(minicity) == "minicity"
    make_cityscapes_tree(tmp_path / "city", "val", n=1)
    assert detect_dataset(tmp_path / "city") == "cityscapes"
    (tmp_path / "coco" / "images" / "train2017").mkdir(parents=True)
    assert detect_dataset(tmp_path / "coco") == "cocostuff"
    with pytest.raises(UsageError, match="cannot tell which dataset .* give --data"):
        resolve_dataset_kind(None, tmp_path)
    assert resolve_dataset_kind("cityscapes", tmp_path) == "cityscapes"  # a name given is kept


def test_gray_colour_masks_stay_colour_masks(tmp_path):
    """An all-black colour mask (nothing labelled) and one of a gray class colour are colour masks,
    not index masks that happen to be RGB."""
    root = tmp_path / "g"
    write_classes(root / "classes.csv", ClassTable(("sky", "road"), ((128, 128, 128), (128, 64, 128))))
    for name, rgb in (("black", (0, 0, 0)), ("sky", (128, 128, 128))):
        _save(root / "images" / "train" / f"{name}.png", np.zeros((8, 8, 3), dtype=np.uint8))
        _save(root / "masks" / "train" / f"{name}.png", np.full((8, 8, 3), rgb, dtype=np.uint8))
    dataset = FolderDataset(root, "train")
    labels = {p.stem: dataset.load(i)[1] for i, (p, _) in enumerate(dataset.samples)}
    assert (labels["black"] == 255).all() and (labels["sky"] == 0).all()
    assert check(root, splits=("train",), progress=False).modes["train"] == {"colour": 2}


def test_a_check_of_no_split_does_not_pass(tmp_path, capsys):
    """`check-data --split ,` used to check nothing and say the data can be trained on."""
    from bisenet.errors import DatasetError

    clean = make_folder(tmp_path / "clean")
    for splits in ((), ("",), ("train", "train")):
        with pytest.raises(DatasetError, match="name each split to read once"):
            check(clean, splits, progress=False)
    for text in (",", "train,,val", ""):
        assert main(["check-data", "--data-root", str(clean), "--split", text]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "name each split" in err
