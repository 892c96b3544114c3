"""The official Cityscapes pixel-level evaluation (cityscapesscripts'
``evalPixelLevelSemanticLabeling``), called on lists of files and made safe to call from Python.

The script ``sys.exit()``s on any error and prints a report; here errors become
``CityscapesEvalError`` with the script's message, printing is off, no JSON file is written, and
the instance-level score (which needs ``*_instanceIds.png`` files and calls ``np.in1d``, removed
in numpy 2.4) is switched off. The class IoUs and their mean are the official ones.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence
from pathlib import Path


class CityscapesEvalError(RuntimeError):
    """cityscapesscripts refused the files; the message is its own."""


def official_miou(prediction_files: Sequence[str | Path], ground_truth_files: Sequence[str | Path]) -> dict:
    """Evaluate predictions (PNG files of Cityscapes *label ids*) against ``*_gtFine_labelIds.png``
    files, pair by pair. Returns ``{"mIoU": float, "iou": {class: float or nan}}`` (fractions)."""
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as official

    if len(prediction_files) != len(ground_truth_files) or not prediction_files:
        raise CityscapesEvalError(
            f"need as many predictions as ground truths (got {len(prediction_files)} and "
            f"{len(ground_truth_files)}), and at least one"
        )
    args = copy.copy(official.args)
    args.evalInstLevelScore = False
    args.JSONOutput = False
    args.quiet = True
    args.colorized = False
    args.bold = args.nocol = ""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            result = official.evaluateImgLists(
                [str(p) for p in prediction_files], [str(p) for p in ground_truth_files], args
            )
    except SystemExit as e:
        message = out.getvalue().strip().splitlines()
        raise CityscapesEvalError(message[-1] if message else f"cityscapesscripts exited with {e.code}") from None
    return {"mIoU": result["averageScoreClasses"], "iou": dict(result["classScores"])}
