"""The types of the command line's options: each turns the text of one option into a value or
refuses it at once, naming the value and the rule, before any work starts. None imports torch.

``argparse`` prints the refusal as one line, ``bisenet <command>: error: argument --iters: must
be a positive integer, got '-3'``, and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

MIN_SIDE = 32  # the models' smallest input side (bisenet.models.base.MIN_INPUT_SIZE)
MAX_PIXELS = 4 * 2048 * 1024  # 4x Cityscapes' frame: larger inputs do not fit in a workstation's memory
MAX_CLASSES = 1000
ONNX_OPSETS = range(11, 21)  # Resize to a size needs opset 11; torch's TorchScript exporter stops at 20


def _refuse(rule: str, text: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{rule}, got {text!r}")


def _int_at_least(text: str, low: int, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _refuse(rule, text) from None
    if value < low:
        raise _refuse(rule, text)
    return value


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "must be a positive integer")


def class_count(text: str) -> int:
    """A number of classes: 1 to 1000."""
    value = positive_int(text)
    if value > MAX_CLASSES:
        raise _refuse(f"must be a class count from 1 to {MAX_CLASSES}", text)
    return value


def threads(text: str) -> int:
    """CPU threads: 0 (torch's choice) up to the machine's core count."""
    value = non_negative_int(text)
    cores = os.cpu_count() or 1
    if value > cores:
        raise _refuse(f"must be from 0 to this machine's {cores} cores", text)
    return value


def unique(items: list, what: str, text: str) -> list:
    """``items`` unless one is listed twice (a benchmark, a grid, would count it twice)."""
    twice = sorted({str(x) for x in items if items.count(x) > 1})
    if twice:
        raise _refuse(f"lists {what} {', '.join(twice)} more than once", text)
    return items


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0, "must be an integer >= 0")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _refuse("must be a positive number", text) from None
    if not value > 0 or value == float("inf"):
        raise _refuse("must be a positive number", text)
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _refuse("must be a number from 0 to 1", text) from None
    if not 0 <= value <= 1:
        raise _refuse("must be a number from 0 to 1", text)
    return value


def rgb(text: str) -> tuple[int, int, int]:
    """``R,G,B``, each 0..255."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise _refuse("a colour must look like R,G,B (e.g. 0,0,0)", text) from None
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise _refuse("a colour must be three integers 0..255, R,G,B", text)
    return values


def suffix(text: str) -> str:
    """A file-name ending such as ``.png`` or ``_labelTrainIds.png``."""
    if not text or "/" in text or "." not in text:
        raise _refuse("a suffix must end the file name and hold its extension, e.g. .png or _mask.png", text)
    return text


def size(text: str) -> tuple[int, int]:
    """``HxW``, both sides at least 32."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise _refuse("size must look like HxW (e.g. 512x1024)", text) from None
    if h < MIN_SIDE or w < MIN_SIDE:
        raise _refuse(f"size must be at least {MIN_SIDE}x{MIN_SIDE}", text)
    if h * w > MAX_PIXELS:
        raise _refuse(f"size must have at most {MAX_PIXELS:,} pixels (2048x4096, 4x Cityscapes' frame)", text)
    return h, w


def sizes(text: str) -> list[tuple[int, int]]:
    """``HxW[,HxW...]``."""
    try:
        return [size(part) for part in text.split(",")]
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{e} in {text!r}") from None


def model_names(text: str) -> list[str]:
    """Comma-separated registered model names."""
    from bisenet.models import available_models

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in available_models()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {unknown or text!r}; available: {', '.join(available_models())}"
        )
    return unique(names, "the model", text)


def model_name(text: str) -> str:
    """One registered model name."""
    names = model_names(text)
    if len(names) > 1:
        raise _refuse("takes one model (bisenet bench and flops take several)", text)
    return names[0]


def opset(text: str) -> int:
    value = positive_int(text)
    if value not in ONNX_OPSETS:
        raise _refuse(f"ONNX opset must be from {ONNX_OPSETS[0]} to {ONNX_OPSETS[-1]}", text)
    return value


def existing_file(text: str) -> Path:
    path = Path(text).expanduser()
    if path.is_dir():
        raise _refuse("is a folder; give a file", text)
    if not path.is_file():
        raise _refuse("no such file", text)
    return path


def input_file(text: str) -> Path:
    """A file to read that the library checks for itself before any work (``--pretrained``):
    refused here only when it is a folder."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise _refuse("is a folder; give a file", text)
    return path


def input_dir(text: str) -> Path:
    """A folder to read (a dataset root): refused when it is a file; a missing one is left to
    the dataset, whose message says how to make it (``bisenet minicity --out ...``)."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise _refuse("is a file; give a folder", text)
    return path


def output_file(text: str) -> Path:
    """A file to write: not a folder, in a folder that exists or can be made, with permission
    (:func:`bisenet.atomic.check_writable`)."""
    from bisenet.atomic import check_writable
    from bisenet.errors import OutputError

    try:
        return check_writable(Path(text).expanduser())
    except OutputError as e:
        raise _refuse(str(e), text) from None


def output_dir(text: str) -> Path:
    """A folder to write into: a folder, or one that can be made."""
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise _refuse("is a file; give a folder", text)
    if path.is_dir():
        if not os.access(path, os.W_OK):
            raise _refuse("cannot be written: no permission", text)
        return path
    return output_file(text)  # a folder still to be made: as a new file would be


def output_path(text: str) -> Path:
    """A file or a folder to write (what it must be depends on another option, e.g. ``export
    --format``): an existing folder, or a path that can be made."""
    path = Path(text).expanduser()
    return output_dir(text) if path.is_dir() else output_file(text)


def seeds(text: str) -> tuple[int, ...]:
    """Comma-separated seeds, each an integer >= 0."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise _refuse("must be comma-separated integers >= 0 (e.g. 0,1,2)", text) from None
    if any(v < 0 for v in values):
        raise _refuse("must be comma-separated integers >= 0 (e.g. 0,1,2)", text)
    return tuple(unique(list(values), "the seed", text))


def recipe_name(text: str) -> str:
    from bisenet.recipes import all_recipes

    if text not in all_recipes():
        raise argparse.ArgumentTypeError(f"unknown recipe {text!r}; `bisenet recipes` lists them")
    return text


def variants(text: str) -> str:
    from bisenet.ablation import parse_variants

    if not text.strip():
        raise argparse.ArgumentTypeError("must name variants (all, table2, table3a or names), got ''")
    try:
        unique(parse_variants(text), "the variant", text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def backends(text: str) -> tuple[str, ...]:
    from bisenet.analysis.backends import BACKENDS as known

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or any(n not in known for n in names):
        raise argparse.ArgumentTypeError(f"backends must be some of {', '.join(known)}, got {text!r}")
    return tuple(unique(names, "the backend", text))


def zoo_row(text: str) -> str:
    from bisenet.zoo import find_entry

    try:
        return find_entry(text).name
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
