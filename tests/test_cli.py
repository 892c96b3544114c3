"""The ``bisenet`` command line."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pandas as pd
import pytest

from bisenet.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bisenet", *args], capture_output=True, text=True)


def test_console_script_is_registered():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("bisenet") == "bisenet.cli:main"


def test_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0
    for command in ("models", "flops", "bench"):
        assert command in out.stdout


def test_models_lists_parameter_counts(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "bisenetv2" in out and "3,358,883" in out and "14,804,255" in out
    assert "13,275,539" in out


def test_flops_table_and_csv(tmp_path, capsys):
    csv = tmp_path / "flops.csv"
    assert main(["flops", "--model", "bisenetv2", "--size", "512x1024", "--csv", str(csv)]) == 0
    table = pd.read_csv(csv).set_index("component")
    assert table.loc["total", "gflops"] == pytest.approx(24.75, rel=0.005)
    assert table.loc["backbone.detail", "params"] == 519_232
    assert "backbone.bga" in capsys.readouterr().out


def test_bench_prints_and_writes_provenance(tmp_path, capsys):
    csv = tmp_path / "bench.csv"
    code = main(
        ["bench", "--model", "bisenetv2,bisenetv1-r18", "--size", "64x128,96x96",
         "--runs", "2", "--warmup", "1", "--threads", "1", "--csv", str(csv)]
    )
    assert code == 0
    table = pd.read_csv(csv)
    assert len(table) == 4
    assert set(table["model"]) == {"bisenetv2", "bisenetv1-r18"}
    assert (table["median_ms"] > 0).all() and (table["p10_ms"] <= table["p90_ms"]).all()
    assert {"torch", "cpu", "threads", "commit", "date"} <= set(table.columns)
    assert "interleaved" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["bench", "--model", "bisenetv3"], "unknown model"),
        (["bench", "--size", "512by1024"], "HxW"),
        (["flops", "--model", "bisenetv2", "--size", "16x16"], "at least 32x32"),
    ],
)
def test_bad_arguments_are_explained(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr
