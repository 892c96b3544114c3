"""An installed, non-editable package writes nothing inside its install folder (ARCHITECTURE.md):
every command that writes takes its paths from arguments, the working folder, or the cache
(``BISENET_CACHE``, else ``~/.cache/bisenet``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# every command that writes, in a fresh working folder, with the defaults of its paths
SCRIPT = r"""
import sys
import bisenet
from bisenet.cli import main

assert bisenet.__file__.startswith(sys.argv[1]), bisenet.__file__
ckpt = "work_dirs/bisenetv2-smoke/iter_2.pth"
commands = [
    ["minicity", "--out", "data", "--train", "4", "--val", "2", "--size", "64x128"],
    ["train", "--recipe", "bisenetv2-smoke", "--data-root", "data", "--iters", "2"],
    ["eval", "--model", "bisenetv2", "--checkpoint", ckpt, "--data", "minicity", "--data-root", "data",
     "--predictions", "preds", "--json", "metrics.json"],
    ["predict", "--checkpoint", ckpt, "data/leftImg8bit/val"],
    ["export", "--model", "bisenetv2", "--checkpoint", ckpt, "--onnx", "model.onnx", "--size", "64x128"],
    ["convert", "--from", "mmseg", "mmseg_layout.pth", "converted.pth"],
    ["ablate", "--scale", "smoke", "--variants", "semantic", "--quiet"],
    ["book-cache"],
]
for command in commands:
    if command[0] == "convert":  # the trained weights in mmseg's layout, as its model zoo ships them
        import torch
        state = torch.load(ckpt, weights_only=True)["model"]
        torch.save({"meta": {}, "state_dict": state}, "mmseg_layout.pth")
    assert main(command) == 0, command
"""


def files_in(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.slow
def test_an_installed_package_writes_nothing_into_its_install_folder(tmp_path):
    source = tmp_path / "source"  # a copy, so that building the wheel leaves the checkout as it is
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "bisenet", source / "bisenet", ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path / "site"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    before = files_in(site)
    assert any(name.startswith("bisenet/") for name in before)

    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("BISENET_CACHE", "CITYSCAPES_DATASET")}
    env.update(
        PYTHONPATH=str(site),
        HOME=str(home),
        BISENET_PROFILE="smoke",
        PYTHONDONTWRITEBYTECODE="1",
        OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"),
    )
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(site)], cwd=work, env=env, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]

    assert files_in(site) == before, sorted(set(files_in(site)) ^ set(before))
    written = files_in(work)
    for expected in (
        "data/minicity.json",
        "work_dirs/bisenetv2-smoke/log.jsonl",
        "metrics.json",
        "model.onnx",
        "converted.pth",
        "ablations_smoke.csv",
    ):
        assert expected in written, expected
    assert any(name.startswith("predictions/") for name in written)
    assert (home / ".cache" / "bisenet" / "runs" / "bisenetv2-smoke-minicity" / "final.pth").exists()


def test_the_conda_environment_installs_what_the_makefile_installs():
    """A GPU reader's conda environment (environment.yml) gets the package with the same extras
    as `make test` / `make book` (chapter 18 imports onnxruntime and imageio from them)."""
    import re

    makefile = (REPO / "Makefile").read_text()
    environment = (REPO / "environment.yml").read_text()
    extras = [set(m.split(",")) for m in re.findall(r"-e \"?\.\[([a-z,]+)\]", makefile)]
    conda = [set(m.split(",")) for m in re.findall(r"- -e \.\[([a-z,]+)\]", environment)]
    assert extras and conda == extras, (extras, conda)
    declared = set(
        re.findall(
            r"^(\w+) = \[",
            (REPO / "pyproject.toml").read_text().split("optional-dependencies]")[1].split("[project.scripts]")[0],
            re.M,
        )
    )
    assert conda[0] == declared, f"extras in pyproject.toml {declared}, environment.yml {conda[0]}"
