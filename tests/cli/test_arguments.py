"""Every option of every command refuses a malformed value at once: exit status 2, one line
naming the option and the value, no traceback (bisenet.cli.arguments and the library's own
checks, both reported by bisenet.cli.main)."""

from __future__ import annotations

import argparse

import pytest

from bisenet.cli import arguments as a
from bisenet.cli import build_parser, main


@pytest.fixture
def places(tmp_path, v2_checkpoint):
    """Paths the malformed values are made of, and a valid argument list per command."""
    folder = tmp_path / "a_folder"
    folder.mkdir()
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    valid = {
        "models": [],
        "recipes": [],
        "book-cache": [],
        "bench": [],
        "flops": ["--model", "bisenetv2"],
        "export": ["--onnx", str(tmp_path / "m.onnx")],
        "convert": ["--from", "mmseg", str(v2_checkpoint), str(tmp_path / "out.pth")],
        "predict": ["--checkpoint", str(v2_checkpoint), str(folder)],
        "train": ["--recipe", "bisenetv2-smoke"],
        "ablate": ["--scale", "smoke"],
        "minicity": ["--out", str(tmp_path / "mc")],
        "eval": ["--checkpoint", str(v2_checkpoint), "--data", "minicity"],
        "zoo": ["verify", str(v2_checkpoint)],
        "check-data": ["--data-root", str(folder)],
    }
    malformed = {
        a.positive_int: ["0", "-3", "x"],
        a.non_negative_int: ["-1", "1.5"],
        a.positive_float: ["0", "-0.1", "nan"],
        a.fraction: ["5", "-0.1"],
        a.size: ["16x16", "512by1024"],
        a.sizes: ["512x1024,10x10"],
        a.model_names: ["bisenetv3"],
        a.model_name: ["bisenetv2,bisenetv1-r18", "nope"],
        a.opset: ["5", "99"],
        a.existing_file: [str(tmp_path / "missing.pth"), str(folder)],
        a.input_file: [str(folder)],
        a.input_dir: [str(a_file)],
        a.output_file: [str(folder), str(a_file / "inside.csv")],
        a.output_dir: [str(a_file)],
        a.rgb: ["1,2", "0,0,300", "red"],
        a.suffix: ["png", "a/b.png"],
        a.seeds: ["a,b", "-1"],
        a.recipe_name: ["nope"],
        a.variants: ["nope"],
        a.backends: ["gpu"],
        a.zoo_row: ["nope.pth"],
    }
    return valid, malformed


def cases():
    """(command, option, action) for every option of every command that takes a value."""
    commands = next(x for x in build_parser()._actions if isinstance(x, argparse._SubParsersAction)).choices
    for command, sub in commands.items():
        for action in sub._actions:
            if action.nargs == 0 or action.dest == "help" or action.nargs == "+":
                continue
            yield command, (action.option_strings or [action.dest])[0], action


POSITION = {"input": 0, "output": 1, "action": 0, "file": 1}  # convert INPUT OUTPUT; zoo ACTION FILE


def argv_with(valid: list[str], action: argparse.Action, value: str) -> list[str]:
    """``valid`` with ``action``'s value replaced by (or given as) ``value``."""
    argv = list(valid)
    if not action.option_strings:  # a positional: the n-th one of the valid list
        positional = [
            i
            for i, word in enumerate(argv)
            if not word.startswith("--") and (i == 0 or not argv[i - 1].startswith("--"))
        ]
        argv[positional[POSITION[action.dest]]] = value
        return argv
    option = action.option_strings[0]
    if option in argv:
        argv[argv.index(option) + 1] = value
        return argv
    return argv + [option, value]


def test_every_option_refuses_a_malformed_value_in_one_line(places, capsys):
    valid, malformed = places
    checked = 0
    for command, option, action in cases():
        if action.choices:
            values = ["nonsense"]
        elif action.dest == "device":
            values = ["gpu0"]
        else:
            values = malformed.get(action.type, [])
        for value in values:
            code = main([command, *argv_with(valid[command], action, value)])
            err = capsys.readouterr().err.strip()
            assert code == 2, (command, option, value, err)
            assert len(err.splitlines()) == 1, (command, option, value, err)
            assert "Traceback" not in err and value in err, (command, option, value, err)
            assert option in err or action.dest == "device", (command, option, value, err)
            checked += 1
    assert checked > 80  # every typed option of the twelve commands


@pytest.mark.parametrize(
    "command", ["flops", "export", "convert", "predict", "train", "ablate", "minicity", "eval", "zoo"]
)
def test_each_command_has_its_options_typed(command):
    """A new option without a checking type (or choices) would skip the test above."""
    untyped = [
        option
        for c, option, action in cases()
        if c == command
        and action.type is None
        and not action.choices
        and action.dest not in ("device", "split", "data", "source", "inputs")
    ]
    assert not untyped, f"bisenet {command}: options without a type: {untyped}"
