"""The model zoo (bisenet.zoo, `bisenet zoo`): every published row is listed, hashes parse, and
verify() refuses a wrong download, a wrong architecture and an unknown name in one clear line."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
import torch

from bisenet import zoo
from bisenet.cli import main
from bisenet.errors import CheckpointError, UsageError
from bisenet.models import build_model
from bisenet.recipes import RECIPES

# rows of each README's table (counted in the documents)
V2_ROWS_PER_REVISION = 4  # mmsegmentation configs/bisenetv2/README.md, both revisions
V1_CITYSCAPES_ROWS = 5  # mmsegmentation configs/bisenetv1/README.md, Cityscapes
V1_COCOSTUFF_ROWS = 6  # ... COCO-Stuff 164k
SSSEG_ROWS = 2  # sssegmentation's BiSeNetV1 README, CityScapes
V2_FIRST = "bisenetv2_fcn_4x4_1024x1024_160k_cityscapes_20210902_015551-bcf10f09.pth"
V1_R18 = "bisenetv1_r18-d32_4x4_1024x1024_160k_cityscapes_20210922_172239-c55e78e2.pth"


def _mmseg_file(tmp_path, model_name: str, entry: zoo.ZooEntry) -> tuple[str, zoo.ZooEntry]:
    """A random model of ``model_name`` saved in mmseg's layout, renamed so that its hash suffix
    is its own sha256 prefix; returns the path and ``entry`` with that prefix and name."""
    torch.manual_seed(0)
    model = build_model(model_name, num_classes=entry.num_classes, aux_heads=False)
    path = tmp_path / "download.pth"
    torch.save({"meta": {}, "state_dict": model.state_dict()}, path)
    prefix = zoo.file_sha256(path)[:8]
    named = path.rename(tmp_path / re.sub(r"-[0-9a-f]{8}\.pth$", f"-{prefix}.pth", entry.name))
    return named, dataclasses.replace(entry, name=named.name, sha256_prefix=prefix)


def test_every_row_of_the_readmes_is_listed():
    v2 = [e for e in zoo.ZOO if e.source == "mmseg" and e.model == "bisenetv2"]
    assert sum("revision A" in e.note for e in v2) == V2_ROWS_PER_REVISION
    assert sum("revision B" in e.note for e in v2) == V2_ROWS_PER_REVISION
    v1 = [e for e in zoo.ZOO if e.source == "mmseg" and e.model != "bisenetv2"]
    assert sum(e.dataset == "cityscapes" for e in v1) == V1_CITYSCAPES_ROWS
    assert sum(e.dataset == "cocostuff" for e in v1) == V1_COCOSTUFF_ROWS
    assert len(zoo.entries("sssegmentation")) == SSSEG_ROWS
    assert len(zoo.entries("coincheung")) == 2
    assert len({e.name for e in zoo.ZOO}) == len(zoo.ZOO)
    assert len(zoo.zoo_table()) == len(zoo.ZOO)


def test_mmseg_rows_carry_their_hash_and_map_to_recipes():
    for entry in zoo.entries("mmseg"):
        assert re.fullmatch(r"[0-9a-f]{8}", entry.sha256_prefix), entry.name
        assert entry.url.endswith(f"-{entry.sha256_prefix}.pth") and entry.url.endswith(entry.name)
        assert entry.recipe in RECIPES and RECIPES[entry.recipe].model == entry.model, entry.name
        assert RECIPES[entry.recipe].dataset == entry.dataset
    assert zoo.find_entry(V2_FIRST).fps == 31.77
    assert zoo.find_entry(V2_FIRST.replace("bcf10f09", "79e63fdc")).fps == 30.88
    assert {e.fps_device for e in zoo.entries("mmseg") if e.model != "bisenetv2"} == {"V100"}


def test_a_file_whose_bytes_do_not_match_its_name_is_refused(tmp_path):
    path = tmp_path / V2_FIRST
    path.write_bytes(b"not the checkpoint")
    with pytest.raises(CheckpointError, match="expected bcf10f09") as error:
        zoo.verify(path)
    assert zoo.file_sha256(path)[:8] in str(error.value) and "re-download" in str(error.value)


def test_a_matching_file_loads_with_its_parameter_count(tmp_path):
    path, entry = _mmseg_file(tmp_path, "bisenetv2", zoo.find_entry(V2_FIRST))
    result = zoo.verify(path, entry)
    assert result["params"] == result["params_inference"] == 3_358_883  # mmseg V2, 19 classes, inference
    assert result["published_miou"] == 73.21 and result["sha256"].startswith(entry.sha256_prefix)


def test_a_v1_file_verified_as_a_v2_row_is_refused(tmp_path):
    path, entry = _mmseg_file(tmp_path, "bisenetv1-r18", zoo.find_entry(V2_FIRST))
    with pytest.raises(CheckpointError, match="holds a bisenetv1-r18, but row .* is a bisenetv2"):
        zoo.verify(path, entry)


def test_a_wrong_class_count_is_refused(tmp_path):
    coco = next(e for e in zoo.entries("mmseg") if e.dataset == "cocostuff" and e.model == "bisenetv1-r18")
    path, entry = _mmseg_file(tmp_path, "bisenetv1-r18", zoo.find_entry(V1_R18))
    with pytest.raises(CheckpointError, match="19 classes, but row .* has 171"):
        zoo.verify(path, dataclasses.replace(coco, sha256_prefix=entry.sha256_prefix))


def test_unknown_names_and_unsupported_sources_are_clear(tmp_path):
    with pytest.raises(UsageError, match="closest: " + re.escape(V2_FIRST)):
        zoo.find_entry(V2_FIRST.replace("bcf10f09", "00000000"))


def test_verify_measures_miou_with_a_data_root(tmp_path, minicity):
    path, entry = _mmseg_file(tmp_path, "bisenetv2", zoo.find_entry(V2_FIRST))
    result = zoo.verify(path, entry, data_root=minicity, device="cpu")
    assert result["published_miou"] == 73.21 and 0 <= result["measured_miou"] <= 100


def test_cli_lists_and_writes_the_table(tmp_path, capsys):
    assert main(["zoo", "--source", "mmseg", "--csv", str(tmp_path / "zoo.csv")]) == 0
    out = capsys.readouterr().out
    assert V2_FIRST in out and "https://download.openmmlab.com/" in out and "coincheung" not in out
    table = pd.read_csv(tmp_path / "zoo.csv")
    assert len(table) == 2 * V2_ROWS_PER_REVISION + V1_CITYSCAPES_ROWS + V1_COCOSTUFF_ROWS
    assert main(["zoo"]) == 0 and "fcn_bisenetv1_resnet50os32_cityscapes_train.pth" in capsys.readouterr().out


def test_cli_verify(tmp_path, capsys):
    bad = tmp_path / V2_FIRST
    bad.write_bytes(b"truncated")
    assert main(["zoo", "verify", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "expected bcf10f09" in err
    assert main(["zoo", "verify", str(bad), "--row", "nope.pth"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["zoo", "verify"]) == 2 and "needs the downloaded FILE" in capsys.readouterr().err


def test_cli_verify_a_good_file(tmp_path, capsys, monkeypatch):
    path, entry = _mmseg_file(tmp_path, "bisenetv2", zoo.find_entry(V2_FIRST))
    monkeypatch.setattr(zoo, "ZOO", (*zoo.ZOO, entry))
    assert main(["zoo", "verify", str(path), "--row", entry.name]) == 0
    assert "parameters 3,358,883" in capsys.readouterr().out


def test_verify_identifies_a_coincheung_download_by_its_file_name(tmp_path, as_coincheung):
    from bisenet.models.bisenetv2 import COINCHEUNG_OPTIONS

    torch.manual_seed(0)
    model = build_model("bisenetv2", **COINCHEUNG_OPTIONS)
    path = tmp_path / "model_final_v2_city.pth"  # the name of CoinCheung's release file
    torch.save(as_coincheung(model, "keys_coin_v2.txt"), path)
    result = zoo.verify(path)
    assert (result["source"], result["model"], result["published_miou"]) == ("coincheung", "bisenetv2", 74.95)
    entry = zoo.find_entry(path.name)
    assert entry.url.endswith("/releases/download/0.0.0/model_final_v2_city.pth") and entry.miou_ms_flip == 76.53
