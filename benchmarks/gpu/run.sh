#!/usr/bin/env bash
# The package's GPU check, in one call on a lent GPU machine (README.md beside this file):
#
#   bash benchmarks/gpu/run.sh OUT_DIR              the real run: one CUDA GPU, under 8 minutes
#   bash benchmarks/gpu/run.sh --dry-run OUT_DIR    the same code at toy sizes on the CPU (CI, checks)
#   ... --steps correctness,training OUT_DIR        only these steps (a rerun of what failed)
#
# It sets up the environment (the package from this tree on PYTHONPATH, the carried wheels of
# benchmarks/gpu/wheels installed into a scratch folder), then runs each step of check.py in its
# own process under its own timeout. A step that fails or is killed leaves a failed row in its
# CSV and the log, and the next step runs. What it writes in OUT_DIR (7 files: the device tool
# brings back at most 8): gpu_correctness.csv, gpu_inference.csv, gpu_training.csv,
# gpu_dataloading.csv, gpu_estimate.csv, gpu_profile.txt, gpu_check.log.
#
# Environment: PYTHON (default: .venv/bin/python if the tree has one, else python3);
# BISENET_COMMIT (the commit to record where the tree travelled without git).
set -u -o pipefail

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

DRY=0
STEPS=correctness,inference,training,dataloading,estimate,profile
OUT_DIR=
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1 ;;
    --steps) [ $# -ge 2 ] || usage; STEPS=$2; shift ;;
    -h|--help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) [ -z "$OUT_DIR" ] || usage; OUT_DIR=$1 ;;
  esac
  shift
done
[ -n "$OUT_DIR" ] || usage

# seconds each step may take (its timeout; check.py plans its own work within it), plus what the
# steps before it left unused (so the whole run never takes more than the sum, 430 s, plus the
# set-up: under 8 minutes on one H100/H200; the inference step's compiles use the spare time).
declare -A BUDGET=([correctness]=110 [inference]=160 [training]=55 [dataloading]=65 [estimate]=15 [profile]=25)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$OUT_DIR" && OUT_DIR=$(cd "$OUT_DIR" && pwd) || exit 1
LOG=$OUT_DIR/gpu_check.log
: >"$LOG"
log() { echo "$*" | tee -a "$LOG"; }

# the interpreter: $PYTHON if given; else, for the real run, the first of the active conda or
# virtual environment, the repository's .venv and python3 whose torch sees a CUDA device (a
# default `make test` leaves a CPU-only .venv behind); for the dry run the .venv first
cuda_python() { "$1" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; }
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
else
  CANDIDATES=()
  [ -n "${CONDA_PREFIX:-}" ] && CANDIDATES+=("$CONDA_PREFIX/bin/python")
  [ -n "${VIRTUAL_ENV:-}" ] && CANDIDATES+=("$VIRTUAL_ENV/bin/python")
  if [ $DRY = 1 ]; then CANDIDATES=("$REPO/.venv/bin/python" "${CANDIDATES[@]}"); else CANDIDATES+=("$REPO/.venv/bin/python"); fi
  CANDIDATES+=(python3)
  PY=
  for candidate in "${CANDIDATES[@]}"; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    if [ $DRY = 1 ] || cuda_python "$candidate"; then PY=$candidate; break; fi
  done
  [ -n "$PY" ] || PY=python3  # no CUDA anywhere: every step then says so in its rows
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bisenet-gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg
export BISENET_CACHE=$WORK/cache  # nothing written to ~/.cache
T0=$SECONDS

log "bisenet GPU check ($([ $DRY = 1 ] && echo 'dry run: toy sizes on the CPU' || echo 'real run')), $(date -u +%Y-%m-%dT%H:%M:%SZ), host ${HOSTNAME:-?}"
log "repository $REPO, commit $(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo "${BISENET_COMMIT:-unknown} (no git here)")"
log "python: $PY ($("$PY" --version 2>&1)); CPU cores: $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv 2>&1 | tee -a "$LOG"
else
  log "nvidia-smi: not found"
fi

# the wheels the GPU machine lacks (fetch_wheels.sh downloads them here), into a scratch folder
SITE=
WHEELS=("$REPO"/benchmarks/gpu/wheels/*.whl)
if [ -e "${WHEELS[0]}" ]; then
  if "$PY" -m pip install -q --no-index --find-links "$REPO/benchmarks/gpu/wheels" --no-deps --no-compile --no-cache-dir --target "$WORK/site" "${WHEELS[@]}" >>"$LOG" 2>&1; then
    SITE=$WORK/site
    log "installed ${#WHEELS[@]} carried wheels into $SITE"
  else
    log "WARNING: installing the carried wheels failed (see above); going on without them"
  fi
else
  log "no carried wheels in benchmarks/gpu/wheels (run benchmarks/gpu/fetch_wheels.sh where PyPI is reachable, and carry that folder)"
fi
export PYTHONPATH="$REPO:$REPO/benchmarks${SITE:+:$SITE}${PYTHONPATH:+:$PYTHONPATH}"

# what the steps need: the package's imports (cityscapesscripts among them); mmseg is optional
"$PY" - <<'EOF' 2>&1 | tee -a "$LOG"
try:
    import torch, numpy, pandas, PIL, matplotlib, tqdm, cityscapesscripts.helpers.labels, bisenet.engine.trainer
except Exception as e:
    print(f"WARNING: the package does not import ({type(e).__name__}: {e}): the steps will record it; "
          "carry benchmarks/gpu/wheels (fetch_wheels.sh)")
import torch
cuda = torch.cuda.is_available()
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
      f"GPU: {torch.cuda.get_device_name(0) if cuda else 'none'}")
try:
    from mmseg_env import import_mmseg
    print(f"mmseg {import_mmseg().__version__} imports (its rows in gpu_inference.csv)")
except Exception as e:
    print(f"mmseg does not import ({type(e).__name__}: {e}); its rows in gpu_inference.csv say so")
EOF
log "set-up: $((SECONDS - T0)) s"

DRYFLAG=()
[ $DRY = 1 ] && DRYFLAG=(--dry-run)
CHECK=$REPO/benchmarks/gpu/check.py

SPARE=0  # seconds the steps so far left unused
run_step() {
  local step=$1 budget=$((BUDGET[$1] + SPARE)) start=$SECONDS rc reason
  [ "$budget" -ge 20 ] || budget=20
  log "=== $step (timeout ${budget} s: ${BUDGET[$1]} s + ${SPARE} s left by the steps before) at $((SECONDS - T0)) s"
  timeout --kill-after=10 "$budget" "$PY" "$CHECK" "$step" --out "$OUT_DIR" --work "$WORK" \
    --budget "$budget" "${DRYFLAG[@]}" 2>&1 | tee -a "$LOG"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then reason="timed out after $budget s (killed by run.sh; rows written before stay)"
    else reason="the process exited with code $rc (see gpu_check.log)"; fi
    log "step $step FAILED: $reason"
    "$PY" "$CHECK" record-failure --failed-step "$step" --error "$reason" --out "$OUT_DIR" --work "$WORK" \
      "${DRYFLAG[@]}" 2>&1 | tee -a "$LOG" || log "(could not record it in the step's CSV)"
  fi
  SPARE=$((budget - (SECONDS - start)))  # negative after an overrun (kill grace, recording the failure):
  [ "$SPARE" -ge -60 ] || SPARE=-60       # the next steps give it back, each keeping 20 s at least
  log "=== $step: exit $rc, $((SECONDS - start)) s"
}

IFS=, read -r -a CHOSEN <<<"$STEPS"
for step in "${CHOSEN[@]}"; do
  if [ -z "${BUDGET[$step]+x}" ]; then log "unknown step $step (steps: ${!BUDGET[*]})"; continue; fi
  run_step "$step"
done

log "done in $((SECONDS - T0)) s; in $OUT_DIR:"
ls -l "$OUT_DIR" | tee -a "$LOG"
# a short table last (the device tool's reply carries the end of the output)
"$PY" - "$OUT_DIR" <<'EOF' 2>&1 | tee -a "$LOG"
import sys
from pathlib import Path
import pandas as pd
out = Path(sys.argv[1])
for name in ("correctness", "inference", "training", "dataloading", "estimate"):
    path = out / f"gpu_{name}.csv"
    if not path.exists():
        print(f"{path.name}: missing")
        continue
    t = pd.read_csv(path)
    counts = ", ".join(f"{k} {v}" for k, v in t.status.value_counts().items())
    extra = ""
    if name == "correctness" and "passed" in t:
        judged = t[t.passed.notna()]
        failed = judged[judged.passed.astype(str) == "False"]
        extra = f"; checks passed {len(judged) - len(failed)}/{len(judged)}" + (
            "; FAILED: " + "; ".join(f"{r.model} {r.dtype} {r.mode} {r.quantity}" for r in failed.itertuples()) if len(failed) else "")
    print(f"{path.name}: {len(t)} rows ({counts}){extra}")
    if name == "estimate" and "total_hours" in t:
        for r in t[t.status == "ok"].itertuples():
            print(f"  {r.config:14s} {r.layout:62s} {r.total_hours:6.1f} h ({r.bound})")
    if name == "training" and "micro_step_ms" in t:
        for r in t[t.status == "ok"].itertuples():
            print(f"  {r.config:14s} {r.micro_step_ms:8.1f} ms/micro-step  {r.iteration_ms:8.1f} ms/iteration  peak {r.peak_memory_gib:.2f} GiB (zoo {r.zoo_memory_gb})")
    if name == "inference" and "median_ms" in t:
        ok = t[(t.status == "ok") & (t.batch == 1)]
        for r in ok.head(40).itertuples():
            print(f"  {r.set:7s} {r.model:20s} {r.size:>22s} b{int(r.batch)} {r.dtype} {r.backend:36s} {r.median_ms:8.2f} ms")
EOF
exit 0
