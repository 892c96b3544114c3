"""The training loop: resume, a second run, corrupt checkpoints, torchrun, bf16, faults
(bisenet.engine.trainer)."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bisenet.checkpoint import FORMAT, CheckpointError, iteration_checkpoints, load_checkpoint, read_checkpoint
from bisenet.engine import trainer as trainer_module
from bisenet.engine.run_log import read_log
from bisenet.engine.trainer import NonFiniteLossError, train
from bisenet.losses import SegmentationLoss
from bisenet.models import build_model
from bisenet.recipes import get_recipe


def _params(path):
    return read_checkpoint(path)["model"]


def test_interrupted_and_resumed_equals_uninterrupted(minicity, tmp_path):
    recipe = get_recipe("bisenetv2-smoke").with_(iters=6)
    full = train(recipe, data_root=minicity, work_dir=tmp_path / "full", progress=False)
    train(recipe, data_root=minicity, work_dir=tmp_path / "cut", stop_after=3, progress=False)
    assert [i for i, _ in iteration_checkpoints(tmp_path / "cut")][-1] == 3
    resumed = train(recipe, data_root=minicity, work_dir=tmp_path / "cut", resume=True, progress=False)
    a, b = _params(full.last_checkpoint), _params(resumed.last_checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed run differs from the uninterrupted one"
    log = read_log(resumed.log)
    assert sorted(log[log.kind == "train"].iter.tolist()) == [1, 2, 3, 4, 5, 6]
    assert {"lr", "loss", "loss_main", "loss_aux0", "time", "data_time", "memory_mb"} <= set(log.columns)
    assert log[log.kind == "val"].mIoU.notna().all()
    assert (tmp_path / "cut" / "best.pth").exists()
    # every file the trainer writes has the one schema; only iteration checkpoints can resume
    for name, resumable in (("iter_6.pth", True), ("best.pth", False)):
        saved = load_checkpoint(tmp_path / "cut" / name)
        assert read_checkpoint(tmp_path / "cut" / name)["format"] == FORMAT
        assert (saved.model_name, saved.recipe["name"], saved.resumable) == ("bisenetv2", "bisenetv2-smoke", resumable)
    assert load_checkpoint(tmp_path / "cut" / "best.pth").metrics["mIoU"] == resumed.best_miou


def test_train_takes_a_recipe_not_its_name(minicity, tmp_path):
    with pytest.raises(ValueError, match="takes a Recipe.*get_recipe"):
        train("bisenetv2-smoke", data_root=minicity, work_dir=tmp_path)


def test_a_second_run_into_the_same_folder_must_say_resume(minicity, tmp_path):
    train(get_recipe("bisenetv2-smoke").with_(iters=1), data_root=minicity, work_dir=tmp_path, progress=False)
    with pytest.raises(FileExistsError, match="--resume"):
        train(get_recipe("bisenetv2-smoke").with_(iters=1), data_root=minicity, work_dir=tmp_path, progress=False)


def test_corrupt_checkpoint_is_reported_not_loaded(minicity, tmp_path):
    recipe = get_recipe("bisenetv1-r18-smoke").with_(iters=4)
    train(recipe, data_root=minicity, work_dir=tmp_path, stop_after=2, progress=False)
    (tmp_path / "iter_3.pth").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="iter_3.pth"):
        read_checkpoint(tmp_path / "iter_3.pth")
    with pytest.warns(UserWarning, match="skipping corrupt checkpoint.*iter_3.pth"):
        recipe = get_recipe("bisenetv1-r18-smoke").with_(iters=4)
        result = train(recipe, data_root=minicity, work_dir=tmp_path, resume=True, progress=False)
    assert result.iteration == 4


def test_non_finite_loss_stops_with_the_facts(minicity, tmp_path, monkeypatch):
    class NaNLoss(SegmentationLoss):
        def forward(self, logits, aux, target):
            terms = super().forward(logits, aux, target)
            return {k: v * float("nan") for k, v in terms.items()}

    monkeypatch.setattr(trainer_module, "SegmentationLoss", NaNLoss)
    with pytest.raises(
        NonFiniteLossError, match="iteration 0: loss=nan, loss_main=nan.*Last good checkpoint: none yet"
    ):
        train(get_recipe("bisenetv2-smoke"), data_root=minicity, work_dir=tmp_path, progress=False)


def test_bf16_autocast_runs_on_cpu(minicity, tmp_path):
    recipe = get_recipe("bisenetv2-smoke").with_(iters=2, amp="bf16")
    result = train(recipe, data_root=minicity, work_dir=tmp_path, progress=False)
    log = read_log(result.log)
    assert log[log.kind == "train"].loss.notna().all()


def test_the_recipe_says_channels_last_and_an_argument_overrides_it(minicity, tmp_path, monkeypatch):
    import json

    layouts = []
    real = trainer_module.build_run

    def spy(recipe, device, rank, world, accum, pretrained, channels_last, sync_bn):
        layouts.append(channels_last)
        return real(recipe, device, rank, world, accum, pretrained, channels_last, sync_bn)

    monkeypatch.setattr(trainer_module, "build_run", spy)
    recipe = get_recipe("bisenetv2-smoke").with_(iters=2, amp="bf16", channels_last=True)
    train(recipe, data_root=minicity, work_dir=tmp_path / "recipe", progress=False)
    train(recipe, data_root=minicity, work_dir=tmp_path / "argument", progress=False, channels_last=False)
    assert layouts == [True, False]
    run = json.loads((tmp_path / "recipe" / "run.json").read_text())
    assert run["channels_last"] is True and run["recipe"]["channels_last"] is True
    assert run["recipe"]["amp"] == "bf16"


def test_micro_batch_of_one_is_refused(minicity, tmp_path):
    with pytest.raises(ValueError, match="batch_per_gpu must be at least 2.*BatchNorm"):
        recipe = get_recipe("bisenetv2-smoke").with_(batch_per_gpu=1)
        train(recipe, data_root=minicity, work_dir=tmp_path, progress=False)


def test_missing_dataset_says_how_to_make_it(tmp_path):
    with pytest.raises(Exception, match="bisenet minicity --out"):
        train(get_recipe("bisenetv2-smoke"), data_root=tmp_path / "nothing", work_dir=tmp_path / "wd", progress=False)


@pytest.mark.slow
def test_torchrun_two_processes_equal_one_process_with_the_same_global_batch(minicity, tmp_path):
    common = [
        "--recipe",
        "bisenetv2-smoke",
        "--data-root",
        str(minicity),
        "--iters",
        "3",
        "--gpus",
        "2",
        "--batch-per-gpu",
        "2",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "bisenet",
        "train",
        *common,
        "--work-dir",
        str(tmp_path / "ddp"),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    # Same thread count as the workers: BN over two values per channel (after global pooling)
    # turns rounding differences between thread counts into sign flips.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        recipe = get_recipe("bisenetv2-smoke").with_(iters=3, gpus=2, batch_per_gpu=2)
        single = train(recipe, data_root=minicity, work_dir=tmp_path / "one", progress=False)
    finally:
        torch.set_num_threads(threads)
    a = _params(tmp_path / "ddp" / "iter_3.pth")
    b = _params(single.last_checkpoint)
    names = [k for k, _ in build_model("bisenetv2").named_parameters()]
    for k in names:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)


def test_out_of_memory_suggests_batch_or_crop(minicity, tmp_path, monkeypatch):
    from bisenet.models import BiSeNetV2

    def oom(self, x):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(BiSeNetV2, "forward", oom)
    with pytest.raises(RuntimeError, match="out of memory at iteration 0.*--batch-per-gpu.*crop size"):
        train(get_recipe("bisenetv2-smoke"), data_root=minicity, work_dir=tmp_path, progress=False)


# --- bad input, interruption and faults (nothing lost, nothing silently wrong) -------------------------


def test_a_diverging_run_writes_no_poisoned_checkpoint_and_names_the_good_one(minicity, tmp_path, capsys, monkeypatch):
    from bisenet.checkpoint import non_finite
    from bisenet.cli import main

    # a learning rate that is fine for two iterations, then absurd: the weights blow up at iteration 2
    monkeypatch.setattr(trainer_module, "WarmupPoly", lambda *a, **k: lambda i: 0.01 if i < 2 else 1e12)
    recipe = get_recipe("bisenetv2-smoke").with_(iters=8, checkpoint_interval=1, val_interval=1)
    with pytest.raises(NonFiniteLossError) as caught:
        train(recipe, data_root=minicity, work_dir=tmp_path / "w", progress=False)
    import re

    named = re.search(r"Last good checkpoint: (\S+\.pth)", str(caught.value))
    assert named and Path(named[1]).exists(), str(caught.value)  # the last checkpoint written: it loads
    assert int(re.search(r"iteration (\d+)", str(caught.value))[1]) >= 2
    for path in (tmp_path / "w").glob("*.pth"):  # every checkpoint on disk holds finite weights
        assert not non_finite(read_checkpoint(path)["model"]), path
    assert load_checkpoint(named[1]).iteration >= 2
    monkeypatch.undo()
    # a checkpoint with NaN weights is refused by eval, not evaluated
    state = read_checkpoint(tmp_path / "w" / "iter_2.pth")
    state["model"]["decode_head.conv_seg.weight"][0, 0] = float("nan")
    torch.save(state, tmp_path / "nan.pth")
    code = main(["eval", "--checkpoint", str(tmp_path / "nan.pth"), "--data", "minicity", "--data-root", str(minicity)])
    err = capsys.readouterr().err
    assert code == 2 and "NaN or infinite" in err and "Traceback" not in err
    # the command line says it in one line, no traceback
    code = main(
        [
            "train",
            "--recipe",
            "bisenetv2-smoke",
            "--data-root",
            str(minicity),
            "--lr",
            "1e12",
            "--work-dir",
            str(tmp_path / "cli"),
            "--iters",
            "8",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and ("non-finite" in err or "NaN" in err) and "Traceback" not in err


def test_a_run_stopped_before_its_first_checkpoint_can_start_again(minicity, tmp_path, capsys):
    recipe = get_recipe("bisenetv2-smoke").with_(iters=2, checkpoint_interval=100)
    (tmp_path / "log.jsonl").write_text('{"kind": "train", "iter": 1, "loss": 3.0}\n')  # killed at iteration 1
    with pytest.raises(FileExistsError, match="no checkpoint yet.*--resume"):
        train(recipe, data_root=minicity, work_dir=tmp_path, progress=False)
    result = train(recipe, data_root=minicity, work_dir=tmp_path, resume=True, progress=False)
    assert "starting it again from iteration 0" in capsys.readouterr().out
    log = read_log(result.log)
    assert sorted(log[log.kind == "train"].iter.tolist()) == [1, 2] and result.iteration == 2


def test_resume_refuses_another_run_and_records_each_part(minicity, tmp_path):
    import json

    from bisenet.errors import UsageError

    recipe = get_recipe("bisenetv2-smoke").with_(iters=4)
    train(recipe, data_root=minicity, work_dir=tmp_path, stop_after=2, progress=False)
    for other, field in [
        (recipe.with_(lr=0.5), "lr"),
        (recipe.with_(iters=9), "iters"),
        (get_recipe("bisenetv1-r18-smoke").with_(iters=4), "model"),
    ]:
        with pytest.raises(UsageError, match=f"another recipe: .*{field}"):
            train(other, data_root=minicity, work_dir=tmp_path, resume=True, progress=False)
    # how often it logs or saves may change; the first part of the run stays on record
    train(recipe.with_(log_interval=2), data_root=minicity, work_dir=tmp_path, resume=True, progress=False)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["recipe"]["log_interval"] == 1 and run["resumed"][0]["start_iteration"] == 2
    assert run["resumed"][0]["recipe"]["log_interval"] == 2


def test_settings_that_cannot_work_are_refused_before_anything_is_written(minicity, tmp_path):
    from bisenet.errors import UsageError

    base = get_recipe("bisenetv2-smoke")
    for recipe, message in [
        (base.with_(iters=0), "iters must be a positive"),
        (base.with_(gpus=0), "gpus must be"),
        (base.with_(lr=-1.0), "learning rate"),
        (base.with_(workers=-2), "workers"),
    ]:
        with pytest.raises(UsageError, match=message):
            train(recipe, data_root=minicity, work_dir=tmp_path / "w", progress=False)
    with pytest.raises(UsageError, match="stop_after"):
        train(base, data_root=minicity, work_dir=tmp_path / "w", stop_after=-1, progress=False)
    with pytest.raises(UsageError, match="from scratch and would ignore it"):
        train(base, data_root=minicity, work_dir=tmp_path / "w", pretrained=tmp_path / "r18.pth", progress=False)
    pre = get_recipe("bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024")
    with pytest.raises(UsageError, match="r18.pth does not exist"):
        train(pre, data_root=minicity, work_dir=tmp_path / "w", pretrained=tmp_path / "r18.pth", progress=False)
    assert not (tmp_path / "w").exists()  # no log.jsonl left to block the next run


@contextlib.contextmanager
def file_size_limit(limit: int):
    """A real write failure for this process: the kernel refuses to grow any file past ``limit``
    bytes (EFBIG, as a full disk refuses with ENOSPC); SIGXFSZ is ignored so the write fails
    instead of killing the process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_write_refused_while_checkpointing_stops_with_the_intact_checkpoint(minicity, tmp_path, monkeypatch):
    from bisenet.engine import trainer as trainer_module
    from bisenet.errors import TrainingError

    real_save = trainer_module.save_checkpoint
    calls = []

    def save(checkpoint, path):  # the second checkpoint meets a file-size limit: torch.save's real failure
        calls.append(path)
        if len(calls) < 2:
            return real_save(checkpoint, path)
        with file_size_limit(64 * 1024):
            return real_save(checkpoint, path)

    monkeypatch.setattr(trainer_module, "save_checkpoint", save)
    recipe = get_recipe("bisenetv2-smoke").with_(iters=4, val_interval=100, checkpoint_interval=2)
    with pytest.raises(TrainingError, match="File too large.*iter_2.pth, is intact.*--resume"):
        train(recipe, data_root=minicity, work_dir=tmp_path, progress=False)
    monkeypatch.undo()
    assert [p.name for _, p in iteration_checkpoints(tmp_path)] == ["iter_2.pth"]
    assert not list(tmp_path.glob(".*.tmp"))
    assert train(recipe, data_root=minicity, work_dir=tmp_path, resume=True, progress=False).iteration == 4


def test_a_checkpoint_write_the_system_refuses_is_one_output_error(tmp_path):
    from bisenet.checkpoint import Checkpoint, save_checkpoint
    from bisenet.errors import OutputError

    path = tmp_path / "m.pth"
    path.write_bytes(b"the previous file")
    model = build_model("bisenetv2", num_classes=3, aux_heads=False)
    with file_size_limit(64 * 1024), pytest.raises(OutputError, match=r"cannot write .*m\.pth: File too large"):
        save_checkpoint(Checkpoint(model_name="bisenetv2", state_dict=model.state_dict()), path)
    assert path.read_bytes() == b"the previous file" and not list(tmp_path.glob(".*.tmp"))


def test_a_bad_file_read_by_a_worker_is_named_in_one_line(minicity, tmp_path):
    import shutil

    from bisenet.errors import DatasetError

    root = tmp_path / "mc"
    shutil.copytree(minicity, root)
    image = sorted((root / "leftImg8bit" / "train").rglob("*.png"))[0]
    image.write_bytes(b"not a png")
    recipe = get_recipe("bisenetv2-smoke").with_(workers=2)
    with pytest.raises(DatasetError) as caught:
        train(recipe, data_root=root, work_dir=tmp_path / "w", progress=False)
    assert str(image) in str(caught.value) and "Traceback" not in str(caught.value)
    assert "worker process" not in str(caught.value)


def test_a_time_based_checkpoint_saves_a_long_recipe_early(minicity, tmp_path):
    recipe = get_recipe("bisenetv2-smoke").with_(
        iters=3, checkpoint_interval=1000, checkpoint_minutes=0.0, keep_checkpoints=5
    )
    train(recipe, data_root=minicity, work_dir=tmp_path, progress=False)
    assert [i for i, _ in iteration_checkpoints(tmp_path)] == [1, 2, 3]


def test_weights_growing_without_bound_are_divergence_too(minicity, tmp_path):
    recipe = get_recipe("bisenetv2-smoke").with_(iters=6, lr=1e6)
    with pytest.raises(NonFiniteLossError, match="diverged"):
        train(recipe, data_root=minicity, work_dir=tmp_path, progress=False)


def test_impossible_crops_and_stops_are_refused(minicity, tmp_path):
    from bisenet.errors import UsageError

    base = get_recipe("bisenetv2-smoke")
    with pytest.raises(UsageError, match="crop_size must be two sides"):
        train(base.with_(crop_size=(0, 0)), data_root=minicity, work_dir=tmp_path, progress=False)
    with pytest.raises(UsageError, match="past the end of the run"):
        train(base.with_(iters=2), data_root=minicity, work_dir=tmp_path, stop_after=5, progress=False)


def test_a_second_run_on_a_work_folder_in_use_is_refused_naming_the_first(tmp_path, capsys, minicity):
    """Two `train` runs started together on one --work-dir: the second is refused at once, naming the
    first's process, instead of interleaving logs and overwriting checkpoints."""
    import subprocess
    import sys
    import time

    from bisenet.cli import main

    work = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from bisenet.atomic import owned_folder\n"
            f"with owned_folder({str(work)!r}, 'training run'):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        args = [
            "train",
            "--recipe",
            "bisenetv2-smoke",
            "--data-root",
            str(minicity),
            "--work-dir",
            str(work),
            "--iters",
            "1",
        ]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert f"is in use by another training run (process {holder.pid})" in err and err.startswith("error: ")
        assert not (work / "log.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert main(args) == 0  # the folder is free again once its holder is gone
