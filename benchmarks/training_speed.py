"""The CPU training step: the package's settings, each measured beside mmsegmentation 1.2.2's step.

Run from the repository root in the throwaway mmseg venv (see mmseg_env.py), alone on the machine:

    /tmp/mmseg-venv/bin/python benchmarks/training_speed.py --out book/data

One optimisation step (forward, the five cross-entropy terms of the booster recipe, backward,
SGD with momentum and weight decay) on one fixed batch, so data loading is left out. mmseg's step
is its own: the model of the model-zoo config in train mode, ``model.loss`` (every head's loss
as the config sets it), ``parse_losses``, backward, ``torch.optim.SGD``. The package's is
``bisenet.engine.trainer.train_step`` on the ``Run`` the trainer builds from the recipe, under
each setting of ``SETTINGS``: fp32 (what the trainer did before), channels_last, bf16 autocast,
``torch.compile``, and their combinations. Every setting and mmseg's step are timed interleaved
in one process (rounds A, B, C, ...), so the ratios survive the machine's drift. Writes
``training_speed_cpu.csv``: one row per model, batch, crop and setting with the median step time,
its ratio to mmseg's, and the provenance.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import preamble  # noqa: E402 - beside this script
import torch

preamble.use_repository()

from bisenet.analysis.speed import time_interleaved  # noqa: E402
from bisenet.atomic import write_csv  # noqa: E402
from bisenet.engine.trainer import build_run, train_step  # noqa: E402
from bisenet.profiles import get_profile  # noqa: E402
from bisenet.provenance import provenance, with_provenance  # noqa: E402

MMSEG_CONFIGS = {
    "bisenetv2": "bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py",
    "bisenetv1-r18": "bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py",
}
# setting name -> (amp, channels_last, compile)
SETTINGS: dict[str, tuple[str | None, bool, bool]] = {
    "fp32": (None, False, False),
    "channels_last": (None, True, False),
    "bf16": ("bf16", False, False),
    "bf16+channels_last": ("bf16", True, False),
    "compile": (None, False, True),
    "bf16+compile": ("bf16", False, True),
    "bf16+channels_last+compile": ("bf16", True, True),
}


def fixed_batches(images: torch.Tensor, labels: torch.Tensor) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    while True:
        yield images, labels


def package_step(model: str, setting: str, images: torch.Tensor, labels: torch.Tensor) -> Callable[[], None]:
    """One call = one training iteration of the package's trainer under ``setting``."""
    amp, channels_last, compile_ = SETTINGS[setting]
    n, _, h, w = images.shape
    recipe = (
        get_profile("cpu").recipe(model).with_(amp=amp, batch_per_gpu=n, crop_size=(h, w), iters=10_000, warmup_iters=0)
    )
    run = build_run(recipe, torch.device("cpu"), 0, 1, 1, None, channels_last, False)
    run.model.train()
    net = torch.compile(run.model) if compile_ else run.model
    batches = fixed_batches(images, labels)
    state = {"i": 0}

    def step() -> None:
        train_step(run, net, batches, state["i"], None)
        state["i"] += 1

    return step


def mmseg_step(model: str, images: torch.Tensor, labels: torch.Tensor) -> Callable[[], None]:
    """One call = mmseg's loss, backward and SGD step on the same batch."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    from mmseg_env import build_mmseg_model

    torch.manual_seed(0)
    net = build_mmseg_model(MMSEG_CONFIGS[model]).train()
    samples = []
    for label in labels:
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=label[None])
        s.set_metainfo(dict(img_shape=tuple(label.shape), pad_shape=tuple(label.shape)))
        samples.append(s)
    lr = get_profile("cpu").recipe(model).lr
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)

    def step() -> None:
        losses = net.loss(images, samples)
        loss, _ = net.parse_losses(losses)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def measure(
    model: str, batch: int, crop: tuple[int, int], settings: list[str], runs: int, warmup: int, with_mmseg: bool
) -> pd.DataFrame:
    torch.manual_seed(0)
    images = torch.randn(batch, 3, *crop)
    labels = torch.randint(0, 19, (batch, *crop))
    labels[:, :4] = 255  # some ignored pixels, as in real crops
    runners = {s: package_step(model, s, images, labels) for s in settings}
    if with_mmseg:
        runners = {"mmseg": mmseg_step(model, images, labels), **runners}
    times = time_interleaved(runners, warmup=warmup, runs=runs, device=torch.device("cpu"))
    ref = statistics.median(times["mmseg"]) if with_mmseg else None
    rows = []
    for name, ts in times.items():
        median = statistics.median(ts)
        rows.append(
            {
                "model": model,
                "batch": batch,
                "crop": f"{crop[0]}x{crop[1]}",
                "setting": name,
                "step_ms_median": round(1000 * median, 1),
                "step_ms_min": round(1000 * min(ts), 1),
                "ratio_to_mmseg": round(median / ref, 3) if ref else None,
                "runs": runs,
                "threads": torch.get_num_threads(),
            }
        )
        print(
            f"{model} {batch}x{crop}: {name:28s} {1000 * median:8.1f} ms"
            + (f"  {median / ref:.3f}x mmseg" if ref else ""),
            flush=True,
        )
    return pd.DataFrame(rows)


def main() -> None:
    p = preamble.script_parser(__doc__)
    p.add_argument("--models", default="bisenetv2,bisenetv1-r18")
    p.add_argument("--shapes", default="8x128x256,4x256x256", help="BATCHxHxW, comma-separated")
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, help="folder for training_speed_cpu.csv (default: print only)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    try:
        import mmseg  # noqa: F401 - only whether it imports: mmseg's rows are timed when it does

        with_mmseg = True
    except ImportError:
        with_mmseg = False
        print("mmseg not installed: no mmseg rows, no ratios")
    frames = []
    for shape in args.shapes.split(","):
        batch, h, w = (int(v) for v in shape.split("x"))
        for model in args.models.split(","):
            frames.append(measure(model, batch, (h, w), args.settings.split(","), args.runs, args.warmup, with_mmseg))
    table = pd.concat(frames, ignore_index=True)
    if args.out:
        command = "python benchmarks/training_speed.py " + " ".join(sys.argv[1:])
        out = args.out / "training_speed_cpu.csv"
        write_csv(out, with_provenance(table.drop(columns="threads"), provenance(), command), overwrite=args.overwrite)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
