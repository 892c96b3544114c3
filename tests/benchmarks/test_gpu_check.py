"""The GPU check (benchmarks/gpu/run.sh) in its dry run: every step at toy sizes on the CPU, the
same code and CSVs as on a GPU. Run once for the module (about a minute and a half on the 2-core
build machine), then each test reads what it wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "benchmarks" / "gpu" / "run.sh"
PROVENANCE = ["gpu", "driver", "torch", "cuda", "commit", "date", "device", "status", "error", "step"]
COLUMNS = {
    "gpu_correctness.csv": ["check", "model", "dtype", "mode", "quantity", "error_value", "tolerance", "passed"],
    "gpu_inference.csv": [
        "model",
        "size",
        "batch",
        "dtype",
        "backend",
        "protocol",
        "median_ms",
        "p10_ms",
        "p90_ms",
        "images_per_s",
        "ratio_to_mmseg",
    ],
    "gpu_training.csv": ["config", "micro_step_ms", "iteration_ms", "peak_memory_gib", "zoo_memory_gb"],
    "gpu_dataloading.csv": ["pipeline", "workers", "images_per_s", "steady_images_per_s", "data_bound"],
    "gpu_estimate.csv": ["config", "layout", "s_per_iter", "total_hours", "rests_on"],
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> tuple[Path, float, str]:
    """(the folder the dry run wrote, its wall time in seconds, its output)."""
    out = tmp_path_factory.mktemp("gpu-check") / "out"
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    t0 = time.monotonic()
    done = subprocess.run(
        ["bash", str(RUN), "--dry-run", str(out)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    seconds = time.monotonic() - t0
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, seconds, done.stdout


def _table(out: Path, name: str) -> pd.DataFrame:
    path = out / name
    assert path.is_file(), f"{name} was not written"
    return pd.read_csv(path)


@pytest.mark.parametrize("name", list(COLUMNS))
def test_every_csv_has_its_columns_rows_provenance_and_no_failed_step(dry_run, name):
    out, _, _ = dry_run
    table = _table(out, name)
    missing = [c for c in COLUMNS[name] + PROVENANCE if c not in table.columns]
    assert not missing, f"{name} lacks {missing}"
    assert len(table) >= 3, f"{name}: {len(table)} rows"
    failed = table[table.status == "failed"]
    assert failed.empty, f"{name}: failed rows:\n{failed[['error']].to_string()}"
    assert set(table.status) <= {"ok", "skipped"}
    assert (table.status == "ok").sum() >= 3
    for column in ("gpu", "driver", "torch", "cuda", "commit", "date"):
        assert table[column].notna().all() and (table[column].astype(str).str.len() > 0).all(), column
    assert set(table.device) == {"cpu"} and set(table.run) == {"dry-run"}
    assert table.error[table.status == "skipped"].notna().all(), "a skipped row says why"


def test_correctness_checks_pass_on_the_cpu(dry_run):
    table = _table(dry_run[0], "gpu_correctness.csv")
    judged = table[table.passed.notna()]
    assert judged.passed.astype(str).eq("True").all(), judged[judged.passed.astype(str) != "True"].to_string()
    fb = table[table.check == "forward-backward"]
    assert set(fb.model) == {"bisenetv2", "bisenetv1-r18"}
    assert set(zip(fb.dtype, fb["mode"], strict=True)) == {
        ("fp32", "fp32"),
        ("fp32", "tf32"),
        ("fp16", "autocast"),
        ("bf16", "autocast"),
        ("fp16", "cast"),
        ("bf16", "cast"),
    }
    assert {"logits (eval)", "grad (eval): all", "logits (train)", "loss (train)"} <= set(fb.quantity)
    training = table[(table.check == "training") & (table.status == "ok")]
    assert set(training.dtype) == {"fp16", "bf16"} and "losses finite" in set(training.quantity)
    assert {"aAcc", "mIoU", "mAcc"} <= set(table[table.check == "evaluation"].quantity)
    divergence = table[table.check == "divergence"]  # the trainer's per-step check catches each case
    assert set(divergence["mode"]) == {"healthy", "NaN weight", "weight 2e6", "inf BN buffer"}


def test_inference_covers_the_grid_and_says_what_it_skipped(dry_run):
    table = _table(dry_run[0], "gpu_inference.csv")
    ok = table[table.status == "ok"]
    assert {"bisenetv2", "bisenetv1-r18", "bisenetv1-r50"} <= set(ok.model)
    assert set(ok.dtype) == {"fp32", "fp16", "bf16"} and set(ok.batch) == {1, 2}
    assert {"input-size", "v2-paper"} <= set(ok.protocol) and {"eager", "compile:default"} <= set(ok.backend)
    assert (ok.median_ms > 0).all() and (ok.p10_ms <= ok.p90_ms).all()
    graphs = table[table.backend.isin(["cuda-graph", "compile:reduce-overhead"])]
    assert len(graphs) and (graphs.status == "skipped").all()  # no CUDA graphs on the CPU
    mmseg = table[table.model.astype(str).str.startswith("mmseg:")]
    assert len(mmseg), "no mmseg rows"
    timed_or_why = (mmseg.status == "ok") | mmseg.error.astype(str).str.contains("import")
    assert timed_or_why.all(), mmseg[~timed_or_why][["status", "error"]].to_string()  # timed, or why not
    compiled = ok[ok.backend == "compile:default"]
    assert compiled.ratio_to_eager.notna().all() and compiled.rel_diff_to_eager.lt(1e-3).all()


def test_training_dataloading_estimate_and_profile(dry_run):
    out, seconds, stdout = dry_run
    training = _table(out, "gpu_training.csv")
    assert set(training.config) == {"V2 fp32", "V2 fp16", "V1 R-18 fp32"}
    assert sorted(training.zoo_memory_gb) == [5.69, 5.77, 7.64]
    assert (training.micro_step_ms > 0).all() and (training.iteration_ms > training.micro_step_ms).all()
    loading = _table(out, "gpu_dataloading.csv")
    assert {0, 1, 2} <= set(loading.workers) and (loading.images_per_s > 0).all()
    estimate = _table(out, "gpu_estimate.csv")
    assert set(estimate.config) == set(training.config) and (estimate.total_hours > 0).all()
    assert estimate.rests_on.str.contains("measured here").all()
    assert "top 30 by" in (out / "gpu_profile.txt").read_text()
    log = (out / "gpu_check.log").read_text()
    assert "=== profile: exit 0" in log and "FAILED" not in log
    assert len(list(out.iterdir())) <= 8  # the device tool brings back at most 8 files
    print(f"dry run: {seconds:.0f} s")
