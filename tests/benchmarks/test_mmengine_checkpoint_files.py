"""Checkpoints written by mmengine itself (0.10.7, mmseg 1.x's runner), where it is installed
(the optional side-by-side env of benchmarks/mmseg_env.py; never a project dependency). The
default suite recreates these files with stand-in classes (tests/test_safe_load.py); here the
objects are mmengine's own: a real MessageHub with HistoryBuffers, a real OptimWrapper and
param schedulers, saved with mmengine's save_checkpoint the way Runner.save_checkpoint builds the
dict. Skips cleanly where mmengine is not installed."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

pytest.importorskip("mmengine", reason="mmengine is not installed (optional side-by-side check)")

from mmseg_env import build_mmseg_model  # noqa: E402
from mmseg_side_by_side import CONFIGS, mmseg_logits  # noqa: E402

from bisenet.cli import main  # noqa: E402
from bisenet.deploy import randomize_bn_statistics  # noqa: E402
from bisenet.interop import from_mmseg, load_model  # noqa: E402


def _save_as_the_runner_does(model, path, iterations: int = 3) -> None:
    import mmengine
    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper
    from mmengine.optim.scheduler import LinearLR, PolyLR
    from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu
    from mmengine.utils import apply_to

    hub = MessageHub.get_instance(f"bisenet-test-{time.time_ns()}")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    wrapper = OptimWrapper(optimizer)
    schedulers = [
        LinearLR(optimizer, start_factor=0.1, by_epoch=False, begin=0, end=1000),
        PolyLR(optimizer, eta_min=1e-4, power=0.9, begin=1000, end=160000, by_epoch=False),
    ]
    model.train()
    for i in range(iterations):
        loss = model(torch.randn(2, 3, 64, 64), mode="tensor").mean()  # mmseg's EncoderDecoder, logits
        wrapper.update_params(loss)
        for s in schedulers:
            s.step()
        hub.update_scalar("train/loss", float(loss.detach()))
        hub.update_scalar("train/lr", np.float64(optimizer.param_groups[0]["lr"]))
        hub.update_info("iter", i + 1)
    model.eval()
    meta = {
        "epoch": 0,
        "iter": iterations,
        "cfg": "model = dict(type='EncoderDecoder')\n",
        "seed": np.int64(304128),
        "experiment_name": "test",
        "time": time.strftime("%Y%m%d_%H%M%S"),
        "mmengine_version": mmengine.__version__,
        "dataset_meta": {"classes": tuple(f"c{i}" for i in range(19)), "palette": [[i, i, i] for i in range(19)]},
    }
    checkpoint = {
        "meta": meta,
        "state_dict": weights_to_cpu(model.state_dict()),
        "message_hub": apply_to(hub.state_dict(), lambda x: hasattr(x, "cpu"), lambda x: x.cpu()),
        "optimizer": apply_to(wrapper.state_dict(), lambda x: hasattr(x, "cpu"), lambda x: x.cpu()),
        "param_schedulers": [s.state_dict() for s in schedulers],
    }
    save_checkpoint(checkpoint, str(path))


@pytest.mark.parametrize("name", ["bisenetv2", "bisenetv1-r18"])
def test_a_file_mmengine_writes_loads_safely_and_equal(name, tmp_path, minicity):
    from mmengine.logging import HistoryBuffer

    reference = build_mmseg_model(CONFIGS[name])
    randomize_bn_statistics(reference, seed=1)
    path = tmp_path / "iter_3.pth"
    _save_as_the_runner_does(reference, path)  # three SGD steps in train mode, then saved
    raw = torch.load(path, weights_only=False)  # the test's own file: only here is full unpickling fine
    assert isinstance(raw["message_hub"]["log_scalars"]["train/loss"], HistoryBuffer)
    ours = from_mmseg(path)  # weights_only loading (bisenet.safe_load)
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        expected = mmseg_logits(reference.eval(), x)
        got = ours(x)
    assert ((got - expected).abs().max() / expected.abs().max()).item() < 1e-4
    assert type(load_model(path)).__name__ == type(ours).__name__
    out = tmp_path / "m.json"
    assert (
        main(
            ["eval", "--checkpoint", str(path), "--data", "minicity", "--data-root", str(minicity), "--json", str(out)]
        )
        == 0
    )
    assert json.loads(out.read_text())["model"] == name
