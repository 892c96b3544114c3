"""Steps 5 and 6: an estimate of a full recipe's wall time from the measured rates, and a
profile of one inference (torch.profiler).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import torch
import torch._dynamo
from check_setup import CSV_FILES, PROFILE_FILE, Budget, Sizes, error_text, open_table, sync

from bisenet.deploy import randomize_bn_statistics
from bisenet.models import build_model

ESTIMATE_COLUMNS = [
    "config",
    "model",
    "layout",
    "iters",
    "images_per_iter",
    "compute_s_per_iter",
    "data_s_per_iter",
    "s_per_iter",
    "bound",
    "validation_s",
    "total_hours",
    "rests_on",
]


def read_ok(out: Path, step: str) -> pd.DataFrame:
    path = out / CSV_FILES[step]
    if not path.exists():
        return pd.DataFrame()
    frame = pd.read_csv(path)
    return frame[frame.status == "ok"]


def step_estimate(sizes: Sizes, out: Path, work: Path, budget: Budget, info: dict[str, str]) -> None:
    """4. The wall time of a full 160k-iteration recipe on this card, from the measured training
    step, data-loading rate and inference latency: 4x4 images on one card by accumulation, or per
    card of the model zoo's 4."""
    table = open_table("estimate", out, ESTIMATE_COLUMNS, info)
    training, loading, inference = read_ok(out, "training"), read_ok(out, "dataloading"), read_ok(out, "inference")
    if training.empty:
        table.add("failed", "no training step was measured (gpu_training.csv)", config="*")
        return
    train_rows = loading[loading.pipeline.astype(str).str.startswith("train")] if not loading.empty else loading
    most = train_rows[train_rows.workers == train_rows.workers.max()] if not train_rows.empty else train_rows
    data_rate = float(most.steady_images_per_s.fillna(most.images_per_s).iloc[0]) if not most.empty else None
    data_workers = int(most.workers.iloc[0]) if not most.empty else None
    val_rows = loading[loading.pipeline.astype(str).str.startswith("validation")] if not loading.empty else loading
    val_load_s = 1 / float(val_rows.images_per_s.iloc[0]) if not val_rows.empty else None
    for _, row in training.iterrows():
        model = row.model
        big = sizes.infer_shapes[0].label
        infer = inference
        if not inference.empty:
            infer = inference[
                (inference.model == model)
                & (inference["size"] == big)
                & (inference.batch == 1)
                & (inference.dtype == "fp32")
                & (inference.backend == "eager")
                & (inference["set"] == "grid")
            ]
        infer_s = float(infer.median_ms.iloc[0]) / 1e3 if not infer.empty else None
        n_val = sizes.full_iters // sizes.val_every
        val_s = n_val * sizes.val_images * (infer_s + (val_load_s or 0.0)) if infer_s is not None else None
        images = int(row.micro_batch) * int(row.accum)
        data_s = images / data_rate if data_rate else None
        for layout, compute_s in (
            (f"1 card, {int(row.accum)}x{int(row.micro_batch)} by accumulation", row.iteration_ms / 1e3),
            (
                f"per card of {int(row.accum)} (the zoo's {int(row.accum)}x{int(row.micro_batch)}), "
                "no DDP communication",
                row.micro_step_ms / 1e3,
            ),
        ):
            s_iter = max(compute_s, data_s) if data_s is not None else compute_s
            bound = "unknown (no data rate)" if data_s is None else ("data" if data_s > compute_s else "compute")
            total_h = (sizes.full_iters * s_iter + (val_s or 0.0)) / 3600
            rests = (
                f"measured here: {row.config} iteration {row.iteration_ms:.1f} ms / micro-step "
                f"{row.micro_step_ms:.1f} ms "
                f"(train_step, synthetic tensors, crops {row.crop}); data: "
                + (
                    f"{data_rate:.1f} images/s with {data_workers} workers on {os.cpu_count()} CPU cores, loading "
                    f"overlapping compute (the slower of the two sets the pace; {images} images per iteration "
                    "however many cards share this machine's loaders)"
                    if data_rate
                    else "not measured"
                )
                + "; validation: "
                + (
                    f"{n_val} x {sizes.val_images} images at {big}, {infer_s * 1e3:.1f} ms each (fp32 eager)"
                    + (f" + {val_load_s * 1e3:.0f} ms to load" if val_load_s else "")
                    if infer_s is not None
                    else "not counted (no inference time)"
                )
                + "; not counted: start-up, checkpoints, logging"
            )
            table.add(
                config=row.config,
                model=model,
                layout=layout,
                iters=sizes.full_iters,
                images_per_iter=images,
                compute_s_per_iter=compute_s,
                data_s_per_iter=data_s,
                s_per_iter=s_iter,
                bound=bound,
                validation_s=val_s,
                total_hours=total_h,
                rests_on=rests,
            )
            print(f"  {row.config:14s} {layout:60s} {total_h:7.1f} h ({bound}-bound)", flush=True)


# --- profile ------------------------------------------------------------------------------------------


def step_profile(sizes: Sizes, out: Path, work: Path, budget: Budget, info: dict[str, str]) -> None:
    """torch.profiler's top operators and kernels by device time (CPU time in the dry run) of V2,
    fp16, batch 1, at 1024x2048, as text in gpu_profile.txt."""
    from torch.profiler import ProfilerActivity, profile

    device = torch.device(sizes.device)
    cuda = device.type == "cuda"
    path = out / PROFILE_FILE
    header = "\n".join(f"{k}: {v}" for k, v in info.items())
    h, w = sizes.profile_size
    title = f"BiSeNetV2, fp16 weights and input, batch 1, {h}x{w}, eager, {sizes.profile_runs} calls after warm-up"
    path.write_text(f"{title}\n{header}\n\n(profiling ...)\n")
    torch.manual_seed(0)
    model = randomize_bn_statistics(build_model("bisenetv2", 19, aux_heads=False), seed=1).eval()
    model = model.to(device=device, dtype=torch.float16)
    x = torch.randn(1, 3, h, w, device=device).half()
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        sync(device)
        activities = [ProfilerActivity.CPU, ProfilerActivity.CUDA] if cuda else [ProfilerActivity.CPU]
        with profile(activities=activities) as prof:
            for _ in range(sizes.profile_runs):
                model(x)
            sync(device)
    events = prof.key_averages()
    key = "self_device_time_total" if cuda else "self_cpu_time_total"

    def self_time(e) -> float:
        for attr in (key, "self_cuda_time_total", "self_cpu_time_total"):
            if hasattr(e, attr):
                return float(getattr(e, attr))
        return 0.0

    ranked = sorted(events, key=self_time, reverse=True)
    total = sum(self_time(e) for e in events) or 1.0
    lines = [
        f"top 30 by {key} (us, summed over {sizes.profile_runs} calls; share of all {key})",
        f"{'us':>12s} {'share':>7s} {'calls':>7s}  name",
    ]
    for e in ranked[:30]:
        lines.append(f"{self_time(e):12.1f} {100 * self_time(e) / total:6.1f}% {e.count:7d}  {e.key[:150]}")
    try:
        table_text = events.table(sort_by=key, row_limit=30, max_name_column_width=80)
    except Exception as e:  # noqa: BLE001 - the summary above is the part that matters
        table_text = f"(torch's table failed: {error_text(e)})"
    path.write_text(f"{title}\n{header}\n\n" + "\n".join(lines) + "\n\ntorch.profiler's table:\n" + table_text + "\n")
    print("\n".join(lines[:12]), flush=True)


# --- the command line ---------------------------------------------------------------------------------
