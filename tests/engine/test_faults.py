"""Fault injection: a training run killed with SIGKILL at any point (in a step, half-way through
a checkpoint, during validation, half-way through a log line, at a random moment) and then
resumed ends with exactly the weights and log of a run never interrupted (bisenet.engine)."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
import torch

from bisenet.checkpoint import read_checkpoint
from bisenet.engine.run_log import read_log
from bisenet.engine.trainer import train
from bisenet.recipes import get_recipe

ITERS = 6
RECIPE = dict(iters=ITERS, checkpoint_interval=2, val_interval=2, log_interval=1)

# runs in a child process: arm one fault, then train the recipe (resume it, if a run was killed)
CHILD = r"""
import os, signal, sys, threading
import torch
import bisenet.engine.run_log as run_log
import bisenet.engine.trainer as trainer
from bisenet.recipes import get_recipe

mode, arg, root, work = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
k = int(float(arg))
calls = [0]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def nth(function, before=None):
    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == k:
            if before:
                before(*args)
            die()
        return function(*args, **kwargs)
    return wrapped

if mode == "step":  # in the k-th forward pass
    trainer.SegmentationLoss.forward = nth(trainer.SegmentationLoss.forward)
elif mode == "checkpoint":  # half-way through writing the k-th checkpoint file
    torch.save = nth(torch.save, before=lambda obj, f, *a: (f.write(b"half a checkpoint"), f.flush()))
elif mode == "validation":  # in the k-th validation
    trainer.evaluate = nth(trainer.evaluate)
elif mode == "log":  # half-way through the k-th log line
    def half(path, line):
        with open(path, "a") as f:
            f.write(line[: len(line) // 2])
    run_log.append_line = nth(run_log.append_line, before=half)
elif mode == "timer":  # at a random moment, arg seconds after the start
    threading.Timer(float(arg), die).start()
recipe = get_recipe("bisenetv2-smoke").with_(**%s)
resume = os.path.exists(os.path.join(work, "log.jsonl"))  # a killed run before this one: continue it
trainer.train(recipe, data_root=root, work_dir=work, resume=resume, progress=False)
""" % repr(RECIPE)


def child(mode: str, arg: float, root, work) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(arg), str(root), str(work)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode not in (0, -9):
        raise AssertionError(f"{mode} {arg}: exit {out.returncode}\n{out.stderr[-3000:]}")
    return out.returncode


@pytest.fixture(scope="module")
def reference(minicity, tmp_path_factory):
    """The uninterrupted run, with the children's thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train(
            get_recipe("bisenetv2-smoke").with_(**RECIPE),
            data_root=minicity,
            work_dir=tmp_path_factory.mktemp("reference"),
            progress=False,
        )
    finally:
        torch.set_num_threads(threads)
    return read_checkpoint(result.last_checkpoint)["model"], read_log(result.log)


TIMED = [round(random.Random(seed).uniform(2.0, 4.5), 2) for seed in range(2)]
CHAINS = {
    # each run killed at another kind of point, each resumed by the next
    "step, checkpoint, validation, log": [("step", 3), ("checkpoint", 2), ("validation", 1), ("log", 2)],
    "random moments": [("timer", t) for t in TIMED],
}


@pytest.mark.slow
@pytest.mark.parametrize("chain", CHAINS)
def test_killed_anywhere_then_resumed_equals_uninterrupted(minicity, tmp_path, reference, chain):
    weights, log = reference
    for mode, arg in CHAINS[chain]:
        if (tmp_path / f"iter_{ITERS}.pth").exists():
            break  # a late timer: the run had ended
        killed = child(mode, arg, minicity, tmp_path)
        assert killed == -9 or mode == "timer", (mode, arg)
    if not (tmp_path / f"iter_{ITERS}.pth").exists():
        assert child("resume", 0, minicity, tmp_path) == 0
    final = read_checkpoint(tmp_path / f"iter_{ITERS}.pth")["model"]
    different = [k for k in weights if not torch.equal(weights[k], final[k])]
    assert not different, f"{chain}: {len(different)} tensors differ, e.g. {different[:3]}"
    got = read_log(tmp_path / "log.jsonl")
    for kind, iters in (("train", list(range(1, ITERS + 1))), ("val", [2, 4, 6])):
        assert sorted(got[got.kind == kind].iter.tolist()) == iters, (chain, kind)
    columns = ["iter", "loss", "loss_main", "lr"]
    expected = log[log.kind == "train"][columns].reset_index(drop=True)
    assert got[got.kind == "train"].sort_values("iter")[columns].reset_index(drop=True).equals(expected)
    assert not list(tmp_path.glob(".*.tmp*"))  # what the killed writers left was cleaned up
