"""The ``bisenet`` command line: ``bisenet <command> --help`` for each command.

Each command is declared beside what it does, in the module of its kind
(:mod:`~bisenet.cli.models`, :mod:`~bisenet.cli.training`, :mod:`~bisenet.cli.evaluation`): its
arguments (``add_<command>``), then a function that calls the library and prints what it returns
(``cmd_<command>``); the work is done in the package's modules, which a Python caller
uses the same way. Every option's value is checked while parsing (:mod:`bisenet.cli.arguments`:
counts, sizes, files to read, files and folders to write), so a wrong value is refused before any
work starts. One place turns errors into messages: a refused argument or an error the library
raises on bad input (:class:`bisenet.errors.BiSeNetError`: a missing file, an unknown model, a
dataset that cannot be read) is printed as one line, ``error: <message>``, with exit status 2;
anything else is a bug and keeps its traceback (exit status 1), so that it gets reported.
Nothing heavy (torch) is imported before a command runs, so ``bisenet --help`` is quick.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from bisenet.cli import arguments as a
from bisenet.cli import evaluation, models, training
from bisenet.cli.options import DEVICE_HELP

__all__ = ["DEVICE_HELP", "Parser", "build_parser", "main"]


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose refusals are one line: ``<prog>: error: <message> (see
    <prog> --help)``, exit status 2 (argparse's own prints the usage block first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="bisenet",
        description="BiSeNet V1 and V2: the models, their FLOPs and speed, training, evaluation, "
        "the paper's ablations, checkpoint conversion, export and prediction.",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for add in (*models.COMMANDS, *training.COMMANDS, *evaluation.COMMANDS):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit status (2: refused input, with a one-line message)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a refused argument (2), already printed
        return int(e.code or 0)
    if not getattr(args, "func", None):
        print("bisenet: error: no command given (see bisenet --help)", file=sys.stderr)
        return 2
    import warnings

    from bisenet.errors import BiSeNetError

    try:
        with warnings.catch_warnings(), _one_line_warnings():
            warnings.filterwarnings("once", category=UserWarning)  # a warning met twice is said once
            _refuse_clashing_paths(parser, args)
            return args.func(args)
    except BiSeNetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C: no traceback; what was written is whole (bisenet.atomic)
        print(f"interrupted{': ' + str(e) if str(e) else ''}", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _one_line_warnings():
    """Warnings printed as :func:`_one_line_warning` for the block, and as before after it (a
    Python caller of :func:`main`, a notebook, keeps its own format)."""
    import warnings

    before = warnings.formatwarning
    warnings.formatwarning = _one_line_warning
    try:
        yield
    finally:
        warnings.formatwarning = before


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as the command line shows it: ``warning: ...``, without Python's file and line."""
    return f"warning: {message}\n"


def _refuse_clashing_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse an output that is also an input of the command, or two outputs at one path (one
    would overwrite the other): e.g. ``export --checkpoint X --onnx X`` or ``bench --csv F --plot F``."""
    from bisenet.errors import UsageError

    sub = next(x for x in parser._actions if isinstance(x, argparse._SubParsersAction)).choices[args.command]
    reads = (a.existing_file, a.input_file)
    writes = (a.output_file,)
    seen: dict = {}
    for action in sub._actions:
        value = getattr(args, action.dest, None)
        if value is None or action.type not in reads + writes:
            continue
        name = (action.option_strings or [action.dest])[0]
        key, this_reads = Path(value).expanduser().resolve(), action.type in reads
        if key in seen and not (seen[key][1] and this_reads):  # reading one file twice is fine
            first, first_reads = seen[key]
            what = (
                "the output would overwrite the input"
                if first_reads or this_reads
                else "one output would overwrite the other"
            )
            raise UsageError(f"{name} {value} is also {first}: {what}; give another file")
        seen.setdefault(key, (name, this_reads))


if __name__ == "__main__":
    sys.exit(main())
