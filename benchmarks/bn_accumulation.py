"""BatchNorm running statistics under gradient accumulation: does the evaluated mIoU change?

The model zoo trains on 4 GPUs x 4 images without SyncBN: each GPU's forward updates its
BatchNorms' running statistics once per iteration (momentum 0.1) and rank 0's are kept. With
fewer processes the trainer keeps the global batch by accumulating ``accum`` micro-batches, and
each micro-batch's forward updates the running statistics: ``accum`` updates per iteration
(effective momentum 1 - 0.9^accum per iteration, 0.34 for accum 4). The forward pass normalises
with each micro-batch's own statistics in both cases, so the *weights* are the same; only the
running statistics, what evaluation uses, differ. Three variants of them:

* ``a-accum-m0.1``: accumulation with momentum 0.1 at every micro-batch (the trainer by default);
* ``b-accum-per-iteration``: accumulation with m' = 1 - 0.9^(1/accum) at every micro-batch
  (``Recipe.bn_momentum_per_iteration=True``): running statistics decay by 0.9 per iteration;
* ``c-rank0-emulated``: the model zoo's layout, ``accum`` processes with one micro-batch each, of
  which rank 0's statistics are kept: momentum 0.1 on micro-batch 0 of every iteration only
  (rank 0's micro-batch, :class:`bisenet.engine.sampler.IterationSampler`). Exact except for the
  order of the floating-point sums of the gradients (DDP's all-reduce vs accumulation), which
  ``--check-reference`` measures against a real torchrun run (gloo, CPU);
* ``c-torchrun`` (``--reference torchrun``): the real thing, ``accum`` processes under torchrun
  (gloo on the CPU), rank 0's checkpoint evaluated. Starts ``accum`` processes at once.

Since the weights do not depend on the running statistics, one training run per seed (the
trainer, ``bisenet.engine.trainer.train``) gives all of a, b and c-emulated: forward hooks on
every BatchNorm keep the running statistics of b and c beside the model's own (a), from the very
batch statistics the BatchNorm normalises with; at the end each set is loaded into the trained
weights and evaluated on the val split (:func:`bisenet.engine.evaluator.evaluate`). MiniCity
(synthetic), never Cityscapes::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bn_accumulation.py --iters 150 --seeds 0,1 --jobs 2 \\
        --cache .cache/bisenet --out book/data/bn_accumulation_minicity.csv
"""

from __future__ import annotations

import contextlib
import copy
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import preamble  # noqa: E402 - beside this script
import torch
from torch import nn

preamble.use_repository()

from bisenet.atomic import write_csv  # noqa: E402
from bisenet.cache import cached_minicity  # noqa: E402
from bisenet.checkpoint import read_checkpoint  # noqa: E402
from bisenet.data import build_dataset, eval_pipeline  # noqa: E402
from bisenet.engine import trainer as trainer_module  # noqa: E402
from bisenet.engine.evaluator import evaluate  # noqa: E402
from bisenet.models import build_model  # noqa: E402
from bisenet.profiles import get_profile  # noqa: E402
from bisenet.provenance import commit_at_start, provenance, with_provenance  # noqa: E402

MOMENTUM = 0.1  # torch's and mmseg's BatchNorm default
RECIPE = get_profile("cpu").ablation  # bisenetv2-ablation-cpu: 128x128 crops, batch 8, 150 iterations
MINICITY = get_profile("cpu").ablation_minicity  # MiniCity 128x256, 200 train / 30 val


def batch_norms(model: nn.Module) -> dict[str, nn.modules.batchnorm._BatchNorm]:
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


class ShadowStats:
    """Running statistics kept beside every BatchNorm's own, under other update schedules.

    ``schedules``: name -> (momentum, micro-batches updated: None for every one, else a set of
    indices within the iteration). Each BatchNorm's forward in training mode is micro-batch
    ``calls % accum`` of its iteration; its input's per-channel mean and unbiased variance are
    what BatchNorm itself normalises with and folds into its running statistics.
    """

    def __init__(self, model: nn.Module, accum: int, schedules: dict[str, tuple[float, set[int] | None]]):
        self.accum, self.schedules = accum, schedules
        self.calls: dict[str, int] = {}
        self.stats: dict[str, dict[str, tuple[torch.Tensor, torch.Tensor]]] = {s: {} for s in schedules}
        self.handles = []
        for name, bn in batch_norms(model).items():
            self.calls[name] = 0
            for s in schedules:  # the initial state: what the BatchNorm starts from
                self.stats[s][name] = (bn.running_mean.detach().clone(), bn.running_var.detach().clone())
            self.handles.append(bn.register_forward_hook(self._hook(name)))

    def _hook(self, name: str):
        def hook(module, inputs, output):
            if not module.training:
                return
            x = inputs[0].detach().float()
            dims = [0, *range(2, x.dim())]
            var, mean = torch.var_mean(x, dim=dims, unbiased=True)
            a = self.calls[name] % self.accum
            self.calls[name] += 1
            for s, (m, which) in self.schedules.items():
                if which is None or a in which:
                    rm, rv = self.stats[s][name]
                    self.stats[s][name] = ((1 - m) * rm + m * mean, (1 - m) * rv + m * var)

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def load_into(self, model: nn.Module, schedule: str) -> nn.Module:
        """A copy of ``model`` (its weights) with ``schedule``'s running statistics."""
        model = copy.deepcopy(model)
        for name, bn in batch_norms(model).items():
            rm, rv = self.stats[schedule][name]
            bn.running_mean.copy_(rm)
            bn.running_var.copy_(rv)
        return model


@contextlib.contextmanager
def tracking(accum: int, schedules: dict, into: dict):
    """While open, every run :func:`bisenet.engine.trainer.train` builds gets a
    :class:`ShadowStats` (``into["shadow"]``); its Run is ``into["run"]``."""
    original = trainer_module.build_run

    def build_run(*args, **kwargs):
        run = original(*args, **kwargs)
        into["run"], into["shadow"] = run, ShadowStats(run.model, run.accum, schedules)
        return run

    trainer_module.build_run = build_run
    try:
        yield into
    finally:
        trainer_module.build_run = original


def per_iteration(m: float, accum: int) -> float:
    return 1 - (1 - m) ** (1 / accum)


def study_recipe(seed: int, iters: int, accum: int):
    per_gpu = RECIPE.global_batch // accum
    return RECIPE.with_(
        gpus=accum,
        batch_per_gpu=per_gpu,
        iters=iters,
        val_interval=iters,
        checkpoint_interval=iters,
        seed=seed,
        name=f"{RECIPE.name}-{accum}x{per_gpu}-seed{seed}",
    )


def metrics_row(metrics, **fields) -> dict:
    """The row of one evaluation, in percent (as the book's other CSVs)."""
    return {**fields, "mIoU": 100 * metrics.mIoU, "mAcc": 100 * metrics.mAcc, "aAcc": 100 * metrics.aAcc}


def run_seed(seed: int, args, data_root: Path, work: Path) -> list[dict]:
    """One training run (accumulation), evaluated with each variant's running statistics."""
    accum = args.accum
    recipe = study_recipe(seed, args.iters, accum)
    m_iter = per_iteration(MOMENTUM, accum)
    schedules = {"a-check": (MOMENTUM, None), "b": (m_iter, None), "c": (MOMENTUM, {0})}
    val_set = build_dataset(recipe.dataset, data_root, "val", eval_pipeline(recipe.eval_scale))
    t0 = time.perf_counter()
    with tracking(accum, schedules, {}) as got:
        trainer_module.train(
            recipe, data_root=data_root, work_dir=work / f"accum-seed{seed}", device="cpu", progress=False
        )
    seconds = time.perf_counter() - t0
    model, shadow = got["run"].model, got["shadow"]
    shadow.remove()
    # the hooks saw what BatchNorm saw: their momentum-0.1 copy must equal the model's own statistics
    own = {n: (bn.running_mean, bn.running_var) for n, bn in batch_norms(model).items()}
    check = max(
        max(
            (own[n][0] - rm).abs().max().item(), ((own[n][1] - rv).abs() / own[n][1].abs().clamp_min(1e-6)).max().item()
        )
        for n, (rm, rv) in shadow.stats["a-check"].items()
    )
    print(f"seed {seed}: hook statistics vs BatchNorm's own, largest difference {check:.2e}", flush=True)
    if check > 1e-3:
        raise RuntimeError(f"the shadow statistics do not follow BatchNorm's own (difference {check:.2e})")
    common = dict(seed=seed, accum=accum, iters=args.iters, train_seconds=round(seconds, 1))
    rows = [
        metrics_row(
            evaluate(model, val_set, device="cpu", progress=False),
            variant="a-accum-m0.1",
            bn_momentum=MOMENTUM,
            updates_per_iteration=accum,
            **common,
        ),
        metrics_row(
            evaluate(shadow.load_into(model, "b"), val_set, device="cpu", progress=False),
            variant="b-accum-per-iteration",
            bn_momentum=round(m_iter, 6),
            updates_per_iteration=accum,
            **common,
        ),
        metrics_row(
            evaluate(shadow.load_into(model, "c"), val_set, device="cpu", progress=False),
            variant="c-rank0-emulated",
            bn_momentum=MOMENTUM,
            updates_per_iteration=1,
            **common,
        ),
    ]
    if args.reference == "torchrun":
        rows.append(torchrun_reference(seed, args, data_root, work, val_set))
    for r in rows:
        print(f"seed {seed} {r['variant']:24s} mIoU {r['mIoU']:.2f} aAcc {r['aAcc']:.2f}", flush=True)
    return rows


def torchrun_command(recipe, accum: int, data_root: Path, work_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={accum}",
        "-m",
        "bisenet",
        "train",
        "--recipe",
        RECIPE.name,
        "--data-root",
        str(data_root),
        "--iters",
        str(recipe.iters),
        "--gpus",
        str(accum),
        "--batch-per-gpu",
        str(recipe.batch_per_gpu),
        "--seed",
        str(recipe.seed),
        "--device",
        "cpu",
        "--work-dir",
        str(work_dir),
    ]


def torchrun_reference(seed: int, args, data_root: Path, work: Path, val_set) -> dict:
    """(c) for real: ``accum`` processes under torchrun (gloo), rank 0's final checkpoint."""
    recipe = study_recipe(seed, args.iters, args.accum)
    work_dir = work / f"torchrun-seed{seed}"
    t0 = time.perf_counter()
    out = subprocess.run(
        torchrun_command(recipe, args.accum, data_root, work_dir),
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    if out.returncode:
        raise RuntimeError(f"torchrun failed:\n{out.stderr[-3000:]}")
    model = load_model(work_dir / f"iter_{recipe.iters}.pth", recipe)
    return metrics_row(
        evaluate(model, val_set, device="cpu", progress=False),
        variant="c-torchrun",
        bn_momentum=MOMENTUM,
        updates_per_iteration=1,
        seed=seed,
        accum=args.accum,
        iters=args.iters,
        train_seconds=round(time.perf_counter() - t0, 1),
    )


def load_model(path: Path, recipe) -> nn.Module:
    model = build_model(
        recipe.model, recipe.num_classes, aux_heads=bool(recipe.aux_weights), **dict(recipe.model_options)
    )
    model.load_state_dict(read_checkpoint(path)["model"])
    return model.eval()


def check_reference(args, data_root: Path, work: Path) -> dict:
    """How exact ``c-rank0-emulated`` is: a short run of ``--accum`` processes under torchrun
    against the emulation in one process (same recipe and seed): largest difference of the
    weights and of rank 0's running statistics (one row of ``--check-out``)."""
    recipe = study_recipe(0, args.check_iters, args.accum)
    ddp = work / "check-torchrun"
    out = subprocess.run(
        torchrun_command(recipe, args.accum, data_root, ddp),
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    if out.returncode:
        raise RuntimeError(f"torchrun failed:\n{out.stderr[-3000:]}")
    reference = read_checkpoint(ddp / f"iter_{recipe.iters}.pth")["model"]
    with tracking(args.accum, {"c": (MOMENTUM, {0})}, {}) as got:
        trainer_module.train(recipe, data_root=data_root, work_dir=work / "check-one", device="cpu", progress=False)
    model, shadow = got["run"].model, got["shadow"]
    emulated = shadow.load_into(model, "c").state_dict()
    plain = model.state_dict()
    weights = max((reference[k] - emulated[k]).abs().max().item() for k, _ in model.named_parameters())

    def rel(a, b):
        return ((a - b).abs() / b.abs().clamp_min(1e-3)).max().item()

    def stats(sd):
        return max(
            max(
                rel(sd[f"{n}.running_mean"], reference[f"{n}.running_mean"]),
                rel(sd[f"{n}.running_var"], reference[f"{n}.running_var"]),
            )
            for n in batch_norms(model)
        )

    print(
        f"check: {args.accum} processes (torchrun, gloo) vs one process accumulating, {recipe.iters} iterations: "
        f"weights differ by at most {weights:.2e}; rank 0's running statistics vs the emulation: "
        f"{stats(emulated):.2e} (relative), vs accumulation with momentum 0.1: {stats(plain):.2e}",
        flush=True,
    )
    return {
        "processes": args.accum,
        "iters": recipe.iters,
        "recipe": recipe.name,
        "weights_max_abs_diff": weights,
        "rank0_stats_vs_emulated_max_rel": stats(emulated),
        "rank0_stats_vs_accumulated_max_rel": stats(plain),
    }


COLUMNS = [
    "variant",
    "seed",
    "accum",
    "bn_momentum",
    "updates_per_iteration",
    "mIoU",
    "mAcc",
    "aAcc",
    "iters",
    "recipe",
    "batch",
    "dataset",
    "data",
    "train_seconds",
]


def data_description(data_root: Path, default: bool) -> str:
    if default:
        return (
            f"{MINICITY}, seed 0 (bisenet.cache.cached_minicity(get_profile('cpu').ablation_minicity); "
            f"bisenet minicity --out DIR --train {MINICITY.train} --val {MINICITY.val} "
            f"--size {MINICITY.size[0]}x{MINICITY.size[1]} --seed 0)"
        )
    return f"MiniCity at {data_root}"


def main(argv=None) -> None:
    p = preamble.script_parser(__doc__)
    p.add_argument("--iters", type=int, default=RECIPE.iters, help=f"iterations (default {RECIPE.iters})")
    p.add_argument("--seeds", default="0", help="comma-separated recipe seeds (default 0)")
    p.add_argument(
        "--accum", type=int, default=4, help="micro-batches per iteration (default 4: gpus=4, 2 images each)"
    )
    p.add_argument(
        "--data-root", type=Path, help="a MiniCity root (default: the cpu profile's ablation MiniCity in the cache)"
    )
    p.add_argument(
        "--cache",
        type=Path,
        help="where that MiniCity is generated or found (default: BISENET_CACHE, else ~/.cache/bisenet)",
    )
    p.add_argument("--work-dir", type=Path, help="where the runs train (default: a temporary folder, removed)")
    p.add_argument("--out", type=Path, default=Path("book/data/bn_accumulation_minicity.csv"))
    p.add_argument(
        "--reference",
        choices=["emulated", "torchrun"],
        default="emulated",
        help="(c) emulated in the accumulating run (default) or also run for real under torchrun "
        "(accum processes at once)",
    )
    p.add_argument("--jobs", type=int, default=1, help="seeds trained at once, one single-thread process each")
    p.add_argument(
        "--check-reference",
        action="store_true",
        help="only compare a short torchrun run with the emulated rank-0 statistics, and exit",
    )
    p.add_argument("--check-iters", type=int, default=5)
    p.add_argument(
        "--check-out",
        type=Path,
        default=Path("book/data/bn_accumulation_check.csv"),
        help="where --check-reference writes its row (with provenance)",
    )
    args = p.parse_args(argv)
    commit_at_start()  # the code the runs start with, not whatever is committed when they end
    seeds = [int(s) for s in args.seeds.split(",")]
    if RECIPE.global_batch % args.accum or RECIPE.global_batch // args.accum < 2:
        p.error(f"--accum must divide the global batch {RECIPE.global_batch} into micro-batches of at least 2")
    torch.set_num_threads(1)
    data_root = args.data_root or cached_minicity(MINICITY, args.cache)
    command = "OMP_NUM_THREADS=1 python benchmarks/bn_accumulation.py " + shlex.join(
        a for a in (argv if argv is not None else sys.argv[1:])
    )
    with contextlib.ExitStack() as stack:
        work = args.work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bn-accum-")))
        if args.check_reference:
            row = pd.DataFrame([check_reference(args, data_root, work)])
            written = write_csv(
                args.check_out, with_provenance(row, provenance("cpu"), command), overwrite=args.overwrite
            )
            print(f"wrote {written}")
            return
        if args.jobs > 1 and len(seeds) > 1:
            rows = parallel(seeds, args, argv, data_root, work)
        else:
            rows = [r for s in seeds for r in run_seed(s, args, data_root, work)]
    table = pd.DataFrame(rows)
    table["recipe"] = RECIPE.name
    table["batch"] = f"{args.accum}x{RECIPE.global_batch // args.accum}"
    table["dataset"] = "minicity"
    table["data"] = data_description(data_root, args.data_root is None)
    table = table[COLUMNS]
    table = with_provenance(table, provenance("cpu"), command)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(args.out, table, overwrite=args.overwrite)
    print(table[["variant", "seed", "bn_momentum", "mIoU", "aAcc"]].to_string(index=False))
    print(f"wrote {args.out}")


def parallel(seeds, args, argv, data_root: Path, work: Path) -> list[dict]:
    """Each seed in its own single-thread process (``--jobs`` at a time); their rows."""
    argv = list(argv if argv is not None else sys.argv[1:])
    base = [
        a
        for i, a in enumerate(argv)
        if a not in ("--seeds", "--out", "--jobs", "--work-dir")
        and (i == 0 or argv[i - 1] not in ("--seeds", "--out", "--jobs", "--work-dir"))
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rows, pending = [], list(seeds)
    running: list[tuple[subprocess.Popen, Path]] = []
    while pending or running:
        while pending and len(running) < args.jobs:
            s = pending.pop(0)
            out = work / f"seed{s}.csv"
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                *base,
                "--seeds",
                str(s),
                "--out",
                str(out),
                "--work-dir",
                str(work / f"seed{s}"),
                "--data-root",
                str(data_root),
            ]
            running.append((subprocess.Popen(cmd, env=env), out))
        proc, out = running.pop(0)
        if proc.wait():
            raise RuntimeError(f"seed run failed: {proc.args}")
        rows += pd.read_csv(out)[[c for c in COLUMNS if c not in ("recipe", "batch", "dataset", "data")]].to_dict(
            "records"
        )
    return rows


if __name__ == "__main__":
    main()
