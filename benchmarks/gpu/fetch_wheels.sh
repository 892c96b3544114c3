#!/usr/bin/env bash
# Download, on a machine that reaches PyPI, the pure-Python wheels that benchmarks/gpu/run.sh
# needs on a lent GPU machine (Python 3.12, torch, numpy, pandas, matplotlib, scipy, regex,
# opencv-python-headless, rich, pyyaml and packaging already there; no package registry):
#
#   cityscapesscripts               bisenet.data imports its label table (required)
#   mmsegmentation, mmengine,       mmseg 1.2.2's models, timed beside the package's (optional:
#   mmcv-lite + their pure-Python   without them the mmseg rows of gpu_inference.csv say so)
#   needs not on the GPU machine
#
# Usage, from the repository root:  bash benchmarks/gpu/fetch_wheels.sh [PIP]
# PIP: the pip to use (default: .venv/bin/python -m pip if there, else python3 -m pip).
# The wheels land in benchmarks/gpu/wheels/ (git-ignored; about 5 MB), which the device run
# carries (README.md beside this file).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=benchmarks/gpu/wheels
if [ $# -ge 1 ]; then PIP=($1); elif [ -x .venv/bin/python ]; then PIP=(.venv/bin/python -m pip); else PIP=(python3 -m pip); fi
mkdir -p "$DEST"
rm -f "$DEST"/*.whl

# one version of each; --no-deps: every package the GPU machine lacks is named here
PURE=(
  cityscapesscripts==2.3.0
  mmsegmentation==1.2.2
  mmengine==0.10.7
  addict==2.4.0
  yapf==0.43.0
  platformdirs==4.3.8
  termcolor==3.1.0
  prettytable==3.16.0
  wcwidth==0.2.13
  ftfy==6.3.1
)
"${PIP[@]}" download --quiet --no-deps --python-version 3.12 --only-binary=:all: -d "$DEST" "${PURE[@]}"

# mmcv-lite 2.1.0 (what mmseg 1.2.2 accepts: mmcv < 2.2.0) is published as a source archive
# only, whose setup.py imports pkg_resources (gone from setuptools 81 on): build it here, in a
# throwaway venv with an older setuptools, into a pure-Python wheel (no compiled ops)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "setuptools<81" wheel
"$WORK/venv/bin/python" -m pip download --quiet --no-deps --no-binary=:all: --no-build-isolation -d "$WORK" mmcv-lite==2.1.0
MMCV_WITH_OPS=0 "$WORK/venv/bin/python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$DEST" "$WORK"/mmcv*lite-2.1.0.tar.gz

ls -l "$DEST"
du -sh "$DEST"
