"""Outputs never replace what the user had: an output that is not a regular file is refused, a file
the command did not write needs ``--overwrite``, and ``predict`` never writes over an input."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bisenet.atomic import refuse_foreign_png, write_csv, write_text
from bisenet.cli import main
from bisenet.errors import OutputError, UsageError
from bisenet.predict import plan_outputs


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # one line, no traceback
    return err[0]


def recipes_csv(tmp_path, *extra: str) -> list[str]:
    return ["recipes", "--model-zoo-only", "--csv", str(tmp_path / "table.csv"), *extra]


# --- what is at the output path -------------------------------------------------------------


def test_a_symlink_at_the_output_is_refused_and_its_target_untouched(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    (tmp_path / "table.csv").symlink_to(target)
    assert main(recipes_csv(tmp_path)) == 2
    line = error_line(capsys)
    assert "error:" in line and "symbolic link" in line and "table.csv" in line
    assert (tmp_path / "table.csv").is_symlink() and target.read_text() == "mine\n"


def test_a_named_pipe_at_the_output_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)
    assert main(recipes_csv(tmp_path)) == 2
    assert "named pipe" in error_line(capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_device_node_at_the_output_is_refused(tmp_path, capsys):
    node = tmp_path / "table.csv"
    try:
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # a copy of /dev/null's node
    except (PermissionError, OSError):
        pytest.skip("this user cannot make device nodes")
    assert main(recipes_csv(tmp_path)) == 2
    assert "a device" in error_line(capsys)
    assert stat.S_ISCHR(os.lstat(node).st_mode)  # still the device, not a regular file


def test_the_library_refuses_non_regular_outputs_too(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(OutputError, match="named pipe"):
        write_text(tmp_path / "pipe", "x")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match="symbolic link"):
        write_text(tmp_path / "link", "x")
    assert not (tmp_path / "nowhere").exists()


# --- a file the command did not write ----------------------------------------------------------


def test_csv_over_a_foreign_file_needs_overwrite(tmp_path, capsys):
    mine = tmp_path / "table.csv"
    mine.write_text("name,score\nalice,3\n")
    assert main(recipes_csv(tmp_path)) == 2
    line = error_line(capsys)
    assert "--overwrite" in line and "table.csv" in line
    assert mine.read_text() == "name,score\nalice,3\n"
    assert main(recipes_csv(tmp_path, "--overwrite")) == 0
    assert "recipe" in pd.read_csv(mine).columns or len(pd.read_csv(mine).columns) > 2


def test_csv_over_the_commands_own_earlier_output_is_replaced(tmp_path, capsys):
    assert main(recipes_csv(tmp_path)) == 0
    first = (tmp_path / "table.csv").read_text()
    assert main(recipes_csv(tmp_path)) == 0  # no --overwrite needed for its own table
    assert (tmp_path / "table.csv").read_text() == first


def test_write_csv_compares_the_header(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(path, pd.DataFrame({"a": [1], "b": [2]}))
    write_csv(path, pd.DataFrame({"a": [3], "b": [4]}))
    with pytest.raises(OutputError, match="--overwrite"):
        write_csv(path, pd.DataFrame({"c": [5]}))
    assert pd.read_csv(path)["a"].tolist() == [3]
    write_csv(path, pd.DataFrame({"c": [5]}), overwrite=True)
    assert pd.read_csv(path).columns.tolist() == ["c"]


def test_a_plot_over_a_foreign_image_needs_overwrite(tmp_path):
    photo = tmp_path / "chart.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(photo)
    with pytest.raises(OutputError, match="--overwrite"):
        refuse_foreign_png(photo)
    from bisenet.analysis.speed import save_benchmark_plot

    table = pd.DataFrame({"model": ["m"], "size": ["8x8"], "batch": [1], "backend": ["eager"], "dtype": ["fp32"],
                          "median_ms": [1.0], "p10_ms": [0.9], "p90_ms": [1.1], "images_per_s": [1000.0]})  # fmt: skip
    before = photo.read_bytes()
    with pytest.raises(OutputError):
        save_benchmark_plot(table, photo)
    assert photo.read_bytes() == before
    save_benchmark_plot(table, photo, overwrite=True)
    refuse_foreign_png(photo)  # now the package's own plot: replaced without --overwrite next time


def test_ablate_refuses_a_foreign_results_file_before_training(tmp_path, capsys):
    mine = tmp_path / "results.csv"
    mine.write_text("name,score\nalice,3\n")
    args = ["ablate", "--scale", "smoke", "--variants", "bga", "--csv", str(mine), "--work-dir", str(tmp_path / "w")]
    assert main(args) == 2
    line = error_line(capsys)
    assert "not an ablation table" in line and "--overwrite" in line
    assert mine.read_text() == "name,score\nalice,3\n" and not (tmp_path / "w").exists()


def test_ablate_refuses_a_foreign_curves_file_before_training(tmp_path, capsys):
    mine = tmp_path / "curves.csv"
    mine.write_text("x\n1\n")
    args = ["ablate", "--scale", "smoke", "--variants", "bga", "--keep-runs", "--curves", str(mine),
            "--csv", str(tmp_path / "r.csv"), "--work-dir", str(tmp_path / "w")]  # fmt: skip
    assert main(args) == 2
    assert "not a table of validation curves" in error_line(capsys)
    assert mine.read_text() == "x\n1\n" and not (tmp_path / "r.csv").exists()


def test_eval_json_over_a_foreign_file_is_refused(tmp_path):
    from bisenet.atomic import refuse_foreign_json

    mine = tmp_path / "m.json"
    mine.write_text(json.dumps({"todo": 1}))
    with pytest.raises(OutputError, match="--overwrite"):
        refuse_foreign_json(mine, ["model", "mIoU"])
    mine.write_text(json.dumps({"mIoU": 1, "model": "x"}))
    refuse_foreign_json(mine, ["model", "mIoU"])  # the command's own earlier output


# --- predict never writes over an input ---------------------------------------------------------


def image(path, value: int = 0):
    Image.fromarray(np.full((64, 64, 3), value, np.uint8)).save(path)


def test_predict_out_set_to_an_input_folder_with_an_overlay_named_input_is_refused(tmp_path):
    image(tmp_path / "a.png", 10)
    image(tmp_path / "a_overlay.png", 20)  # the user's file, and an input too
    before = (tmp_path / "a_overlay.png").read_bytes()
    with pytest.raises(UsageError, match="is one of the inputs"):
        plan_outputs([tmp_path], tmp_path)
    assert (tmp_path / "a_overlay.png").read_bytes() == before


def test_predict_refuses_to_replace_an_image_it_did_not_write(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    image(tmp_path / "in" / "a.png")
    image(tmp_path / "out" / "a_overlay.png", 99)  # someone else's picture
    with pytest.raises(UsageError, match="not an overlay this package wrote"):
        plan_outputs([tmp_path / "in"], tmp_path / "out")


def test_predict_replaces_its_own_overlays_on_a_second_run(tmp_path, v2_checkpoint):
    (tmp_path / "in").mkdir()
    image(tmp_path / "in" / "a.png")
    args = ["predict", "--model", "bisenetv2", "--checkpoint", str(v2_checkpoint), str(tmp_path / "in"),
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 0  # its own overlay: replaced
    with Image.open(tmp_path / "out" / "a_overlay.png") as written:
        assert written.info.get("Software") == "bisenet"
