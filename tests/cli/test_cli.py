"""The ``bisenet`` command line."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pandas as pd
import pytest

from bisenet.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bisenet", *args], capture_output=True, text=True)


def test_console_script_is_registered():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("bisenet") == "bisenet.cli:main"


def test_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0
    for command in ("models", "flops", "bench"):
        assert command in out.stdout


def test_models_lists_parameter_counts(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "bisenetv2" in out and "3,358,883" in out and "14,804,255" in out
    assert "13,275,539" in out


def test_bench_prints_and_writes_provenance(tmp_path, capsys):
    csv = tmp_path / "bench.csv"
    code = main(
        [
            "bench",
            "--model",
            "bisenetv2,bisenetv1-r18",
            "--size",
            "64x128,96x96",
            "--runs",
            "2",
            "--warmup",
            "1",
            "--threads",
            "1",
            "--csv",
            str(csv),
        ]
    )
    assert code == 0
    table = pd.read_csv(csv)
    assert len(table) == 4
    assert set(table["model"]) == {"bisenetv2", "bisenetv1-r18"}
    assert (table["median_ms"] > 0).all() and (table["p10_ms"] <= table["p90_ms"]).all()
    assert {"torch", "cpu", "threads", "commit", "date"} <= set(table.columns)
    assert "interleaved" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["bench", "--model", "bisenetv3"], "unknown model"),
        (["bench", "--size", "512by1024"], "HxW"),
        (["flops", "--model", "bisenetv2", "--size", "16x16"], "at least 32x32"),
    ],
)
def test_bad_arguments_are_explained(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr


def test_help_is_quick_and_imports_no_torch():
    code = (
        "import sys\nfrom bisenet.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'bisenet --help imported torch'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "models" in out.stdout and "ablate" in out.stdout and "later chapters" not in out.stdout


def test_importing_the_package_runs_no_subprocess():
    code = (
        "import subprocess\ncalls = []\nreal = subprocess.Popen.__init__\n"
        "def spy(self, *a, **k):\n    calls.append(a[0] if a else k.get('args'))\n    real(self, *a, **k)\n"
        "subprocess.Popen.__init__ = spy\n"
        "import bisenet, bisenet.engine, bisenet.cli, bisenet.ablation, bisenet.book.trained, bisenet.provenance\n"
        "assert not calls, calls\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_a_library_bug_is_not_reported_as_bad_input(monkeypatch):
    from bisenet.cli import models

    def buggy(args):
        raise ValueError("a bug inside the package")

    monkeypatch.setattr(models, "cmd_models", buggy)
    with pytest.raises(ValueError, match="a bug inside"):
        main(["models"])


def test_bad_input_is_reported_without_a_traceback(tmp_path):
    out = run(
        "eval",
        "--model",
        "bisenetv2",
        "--checkpoint",
        str(tmp_path / "missing.pth"),
        "--data",
        "minicity",
        "--data-root",
        str(tmp_path),
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"argument --checkpoint: no such file, got '{tmp_path / 'missing.pth'}'" in out.stderr


@pytest.mark.parametrize("command", ["bench", "eval", "predict", "train", "ablate"])
def test_every_device_flag_has_one_meaning(command):
    from bisenet.cli import DEVICE_HELP, build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    device = next(a for a in sub._actions if a.dest == "device")
    assert device.help == DEVICE_HELP and device.default is None


def test_no_command_is_an_error(capsys):
    assert main([]) == 2
    assert "no command given" in capsys.readouterr().err


def test_flops_of_several_models_gives_every_table(tmp_path, capsys):
    csv = tmp_path / "flops.csv"
    assert main(["flops", "--model", "bisenetv2,bisenetv1-r18", "--size", "64x64", "--csv", str(csv)]) == 0
    table = pd.read_csv(csv)
    assert set(table["model"]) == {"bisenetv2", "bisenetv1-r18"}
    out = capsys.readouterr().out
    assert "bisenetv2, 1x3x64x64" in out and "bisenetv1-r18, 1x3x64x64" in out


def test_messages_say_what_is_wrong_and_what_to_do(minicity, tmp_path, capsys, monkeypatch, v2_checkpoint):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    checks = [
        (["eval", "--checkpoint", str(v2_checkpoint), "--data", "minicity", "--device", "cuda"], "no CUDA device"),
        (
            ["eval", "--model", "bisenetv2", "--checkpoint", str(v2_checkpoint), "--data", "minicity"],
            "no MiniCity root given (--data-root)",
        ),
        (["minicity", "--out", str(minicity), "--train", "1", "--val", "1"], "--overwrite"),
        (["minicity", "--out", str(tmp_path / "huge"), "--size", "100000x100000"], "at most 8,388,608 pixels"),
        (["ablate", "--scale", "smoke", "--dataset", "cityscapes"], "without its data root"),
    ]
    for argv, message in checks:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    (tmp_path / "cache_file").write_text("x")
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path / "cache_file"))
    assert main(["book-cache"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    monkeypatch.delenv("BISENET_CACHE")
    assert (
        main(
            [
                "eval",
                "--model",
                "bisenetv2",
                "--checkpoint",
                str(v2_checkpoint),
                "--data",
                "minicity",
                "--data-root",
                str(minicity),
            ]
        )
        == 0
    )
    assert "on MiniCity val at" in capsys.readouterr().out


def test_a_corrupt_cached_model_says_to_delete_it(tmp_path, monkeypatch):
    from bisenet.book.trained import run_dir, trained_model
    from bisenet.errors import CheckpointError

    monkeypatch.setenv("BISENET_PROFILE", "smoke")
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path))
    final = run_dir("bisenetv2") / "final.pth"
    final.parent.mkdir(parents=True)
    final.write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match=f"delete {final.parent}"):
        trained_model("bisenetv2")


def test_an_output_never_overwrites_an_input_or_another_output(v2_checkpoint, tmp_path, capsys):
    before = v2_checkpoint.read_bytes()
    for argv in (
        ["export", "--checkpoint", str(v2_checkpoint), "--onnx", str(v2_checkpoint)],
        ["eval", "--checkpoint", str(v2_checkpoint), "--data", "minicity", "--json", str(v2_checkpoint)],
        ["bench", "--csv", str(tmp_path / "b.csv"), "--plot", str(tmp_path / "b.csv")],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "would overwrite" in err and len(err.strip().splitlines()) == 1, err
    assert v2_checkpoint.read_bytes() == before


def test_lists_with_repeats_and_empty_lists_are_refused(capsys):
    for argv in (
        ["bench", "--backend", "compile,compile"],
        ["bench", "--model", "bisenetv2,bisenetv2"],
        ["ablate", "--scale", "smoke", "--variants", "detail,detail"],
        ["ablate", "--scale", "smoke", "--seeds", "0,0"],
        ["ablate", "--scale", "smoke", "--variants", ""],
        ["models", "--num-classes", "99999999999"],
        ["bench", "--threads", "100000"],
        ["predict", "--checkpoint", "x", "--scale", "100000x100000", "y"],
    ):
        assert main(argv) == 2, argv
        assert len(capsys.readouterr().err.strip().splitlines()) == 1, argv


def test_options_a_mode_would_ignore_are_refused(v2_checkpoint, minicity, capsys):
    assert (
        main(
            [
                "eval",
                "--checkpoint",
                str(v2_checkpoint),
                "--model",
                "bisenetv2",
                "--data",
                "minicity",
                "--data-root",
                str(minicity),
                "--crop",
                "64x64",
            ]
        )
        == 2
    )
    assert "--mode whole would ignore them" in capsys.readouterr().err
    assert main(["export", "--onnx", "m.onnx"]) == 2
    assert "export needs --checkpoint FILE" in capsys.readouterr().err


def test_ctrl_c_during_training_is_one_line_with_what_to_do(minicity, tmp_path, capsys, monkeypatch):
    import bisenet.engine.trainer as trainer

    real_step = trainer.train_step

    def interrupted(run, net, batches, i, last):
        if i == 2:
            raise KeyboardInterrupt
        return real_step(run, net, batches, i, last)

    monkeypatch.setattr(trainer, "train_step", interrupted)
    code = main(["train", "--recipe", "bisenetv2-smoke", "--data-root", str(minicity), "--work-dir", str(tmp_path)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip() and "%|" not in line]  # no bar
    assert code == 130 and len(err) == 1 and "iteration 3" in err[0] and "iter_2.pth" in err[0], err
    monkeypatch.undo()
    # resumed without the options it was started with: it continues the run as it was
    assert (
        main(
            [
                "train",
                "--recipe",
                "bisenetv2-smoke",
                "--data-root",
                str(minicity),
                "--work-dir",
                str(tmp_path),
                "--resume",
                "--iters",
                "5",
            ]
        )
        == 2
    )  # another run than the one in the folder
    assert "another recipe: iters 4 -> 5" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "--recipe",
                "bisenetv1-r18-smoke",
                "--data-root",
                str(minicity),
                "--work-dir",
                str(tmp_path),
                "--resume",
            ]
        )
        == 2
    )  # another model's recipe is not swapped for the run's own
    assert "holds a run of recipe 'bisenetv2-smoke', not 'bisenetv1-r18-smoke'" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "--recipe",
                "bisenetv2-smoke",
                "--data-root",
                str(minicity),
                "--work-dir",
                str(tmp_path),
                "--resume",
                "--stop-after",
                "1",
            ]
        )
        == 2
    )
    assert "already at iteration 2" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                "--recipe",
                "bisenetv2-smoke",
                "--data-root",
                str(minicity),
                "--work-dir",
                str(tmp_path),
                "--resume",
            ]
        )
        == 0
    )
    assert "stopped at iteration 4" in capsys.readouterr().out


def test_train_amp_none_and_no_channels_last_override_a_recipe_that_has_them(minicity, tmp_path, monkeypatch):
    import json
    import sys

    # a recipe as the cpu profile's: bf16 autocast, channels_last (here at smoke sizes)
    recipes = sys.modules["bisenet.recipes"]
    fast = recipes.get_recipe("bisenetv2-smoke").with_(name="fast-smoke", amp="bf16", channels_last=True, iters=1)
    real, known = recipes.get_recipe, recipes.all_recipes
    monkeypatch.setattr(recipes, "get_recipe", lambda name: fast if name == "fast-smoke" else real(name))
    monkeypatch.setattr(recipes, "all_recipes", lambda: {**known(), "fast-smoke": fast})
    assert (
        main(["train", "--recipe", "fast-smoke", "--data-root", str(minicity), "--work-dir", str(tmp_path / "as-is")])
        == 0
    )
    assert (
        main(
            [
                "train",
                "--recipe",
                "fast-smoke",
                "--data-root",
                str(minicity),
                "--work-dir",
                str(tmp_path / "fp32"),
                "--amp",
                "none",
                "--no-channels-last",
            ]
        )
        == 0
    )
    as_is, fp32 = (json.loads((tmp_path / d / "run.json").read_text()) for d in ("as-is", "fp32"))
    assert (as_is["recipe"]["amp"], as_is["recipe"]["channels_last"], as_is["channels_last"]) == ("bf16", True, True)
    assert (fp32["recipe"]["amp"], fp32["recipe"]["channels_last"], fp32["channels_last"]) == (None, False, False)


def test_an_unwritable_cache_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("BISENET_PROFILE", "smoke")
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path / "file" / "cache"))
    assert main(["book-cache"]) == 2
    err = capsys.readouterr().err
    assert "cannot" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_train_can_decay_batchnorm_statistics_per_iteration(minicity, tmp_path, capsys):
    from bisenet.checkpoint import load_checkpoint

    assert (
        main(
            [
                "train",
                "--recipe",
                "bisenetv2-smoke",
                "--data-root",
                str(minicity),
                "--work-dir",
                str(tmp_path),
                "--iters",
                "2",
                "--gpus",
                "2",
                "--bn-momentum-per-iteration",
            ]
        )
        == 0
    )
    assert load_checkpoint(tmp_path / "iter_2.pth").recipe["bn_momentum_per_iteration"] is True


def test_main_leaves_the_callers_warning_format_as_it_found_it():
    """The command line prints warnings as one line; a notebook or script that calls main() keeps
    Python's own format afterwards (warnings.catch_warnings does not restore formatwarning)."""
    import warnings

    before = warnings.formatwarning
    assert main(["models"]) == 0
    assert warnings.formatwarning is before
