"""The FLOP and parameter tables through ``bisenet flops`` (bisenet.analysis.flops); the per-model
figures against mmsegmentation's are in tests/models/test_structure.py."""

from __future__ import annotations

import pandas as pd
import pytest

from bisenet.cli import main


def test_flops_table_and_csv(tmp_path, capsys):
    csv = tmp_path / "flops.csv"
    assert main(["flops", "--model", "bisenetv2", "--size", "512x1024", "--csv", str(csv)]) == 0
    table = pd.read_csv(csv).set_index("component")
    assert table.loc["total", "gflops"] == pytest.approx(24.75, rel=0.005)
    assert table.loc["backbone.detail", "params"] == 519_232
    assert "backbone.bga" in capsys.readouterr().out
