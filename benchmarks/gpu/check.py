"""The package's GPU check: correctness, inference speed, training step, data loading, an
estimate of a full recipe's wall time, and a profile, on one CUDA card.

``benchmarks/gpu/run.sh`` calls this file once per step, each in its own process under its own
timeout, so that a step that fails or hangs costs only its own results::

    python benchmarks/gpu/check.py STEP --out OUT_DIR --work WORK_DIR [--dry-run] [--budget SECONDS]

STEP is one of :data:`STEPS` (in order of value), or ``record-failure`` (what run.sh calls when a
step was killed: one failed row in that step's CSV). Every step writes one CSV under OUT_DIR,
rewritten after each row (a step killed half-way keeps what it measured), every row with the
provenance columns (gpu, driver, torch, cuda, commit, date, ...) and a ``status`` (ok, failed,
skipped) with the ``error`` or reason. A part of a step that fails becomes a failed row and the
step goes on with the next part.

``--dry-run`` runs the very same code at toy sizes on the CPU (``DRY_RUN``), for CI and for
checking the script before a GPU is at hand; its figures are never results. The real run's
sizes are ``GPU``.

This file parses the step and runs it; each step lives in a module of its own beside it:
``check_setup.py`` (the sizes, the provenance, the budget, the tables, the helpers every step
uses), ``check_correctness.py``, ``check_inference.py``, ``check_training.py``,
``check_dataloading.py`` and ``check_estimate.py`` (the estimate and the profile).
"""

from __future__ import annotations

import time

START = time.monotonic()  # the step's budget counts from here (before torch is imported)

import argparse  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
for _path in (REPO, REPO / "benchmarks"):  # the package from this tree; mmseg_env beside it
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from check_correctness import CORRECTNESS_COLUMNS, step_correctness  # noqa: E402
from check_dataloading import DATALOADING_COLUMNS, step_dataloading  # noqa: E402
from check_estimate import ESTIMATE_COLUMNS, step_estimate, step_profile  # noqa: E402
from check_inference import INFERENCE_COLUMNS, step_inference  # noqa: E402
from check_setup import CSV_FILES, DRY_RUN, GPU, PROFILE_FILE, STEPS, Budget, Sizes, environment, error_text, open_table  # noqa: E402
from check_training import TRAINING_COLUMNS, step_training  # noqa: E402

STEP_FUNCTIONS: dict[str, Callable[[Sizes, Path, Path, Budget, dict[str, str]], None]] = {
    "correctness": step_correctness,
    "inference": step_inference,
    "training": step_training,
    "dataloading": step_dataloading,
    "estimate": step_estimate,
    "profile": step_profile,
}


STEP_COLUMNS = {
    "correctness": CORRECTNESS_COLUMNS,
    "inference": INFERENCE_COLUMNS,
    "training": TRAINING_COLUMNS,
    "dataloading": DATALOADING_COLUMNS,
    "estimate": ESTIMATE_COLUMNS,
}


def record_failure(step: str, error: str, sizes: Sizes, out: Path) -> None:
    """Append one failed row to the step's CSV (kept rows stay): what run.sh calls for a step
    that was killed or crashed before it could say so itself."""
    if step == "profile":
        with open(out / PROFILE_FILE, "a") as f:
            f.write(f"\nstep failed: {error}\n")
        return
    table = open_table(step, out, STEP_COLUMNS[step], environment(sizes))
    path = out / CSV_FILES[step]
    if path.exists() and path.stat().st_size:
        previous = pd.read_csv(path)
        kept = [c for c in ["step", "status", "error", *table.columns] if c in previous]
        table.rows = previous[kept].to_dict("records")
    table.add("failed", error)


def main(argv: Iterable[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=[*STEPS, "record-failure"])
    p.add_argument("--out", required=True, type=Path, help="where the CSVs go")
    p.add_argument("--work", required=True, type=Path, help="scratch space (MiniCity, training runs)")
    p.add_argument("--dry-run", action="store_true", help="toy sizes on the CPU")
    p.add_argument("--budget", type=float, default=120.0, help="seconds this step may take (run.sh's timeout)")
    p.add_argument("--failed-step", help="record-failure: the step")
    p.add_argument("--error", default="", help="record-failure: what happened")
    args = p.parse_args(list(argv) if argv is not None else None)
    sizes = DRY_RUN if args.dry_run else GPU
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.step == "record-failure":
        record_failure(args.failed_step, args.error, sizes, args.out)
        return 0
    if sizes.device == "cuda" and not torch.cuda.is_available():
        message = (
            f"torch {torch.__version__} sees no CUDA device: run the dry run (--dry-run) on a machine without a GPU"
        )
        if args.step in CSV_FILES:
            open_table(args.step, args.out, STEP_COLUMNS[args.step], environment(sizes)).add("failed", message)
        else:
            (args.out / PROFILE_FILE).write_text(f"step {args.step} failed: {message}\n")
        print(message, flush=True)
        return 0
    info = environment(sizes)
    budget = Budget(args.budget, START)
    print(
        f"step {args.step} ({sizes.name}, budget {args.budget:.0f} s, {budget.left():.0f} s left after imports); "
        f"{info['gpu']}, torch {info['torch']}, cuda {info['cuda']}, commit {info['commit']}",
        flush=True,
    )
    try:
        STEP_FUNCTIONS[args.step](sizes, args.out, args.work, budget, info)
    except Exception as e:  # noqa: BLE001 - the step's failure is a row, and run.sh goes on
        traceback.print_exc()
        if args.step in CSV_FILES:
            table = open_table(args.step, args.out, STEP_COLUMNS[args.step], info)
            path = args.out / CSV_FILES[args.step]
            if path.exists() and path.stat().st_size:
                table.rows = pd.read_csv(path)[["step", "status", "error", *table.columns]].to_dict("records")
            table.add("failed", error_text(e))
        else:
            with open(args.out / PROFILE_FILE, "a") as f:
                f.write(f"\nstep failed: {error_text(e)}\n")
    print(f"step {args.step} done in {time.monotonic() - START:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
