"""Files from the real world: phone photos turned by their EXIF tag (read as every viewer shows
them), images too large to decode, text files from spreadsheets and old editors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bisenet.data.base import EXIF_ORIENTATION, read_image
from bisenet.errors import DatasetError


def _sideways_jpeg(path, stored_hw=(64, 96), orientation=6):
    """A JPEG stored (H, W) = stored_hw whose EXIF says: turn it (6: by 90 degrees clockwise)."""
    h, w = stored_hw
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[:, : w // 2] = (255, 0, 0)  # left half red as stored
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    return path


def test_a_jpeg_turned_by_its_exif_tag_is_read_upright(tmp_path):
    image = read_image(_sideways_jpeg(tmp_path / "phone.jpg"))
    assert image.shape == (96, 64, 3)  # turned: the shown view is 96 high, 64 wide
    # orientation 6 (turn clockwise): the stored left half becomes the top half
    assert image[:40, :, 0].mean() > 200 and image[56:, :, 0].mean() < 50


def test_a_square_photo_is_turned_too(tmp_path):
    image = read_image(_sideways_jpeg(tmp_path / "square.jpg", stored_hw=(64, 64)))
    assert image[:24, :, 0].mean() > 200 and image[40:, :, 0].mean() < 50  # not left/right any more


def test_an_image_too_large_to_decode_safely_is_refused_in_one_message(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 4096 pixels is then a "bomb"
    with pytest.raises(DatasetError, match="more pixels than Pillow opens safely"):
        read_image(path)


def test_text_files_from_spreadsheets_and_other_encodings(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark: read as if it were not there. A Latin-1
    file (a class named "Straße" saved by an old editor) is refused naming the line, never
    guessed and never a traceback."""
    from bisenet.data.folder import read_classes

    bom = tmp_path / "bom.csv"
    bom.write_bytes("name,r,g,b\nroad,128,64,128\nStraße,0,0,142\n".encode("utf-8-sig"))
    table = read_classes(bom)
    assert table.names == ("road", "Straße")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("road,128,64,128\nStraße,0,0,142\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"latin\.csv, line 2: byte 0xdf is not UTF-8 text.*CSV UTF-8"):
        read_classes(latin)
