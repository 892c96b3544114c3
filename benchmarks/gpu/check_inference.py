"""Step 2, inference: latency and throughput of the models at each size, batch, precision and
backend (eager, cuDNN benchmark, CUDA graphs, torch.compile), interleaved, beside mmseg's.
"""

from __future__ import annotations

import copy
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch._dynamo
import torch.nn.functional as F
from check_setup import (
    MMSEG_CONFIGS,
    Budget,
    Shape,
    Sizes,
    Table,
    error_text,
    guarded,
    open_table,
    rel_err,
    summary,
    sync,
    tf32_state,
    timed,
)
from torch import nn

from bisenet.analysis.speed import DTYPES
from bisenet.deploy import randomize_bn_statistics
from bisenet.models import build_model

INFERENCE_COLUMNS = [
    "set",
    "model",
    "impl",
    "size",
    "output",
    "protocol",
    "batch",
    "dtype",
    "backend",
    "median_ms",
    "p10_ms",
    "p90_ms",
    "images_per_s",
    "runs",
    "warmup",
    "ratio_to_mmseg",
    "ratio_to_eager",
    "rel_diff_to_eager",
    "compile_s",
    "compile_backend",
    "tf32",
    "cudnn_benchmark",
    "timer",
    "note",
]


class WithOutputSize(nn.Module):
    """The model, its logits resized bilinearly to ``out`` (the V2 paper's protocol), or as they
    are (at the input size) when ``out`` is None."""

    def __init__(self, model: nn.Module, out: tuple[int, int] | None) -> None:
        super().__init__()
        self.model, self.out = model, out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        if self.out is None:
            return logits
        return F.interpolate(logits, size=self.out, mode="bilinear", align_corners=False)


class MMSegLogits(nn.Module):
    """mmseg's whole-image inference: logits at the input size (``encode_decode``)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode_decode(x, [dict(img_shape=tuple(x.shape[-2:]))] * x.shape[0])


@dataclass
class Variant:
    """One timed configuration and what its row says."""

    row: dict[str, Any]
    run: Callable[[], torch.Tensor] | None = None
    times: list[float] = field(default_factory=list)
    error: str = ""
    skip: str = ""  # why it is not run (a row with status "skipped")
    compile_s: float | None = None
    output: torch.Tensor | None = None


def make_inference_runner(
    module: nn.Module, x: torch.Tensor, backend: str, compile_backend: str
) -> tuple[Callable[[], torch.Tensor], float | None]:
    """A zero-argument function that runs ``module`` on ``x`` the ``backend`` way, and the seconds
    its first call took when it compiles. Backends: "eager"; "eager+cudnn-benchmark" (cuDNN's
    autotuner on for these calls); "cuda-graph" (the eager model captured by hand in a
    ``torch.cuda.CUDAGraph`` and replayed); "compile:MODE" (``torch.compile`` with that mode,
    "default" for none; "reduce-overhead" adds CUDA graphs)."""
    if backend == "eager":

        def run() -> torch.Tensor:
            with torch.inference_mode():
                return module(x)

        return run, None
    if backend == "eager+cudnn-benchmark":

        def run() -> torch.Tensor:
            before = torch.backends.cudnn.benchmark
            torch.backends.cudnn.benchmark = True
            try:
                with torch.inference_mode():
                    return module(x)
            finally:
                torch.backends.cudnn.benchmark = before

        return run, None
    if backend == "cuda-graph":
        if x.device.type != "cuda":
            raise RuntimeError("cuda-graph needs a CUDA device")
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(3):
                module(x)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.no_grad(), torch.cuda.graph(graph):
            static_out = module(x)

        def run() -> torch.Tensor:
            graph.replay()
            return static_out

        return run, None
    if backend.startswith("compile:"):
        mode = backend.split(":", 1)[1]
        if mode == "reduce-overhead" and x.device.type != "cuda":
            raise RuntimeError("reduce-overhead (CUDA graphs) needs a CUDA device")
        net = torch.compile(module, mode=None if mode == "default" else mode, backend=compile_backend, dynamic=False)
        mark = getattr(torch.compiler, "cudagraph_mark_step_begin", None) if mode == "reduce-overhead" else None

        def run() -> torch.Tensor:  # no_grad: the documented way for CUDA graphs (reduce-overhead)
            if mark is not None:
                mark()
            with torch.no_grad():
                return net(x)

        t0 = time.perf_counter()
        run()
        sync(x.device)
        return run, time.perf_counter() - t0
    raise ValueError(f"unknown backend {backend!r}")


def time_variants(variants: list[Variant], device: torch.device, sizes: Sizes, budget: Budget) -> None:
    """Warm-up rounds, then timed rounds A, B, C, A, B, C, ... over the variants that built, until
    ``max_runs`` or ``group_seconds`` (after ``min_runs``) or the step's budget; a variant that
    raises is dropped with its error."""
    live = [v for v in variants if v.run is not None and not v.error]
    for v in live:
        try:
            for _ in range(sizes.warmup):
                v.output = v.run()
            sync(device)
            if v.output is not None:
                v.output = v.output.detach().float().clone()
        except Exception as e:  # noqa: BLE001 - a runner that fails its warm-up is a row with its error
            v.error, v.run = error_text(e), None
    live = [v for v in live if v.run is not None]
    t0 = time.monotonic()
    for r in range(sizes.max_runs):
        for v in live:
            if v.run is None:
                continue
            try:
                v.times.append(timed(v.run, device))
            except Exception as e:  # noqa: BLE001 - a runner that fails while timed is dropped, its error kept
                v.error, v.run = error_text(e), None
        done = r + 1
        if done >= sizes.min_runs and (time.monotonic() - t0 > sizes.group_seconds or not budget.allows(5)):
            break


def inference_rows(table: Table, variants: list[Variant], sizes: Sizes, warmup: int) -> None:
    """One row per variant, with its ratios to mmseg's eager and to its own eager variant."""

    def key(v: Variant) -> tuple:
        r = v.row
        return r["model"], r["size"], r["output"], r["batch"], r["dtype"]

    eager = {key(v): v for v in variants if v.row["backend"] == "eager" and v.row["impl"] == "bisenet" and v.times}
    mmseg = {
        (v.row["model"].removeprefix("mmseg:"), *key(v)[1:]): v
        for v in variants
        if v.row["impl"] == "mmseg" and v.times
    }
    for v in variants:
        if v.error or v.skip or not v.times:
            status = "failed" if v.error else "skipped"
            table.add(status, v.error or v.skip or "not timed (time budget)", **v.row, compile_s=v.compile_s)
            continue
        stats = summary(v.times)
        ours = v.row["impl"] == "bisenet"
        # mmseg's rows: the difference to the package's eager output on the same weights
        base = eager.get(key(v) if ours else (v.row["model"].removeprefix("mmseg:"), *key(v)[1:]))
        ref = mmseg.get(key(v)) if ours else None
        diff = None
        if base is not None and base is not v and base.output is not None and v.output is not None:
            diff = rel_err(v.output, base.output)
        table.add(
            **v.row,
            **stats,
            images_per_s=v.row["batch"] / (stats["median_ms"] / 1e3),
            runs=len(v.times),
            warmup=warmup,
            compile_s=v.compile_s,
            rel_diff_to_eager=diff,
            ratio_to_mmseg=stats["median_ms"] / summary(ref.times)["median_ms"] if ref else None,
            ratio_to_eager=stats["median_ms"] / summary(base.times)["median_ms"] if base and ours else None,
        )
        print(
            f"  {v.row['model']:16s} {v.row['size']:>20s} b{v.row['batch']} {v.row['dtype']} {v.row['backend']:34s} "
            f"{stats['median_ms']:8.2f} ms",
            flush=True,
        )


def import_mmseg_builder() -> tuple[Callable[[str], nn.Module] | None, str]:
    """mmseg 1.2.2's model builder (benchmarks/mmseg_env.py), or None and why not."""
    try:
        from mmseg_env import build_mmseg_model

        import_mmseg = sys.modules["mmseg_env"].import_mmseg
        mmseg = import_mmseg()
        return build_mmseg_model, f"mmseg {mmseg.__version__}"
    except Exception as e:  # noqa: BLE001 - any import failure means no mmseg rows
        return None, f"mmseg does not import: {error_text(e)}"


def step_inference(sizes: Sizes, out: Path, work: Path, budget: Budget, info: dict[str, str]) -> None:
    """2. Latency of V2, V1 R-18, V1 R-50: the grid (every shape x batch x dtype, eager and CUDA
    graphs, mmseg's eager models beside them), then the compile set (the priority variants
    compiled, interleaved with their eager ones) while the budget lasts."""
    step = InferenceStep(sizes, budget, open_table("inference", out, INFERENCE_COLUMNS, info))
    # batch 1 first (the latency the papers report), then batch 8 before the compiles: a first
    # compile slower than planned can end the step, and then only compile rows are lost
    for batch in sizes.infer_batches:
        for shape in sizes.infer_shapes:
            guarded(
                step.table,
                dict(set="grid", size=shape.label, batch=batch, model="*", backend="*"),
                lambda shape=shape, batch=batch: step.grid_group(shape, batch),
            )
    for name, dtype, backends in sizes.compile_groups:
        guarded(
            step.table,
            dict(set="compile", model=name, dtype=dtype, backend="*"),
            lambda name=name, dtype=dtype, backends=backends: step.compile_group(name, dtype, backends),
        )
    step.table.add(
        "skipped",
        "not in the grid, to keep within the budget: compiled variants at batch 8, at the smaller "
        "size and in the paper's protocol; mmseg at batch 8 and in bf16; CUDA graphs at batch 8",
        set="not measured",
        model="*",
        backend="*",
    )


class InferenceStep:
    """The state the inference step's groups share: the models (ours, and mmseg's with the same
    weights when mmseg is installed), their casts per precision, the table, the budget, and the
    compile times seen so far (a guess at the next one)."""

    def __init__(self, sizes: Sizes, budget: Budget, table: Table) -> None:
        self.sizes, self.budget, self.table = sizes, budget, table
        self.device = torch.device(sizes.device)
        self.cuda = self.device.type == "cuda"
        torch.backends.cudnn.benchmark = False
        for limit in ("cache_size_limit", "recompile_limit"):  # one compiled wrapper per variant: no eager fallback
            if hasattr(torch._dynamo.config, limit):
                setattr(torch._dynamo.config, limit, 64)
        tf32 = tf32_state() if self.cuda else "n/a (cpu)"
        timer = "CUDA events, synchronised before each call" if self.cuda else "wall clock (perf_counter)"
        self.common = dict(tf32=tf32, cudnn_benchmark=False, timer=timer, compile_backend="")
        self.bases: dict[str, nn.Module] = {}
        for name in sizes.infer_models:
            torch.manual_seed(0)
            self.bases[name] = randomize_bn_statistics(build_model(name, 19, aux_heads=False), seed=1).eval()
        build_mmseg, self.mmseg_note = import_mmseg_builder()
        print(self.mmseg_note, flush=True)
        self.mmseg_bases: dict[str, nn.Module] = {}
        if build_mmseg is not None:
            for name, config in MMSEG_CONFIGS.items():
                row = dict(set="grid", model=f"mmseg:{name}", impl="mmseg", backend="eager")
                guarded(table, row, lambda name=name, config=config: self.add_mmseg(build_mmseg, name, config))
        self.cast_cache: dict[tuple[str, str, str], nn.Module] = {}
        self.seen: list[float] = []  # compile times so far

    def add_mmseg(self, build_mmseg: Callable[[str], nn.Module], name: str, config: str) -> None:
        """mmseg's model of ``name``, with the package's weights (the names are identical; ours has
        no booster heads here)."""
        model = build_mmseg(config).eval()
        missing, unexpected = model.load_state_dict(self.bases[name].state_dict(), strict=False)
        if unexpected or any(not k.startswith("auxiliary_head.") for k in missing):
            raise RuntimeError(f"mmseg's {name} does not take the package's weights: {unexpected or missing}")
        self.mmseg_bases[name] = model

    def module_for(self, name: str, dtype: str, impl: str) -> nn.Module:
        if (name, dtype, impl) not in self.cast_cache:
            src = self.bases[name] if impl == "bisenet" else self.mmseg_bases[name]
            module = copy.deepcopy(src).to(device=self.device, dtype=DTYPES[dtype]).eval()
            self.cast_cache[name, dtype, impl] = module
        return self.cast_cache[name, dtype, impl]

    def variant(
        self,
        set_name: str,
        name: str,
        impl: str,
        shape: Shape,
        batch: int,
        dtype: str,
        backend: str,
        x: torch.Tensor,
        note: str = "",
    ) -> Variant:
        """One timed configuration, built (a backend that cannot build is a row with its error)."""
        out_hw = shape.out or shape.size
        row = dict(
            set=set_name,
            model=name if impl == "bisenet" else f"mmseg:{name}",
            impl=impl,
            size=shape.label,
            output=f"{out_hw[0]}x{out_hw[1]}",
            protocol=shape.protocol,
            batch=batch,
            dtype=dtype,
            backend=backend,
            **self.common,
            note=note,
        )
        if backend.startswith("compile"):
            row["compile_backend"] = self.sizes.compile_backend
        v = Variant(row)
        if backend in ("cuda-graph", "compile:reduce-overhead") and not self.cuda:
            v.skip = "CUDA graphs: not on the CPU (dry run)"
            return v
        try:
            base = self.module_for(name, dtype, impl)
            module = WithOutputSize(base if impl == "bisenet" else MMSegLogits(base), shape.out)
            v.run, v.compile_s = make_inference_runner(module, x, backend, self.sizes.compile_backend)
        except Exception as e:  # noqa: BLE001 - a backend that cannot build is a row with its error
            traceback.print_exc()
            v.error = error_text(e)
        return v

    def grid_group(self, shape: Shape, batch: int) -> None:
        """Every model x dtype (x eager and CUDA graphs at batch 1, x mmseg's eager at batch 1 in
        fp32 and fp16 at ``mmseg_shapes``) at one shape and batch, timed interleaved."""
        sizes, budget = self.sizes, self.budget
        if not budget.allows(30):
            reason = f"time budget: {budget.left():.0f} s left"
            self.table.add("skipped", reason, set="grid", size=shape.label, batch=batch, model="*", backend="*")
            return
        print(f"grid {shape.label} batch {batch} ({budget.left():.0f} s left)", flush=True)
        variants = []
        for dtype in sizes.infer_dtypes:
            x = torch.randn(batch, 3, *shape.size, device=self.device).to(DTYPES[dtype])
            for name in sizes.infer_models:
                for backend in ("eager", "cuda-graph") if batch == 1 else ("eager",):
                    variants.append(self.variant("grid", name, "bisenet", shape, batch, dtype, backend, x))
            if shape.label in sizes.mmseg_shapes and batch == 1 and dtype in ("fp32", "fp16"):
                variants += [self.mmseg_variant(name, shape, batch, dtype, x) for name in MMSEG_CONFIGS]
        self.finish(variants)

    def mmseg_variant(self, name: str, shape: Shape, batch: int, dtype: str, x: torch.Tensor) -> Variant:
        """mmseg's eager ``name`` beside ours, or a skipped row saying why there is none."""
        if name in self.mmseg_bases:
            return self.variant("grid", name, "mmseg", shape, batch, dtype, "eager", x, note=self.mmseg_note)
        row = dict(set="grid", model=f"mmseg:{name}", impl="mmseg", size=shape.label, protocol=shape.protocol)
        return Variant({**row, "batch": batch, "dtype": dtype, "backend": "eager"}, skip=self.mmseg_note)

    def compile_group(self, name: str, dtype: str, backends: tuple[str, ...]) -> None:
        """``name`` in ``dtype`` at batch 1: eager, eager with cuDNN's autotuner, CUDA graphs and
        each compiled backend (while the budget allows one more compile), timed interleaved."""
        sizes, budget = self.sizes, self.budget
        shape, batch = sizes.compile_shape, 1
        x = torch.randn(batch, 3, *shape.size, device=self.device).to(DTYPES[dtype])
        print(f"compile set: {name} {dtype} {shape.label} batch {batch} ({budget.left():.0f} s left)", flush=True)
        variants = [
            self.variant("compile", name, "bisenet", shape, batch, dtype, backend, x)
            for backend in (("eager", "eager+cudnn-benchmark", "cuda-graph") if self.cuda else ("eager",))
        ]
        for backend in backends:
            longest = max(self.seen) if self.seen else (45.0 if self.cuda else 10.0)  # a guess until one is seen
            if not budget.allows(longest * 1.3 + 10):
                row = dict(set="compile", model=name, impl="bisenet", size=shape.label, protocol=shape.protocol)
                row.update(batch=batch, dtype=dtype, backend=backend, compile_backend=sizes.compile_backend)
                reason = f"time budget: {budget.left():.0f} s left, a compile takes about {longest:.0f} s"
                variants.append(Variant(row, skip=reason))
                continue
            print(f"  compiling {name} {dtype} {backend}", flush=True)
            v = self.variant("compile", name, "bisenet", shape, batch, dtype, backend, x)
            variants.append(v)
            if v.compile_s:
                self.seen.append(v.compile_s)
        if any(v.row["backend"].startswith("compile") and v.run is not None for v in variants):
            self.finish(variants)
        else:  # nothing compiled: the rows say why, no eager timings repeated
            compiled = [v for v in variants if v.row["backend"].startswith("compile")]
            inference_rows(self.table, compiled, sizes, sizes.warmup)

    def finish(self, variants: list[Variant]) -> None:
        time_variants(variants, self.device, self.sizes, self.budget)
        inference_rows(self.table, variants, self.sizes, self.sizes.warmup)
        for v in variants:
            v.run = v.output = None
        if self.cuda:
            torch.cuda.empty_cache()


# --- 3. training step ---------------------------------------------------------------------------------
