"""The latency benchmark's backends and plot, through ``bisenet bench`` (bisenet.analysis.speed)."""

from __future__ import annotations

import pandas as pd
import pytest

from bisenet.cli import main


def test_bench_backends_and_plot(tmp_path):
    pytest.importorskip("onnxruntime")
    csv, png = tmp_path / "b.csv", tmp_path / "b.png"
    assert (
        main(
            [
                "bench",
                "--model",
                "bisenetv2",
                "--size",
                "64x64",
                "--runs",
                "2",
                "--warmup",
                "1",
                "--backend",
                "eager,onnxruntime",
                "--fold-bn",
                "--csv",
                str(csv),
                "--plot",
                str(png),
            ]
        )
        == 0
    )
    table = pd.read_csv(csv)
    assert set(table.backend) == {"eager", "onnxruntime"} and table.fold_bn.all()
    assert png.stat().st_size > 1000 and "command" in table.columns
