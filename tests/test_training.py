"""The training engine: schedule, OHEM, losses, resume, torchrun, bf16, faults."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from bisenet.checkpoint import Checkpoint, CheckpointError, iteration_checkpoints, read_checkpoint, save_checkpoint
from bisenet.engine import trainer as trainer_module
from bisenet.engine.optim import WarmupPoly, build_optimizer, set_lr
from bisenet.engine.run_log import read_log
from bisenet.engine.trainer import NonFiniteLossError, train
from bisenet.losses import SegmentationLoss, ohem_cross_entropy, ohem_mask
from bisenet.models import build_model
from bisenet.recipes import RECIPES, get_recipe, recipe_table


@pytest.fixture(scope="session")
def minicity(tmp_path_factory):
    from bisenet.data.minicity import generate_minicity

    return generate_minicity(tmp_path_factory.mktemp("minicity"), train=6, val=2, size=(64, 128), seed=0)


# --- schedule and optimiser ----------------------------------------------------------------


def test_warmup_then_poly_against_the_formulas():
    s = WarmupPoly(base_lr=0.05, total_iters=160_000)
    assert s(0) == pytest.approx(0.005)  # 0.1 x base
    assert s(500) == pytest.approx(0.05 * (0.1 + 0.9 * 0.5))
    assert s(1000) == pytest.approx(0.05)  # poly starts at the base lr
    i = 80_500
    assert s(i) == pytest.approx((0.05 - 1e-4) * (1 - (i - 1000) / 159_000) ** 0.9 + 1e-4)
    assert s(160_000) == pytest.approx(1e-4)


def test_coincheung_optimizer_groups():
    model = build_model("bisenetv2")
    opt = build_optimizer(model, 0.01, variant="coincheung")
    set_lr(opt, 0.01)
    for g in opt.param_groups:
        flat = all(p.ndim == 1 for p in g["params"])
        assert g["weight_decay"] == (0.0 if flat else 5e-4)
        assert g["lr"] in (pytest.approx(0.01), pytest.approx(0.1))
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    head_groups = [g for g in opt.param_groups if g["lr_scale"] == 10.0]
    assert head_groups and all(g["lr"] == pytest.approx(0.1) for g in head_groups)


# --- losses ----------------------------------------------------------------------------------


def _logits_with_true_class_probs(p_true, num_classes=2):
    """Logits (1, C, 1, n) whose softmax gives the true class (0) the probabilities p_true."""
    p = torch.tensor(p_true)
    logits = torch.zeros(1, num_classes, 1, len(p_true))
    logits[0, 0, 0] = torch.log(p)
    logits[0, 1, 0] = torch.log(1 - p)
    return logits, torch.zeros(1, 1, len(p_true), dtype=torch.long)


def test_ohem_keeps_exactly_the_hard_pixels():
    logits, target = _logits_with_true_class_probs([0.1, 0.5, 0.69, 0.71, 0.9, 0.3])
    keep = ohem_mask(logits, target, thresh=0.7, min_kept=2)
    assert keep.flatten().tolist() == [True, True, True, False, False, True]


def test_ohem_min_kept_floor_and_ignore():
    logits, target = _logits_with_true_class_probs([0.95, 0.8, 0.99, 0.9, 0.6])
    target[0, 0, 4] = 255  # the only hard pixel is ignored
    keep = ohem_mask(logits, target, thresh=0.7, min_kept=2)
    assert keep.flatten().tolist() == [False, True, False, True, False]  # the 2 lowest labelled
    assert ohem_mask(logits, target, 0.7, min_kept=10).flatten().tolist() == [True, True, True, True, False]
    loss = ohem_cross_entropy(logits, target, 0.7, min_kept=2)
    assert loss.item() == pytest.approx(-(torch.log(torch.tensor(0.8)) + torch.log(torch.tensor(0.9))).item() / 2, rel=1e-5)


def test_booster_loss_is_the_weighted_sum():
    torch.manual_seed(0)
    main, aux = torch.randn(2, 3, 8, 8), [torch.randn(2, 3, 8, 8) for _ in range(2)]
    target = torch.randint(0, 3, (2, 8, 8))
    terms = SegmentationLoss("ce", aux_weights=(0.4, 1.5))(main, aux, target)
    assert set(terms) == {"loss", "loss_main", "loss_aux0", "loss_aux1"}
    expected = terms["loss_main"] + 0.4 * terms["loss_aux0"] + 1.5 * terms["loss_aux1"]
    assert terms["loss"].item() == pytest.approx(expected.item())
    all_ignored = torch.full_like(target, 255)
    assert SegmentationLoss("ce", (1, 1))(main, aux, all_ignored)["loss"].item() == 0.0


# --- recipes -----------------------------------------------------------------------------------


def test_recipes_match_the_model_zoo():
    v2 = RECIPES["bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024"]
    assert (v2.gpus, v2.batch_per_gpu, v2.crop_size, v2.lr, v2.weight_decay, v2.iters) == (4, 4, (1024, 1024), 0.05, 5e-4, 160_000)
    assert (v2.warmup_iters, v2.warmup_ratio, v2.poly_power, v2.eta_min) == (1000, 0.1, 0.9, 1e-4)
    assert RECIPES["bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024"].amp == "fp16"
    assert RECIPES["bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024"].loss == "ohem"
    assert RECIPES["bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024"].global_batch == 32
    assert RECIPES["bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024"].lr == 0.025
    assert RECIPES["bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024"].lr == 0.05
    coco = RECIPES["bisenetv1_r101-d32-in1k-pre_4xb4-160k_coco-stuff164k-512x512"]
    assert (coco.num_classes, coco.lr, coco.crop_size, coco.pretrained_backbone) == (171, 0.005, (512, 512), True)
    table = recipe_table()
    assert {"mmseg lr", "mmseg batch", "mmseg crop"} <= set(table.columns)
    zoo = table[table.recipe.isin(list(RECIPES))]
    assert (zoo["lr"] == zoo["mmseg lr"]).all()


def test_unknown_recipe_lists_the_recipes():
    with pytest.raises(ValueError, match="(?s)available:.*bisenetv2-cpu"):
        get_recipe("bisenetv3-fast")


# --- the loop ----------------------------------------------------------------------------------


def _params(path):
    return read_checkpoint(path)["model"]


def test_interrupted_and_resumed_equals_uninterrupted(minicity, tmp_path):
    full = train(get_recipe("bisenetv2-smoke").with_(iters=6), data_root=minicity, work_dir=tmp_path / "full", progress=False)
    train(get_recipe("bisenetv2-smoke").with_(iters=6), data_root=minicity, work_dir=tmp_path / "cut", stop_after=3, progress=False)
    assert [i for i, _ in iteration_checkpoints(tmp_path / "cut")][-1] == 3
    resumed = train(get_recipe("bisenetv2-smoke").with_(iters=6), data_root=minicity, work_dir=tmp_path / "cut", resume=True, progress=False)
    a, b = _params(full.last_checkpoint), _params(resumed.last_checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed run differs from the uninterrupted one"
    log = read_log(resumed.log)
    assert sorted(log[log.kind == "train"].iter.tolist()) == [1, 2, 3, 4, 5, 6]
    assert {"lr", "loss", "loss_main", "loss_aux0", "time", "data_time", "memory_mb"} <= set(log.columns)
    assert log[log.kind == "val"].mIoU.notna().all()
    assert (tmp_path / "cut" / "best.pth").exists()


def test_a_second_run_into_the_same_folder_must_say_resume(minicity, tmp_path):
    train(get_recipe("bisenetv2-smoke").with_(iters=1), data_root=minicity, work_dir=tmp_path, progress=False)
    with pytest.raises(FileExistsError, match="--resume"):
        train(get_recipe("bisenetv2-smoke").with_(iters=1), data_root=minicity, work_dir=tmp_path, progress=False)


def test_corrupt_checkpoint_is_reported_not_loaded(minicity, tmp_path):
    train(get_recipe("bisenetv1-r18-smoke").with_(iters=4), data_root=minicity, work_dir=tmp_path, stop_after=2, progress=False)
    (tmp_path / "iter_3.pth").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="iter_3.pth"):
        read_checkpoint(tmp_path / "iter_3.pth")
    with pytest.warns(UserWarning, match="skipping corrupt checkpoint.*iter_3.pth"):
        result = train(get_recipe("bisenetv1-r18-smoke").with_(iters=4), data_root=minicity, work_dir=tmp_path, resume=True, progress=False)
    assert result.iteration == 4


def test_killed_while_writing_a_checkpoint_leaves_the_previous_one(tmp_path, monkeypatch):
    save_checkpoint(Checkpoint({"w": torch.ones(2)}, iteration=1), tmp_path / "iter_1.pth")

    def dying_save(obj, f, *a, **k):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(Checkpoint({"w": torch.zeros(2)}, iteration=2), tmp_path / "iter_2.pth")
    monkeypatch.undo()
    assert not (tmp_path / "iter_2.pth").exists()
    assert list(tmp_path.glob("*.tmp")) == []
    assert torch.equal(read_checkpoint(tmp_path / "iter_1.pth")["model"]["w"], torch.ones(2))


def test_non_finite_loss_stops_with_the_facts(minicity, tmp_path, monkeypatch):
    class NaNLoss(SegmentationLoss):
        def forward(self, logits, aux, target):
            terms = super().forward(logits, aux, target)
            return {k: v * float("nan") for k, v in terms.items()}

    monkeypatch.setattr(trainer_module, "SegmentationLoss", NaNLoss)
    with pytest.raises(NonFiniteLossError, match="iteration 0: loss=nan, loss_main=nan.*Last good checkpoint: none yet"):
        train(get_recipe("bisenetv2-smoke"), data_root=minicity, work_dir=tmp_path, progress=False)


def test_bf16_autocast_runs_on_cpu(minicity, tmp_path):
    result = train(get_recipe("bisenetv2-smoke").with_(iters=2, amp="bf16"), data_root=minicity, work_dir=tmp_path, progress=False)
    log = read_log(result.log)
    assert log[log.kind == "train"].loss.notna().all()


def test_fp16_on_cpu_is_refused_with_advice(minicity, tmp_path):
    with pytest.raises(ValueError, match="fp16 needs a CUDA device.*bf16"):
        train(get_recipe("bisenetv2-smoke").with_(amp="fp16"), data_root=minicity, work_dir=tmp_path, progress=False)


def test_micro_batch_of_one_is_refused(minicity, tmp_path):
    with pytest.raises(ValueError, match="batch_per_gpu must be at least 2.*BatchNorm"):
        train(get_recipe("bisenetv2-smoke").with_(batch_per_gpu=1), data_root=minicity, work_dir=tmp_path, progress=False)


def test_missing_dataset_says_how_to_make_it(tmp_path):
    with pytest.raises(Exception, match="bisenet minicity --out"):
        train(get_recipe("bisenetv2-smoke"), data_root=tmp_path / "nothing", work_dir=tmp_path / "wd", progress=False)


@pytest.mark.slow
def test_torchrun_two_processes_equal_one_process_with_the_same_global_batch(minicity, tmp_path):
    common = ["--recipe", "bisenetv2-smoke", "--data-root", str(minicity), "--iters", "3",
              "--gpus", "2", "--batch-per-gpu", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "bisenet", "train", *common, "--work-dir", str(tmp_path / "ddp")]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    # Same thread count as the workers: BN over two values per channel (after global pooling)
    # turns rounding differences between thread counts into sign flips.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = train(get_recipe("bisenetv2-smoke").with_(iters=3, gpus=2, batch_per_gpu=2), data_root=minicity, work_dir=tmp_path / "one", progress=False)
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
