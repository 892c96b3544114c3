"""What the CPU can execute of the gpu recipes' CUDA paths (bisenet.engine.trainer): fp16 autocast
with a gradient scaler (every ``*-gpu`` recipe trains so), a ``torch.compile``d training step and
channels_last training, each on the gpu-dryrun recipe (the gpu recipe at toy sizes); and the
per-step divergence check."""

from __future__ import annotations

import pytest
import torch

from bisenet.checkpoint import load_checkpoint, model_from_checkpoint, read_checkpoint
from bisenet.engine.run_log import read_log
from bisenet.engine.trainer import train
from bisenet.profiles import get_profile
from bisenet.recipes import get_recipe

DRYRUN = get_profile("gpu-dryrun")


def _weights(path):
    return read_checkpoint(path)["model"]


def test_the_dryrun_recipe_is_the_gpu_recipe_at_toy_sizes():
    sizes = {
        "name",
        "notes",
        "crop_size",
        "scale",
        "batch_per_gpu",
        "iters",
        "warmup_iters",
        "val_interval",
        "checkpoint_interval",
        "log_interval",
        "ohem_min_kept",
        "workers",
    }
    for model, recipe in DRYRUN.recipes.items():
        gpu = get_profile("gpu").recipe(model).to_dict()
        differ = {k for k, v in recipe.to_dict().items() if v != gpu[k]}
        assert differ <= sizes, differ
        assert recipe.amp == "fp16" and get_recipe(recipe.name) == recipe
    assert (DRYRUN.kind, DRYRUN.sizes, DRYRUN.device, DRYRUN.cityscapes) == ("gpu", "smoke", "cpu", False)
    assert DRYRUN.pick(smoke=1, cpu=2, gpu=3) == 1 and get_profile("gpu").pick(smoke=1, cpu=2, gpu=3) == 3


def test_fp16_with_a_gradient_scaler_trains_and_resumes_bit_identically_on_cpu(minicity, tmp_path):
    recipe = DRYRUN.recipe("bisenetv2").with_(iters=4, workers=0, dataset="minicity")
    full = train(recipe, data_root=minicity, work_dir=tmp_path / "full", progress=False)
    train(recipe, data_root=minicity, work_dir=tmp_path / "cut", stop_after=2, progress=False)
    resumed = train(recipe, data_root=minicity, work_dir=tmp_path / "cut", resume=True, progress=False)
    a, b = _weights(full.last_checkpoint), _weights(resumed.last_checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a), "the fp16 run resumed differs from the uninterrupted one"
    log = read_log(full.log)
    losses = log[log.kind == "train"].loss
    assert len(losses) == 4 and losses.notna().all() and (losses < 1e3).all()
    scaler = load_checkpoint(full.last_checkpoint).scaler
    assert scaler and scaler["scale"] > 0  # the scaler's state travels with the checkpoint
    assert all(v.dtype == torch.float32 for v in a.values() if v.is_floating_point())  # fp32 master weights


@pytest.mark.parametrize("flag", ["channels_last", "compile"])
def test_channels_last_and_compiled_training_match_eager(minicity, tmp_path, flag):
    # the gpu recipe as the dry run trains it (fp16 autocast and the gradient scaler included)
    recipe = DRYRUN.recipe("bisenetv2").with_(iters=2, workers=0, dataset="minicity")
    eager = train(recipe, data_root=minicity, work_dir=tmp_path / "eager", progress=False)
    other = train(recipe, data_root=minicity, work_dir=tmp_path / flag, progress=False, **{flag: True})
    assert _weights(eager.last_checkpoint).keys() == _weights(other.last_checkpoint).keys()  # the plain model's keys
    # the same losses iteration by iteration (each after the previous steps' updates), and the
    # same predictions from the trained weights (single weights are no measure: a bias before a
    # BatchNorm has a gradient of rounding noise). Two iterations only: at this toy batch (2
    # images of 64x64, BN after a global pool) a rounding difference grows ~100x per step.
    losses = [read_log(r.log).query("kind == 'train'").loss.to_numpy() for r in (eager, other)]
    # fp16 keeps ~3 decimal digits and the kernels (inductor's, channels_last's) sum in another
    # order: the first step's loss within 0.2 %, the second's (after an update) within 1 %
    gap = abs(losses[0] - losses[1]) / abs(losses[0])
    assert len(gap) == 2 and gap[0] < 2e-3 and gap[1] < 1e-2, losses
    x = torch.randn(1, 3, 64, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = (model_from_checkpoint(r.last_checkpoint).eval()(x) for r in (eager, other))
    # eval mode uses the running statistics, which two steps at batch 2 leave noisy: within 5 %
    # (a path that trained something else, or nothing, differs by ~100 %)
    assert float((a - b).abs().max()) < 5e-2 * float(a.abs().max()), f"{flag}: the trained models disagree"


def test_the_per_step_divergence_check_names_what_diverged():
    from bisenet.engine.trainer import weights_diverged
    from bisenet.models import build_model

    model = build_model("bisenetv2", 19, aux_heads=True)
    assert weights_diverged(model) == []
    weight = model.decode_head.conv_seg.weight
    buffer = next(b for name, b in model.named_buffers() if name.endswith("running_var"))
    with torch.no_grad():
        for value in (float("nan"), float("inf"), 2e6):
            weight.view(-1)[0] = value
            assert weights_diverged(model) == ["decode_head.conv_seg.weight"], value
            weight.view(-1)[0] = 0.0
        buffer.view(-1)[0] = float("nan")
        found = weights_diverged(model)
        assert len(found) == 1 and found[0].endswith("running_var")
        buffer.view(-1)[0] = 1e7  # a large running variance is not divergence: only weights are bounded
        assert weights_diverged(model) == []
