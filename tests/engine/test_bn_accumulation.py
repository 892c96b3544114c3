"""BatchNorm running statistics under gradient accumulation (Recipe.bn_momentum_per_iteration,
bisenet.engine.batchnorm.per_iteration_bn_momentum)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bisenet.checkpoint import read_checkpoint
from bisenet.engine import trainer as trainer_module
from bisenet.engine.batchnorm import per_iteration_bn_momentum
from bisenet.engine.runs import recipe_changes
from bisenet.engine.trainer import train
from bisenet.recipes import Recipe, get_recipe


@pytest.mark.parametrize("accum", [2, 4])
def test_accum_updates_of_one_batch_equal_one_update_with_the_recipe_momentum(accum):
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5, 5) * 3 + 2
    mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=True)
    for option in (True, False):
        bn = nn.Sequential(nn.BatchNorm2d(3))  # momentum 0.1, running stats (0, 1)
        if option:
            per_iteration_bn_momentum(bn, accum)
        for _ in range(accum):  # one iteration: accum micro-batches (here all the same batch)
            bn(x)
        # one update with momentum 0.1 per iteration (the model zoo's GPUs) -- or accum of them
        kept = 0.9 if option else 0.9**accum
        torch.testing.assert_close(bn[0].running_mean, (1 - kept) * mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(bn[0].running_var, kept + (1 - kept) * var, rtol=1e-5, atol=1e-6)


def test_one_micro_batch_per_iteration_or_no_momentum_is_left_alone():
    model = nn.Sequential(nn.BatchNorm2d(3), nn.BatchNorm1d(2, momentum=None), nn.SyncBatchNorm(4, momentum=0.3))
    per_iteration_bn_momentum(model, 1)
    assert [m.momentum for m in model] == [0.1, None, 0.3]
    per_iteration_bn_momentum(model, 4)
    assert model[0].momentum == pytest.approx(1 - 0.9**0.25) and model[1].momentum is None
    assert model[2].momentum == pytest.approx(1 - 0.7**0.25)  # every BatchNorm kind, SyncBN included


def _train_and_watch(recipe, data_root, work_dir, monkeypatch):
    """Train ``recipe``; return its final checkpoint's state dict and, per BatchNorm, the
    (mean, unbiased variance) of every training-mode input it normalised."""
    seen: dict[str, list] = {}
    original = trainer_module.build_run

    def build_run(*args, **kwargs):
        run = original(*args, **kwargs)
        for name, m in run.model.named_modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):

                def hook(module, inputs, output, name=name):
                    if module.training:
                        var, mean = torch.var_mean(inputs[0].detach(), dim=(0, 2, 3), unbiased=True)
                        seen.setdefault(name, []).append((mean, var))

                m.register_forward_hook(hook)
        return run

    monkeypatch.setattr(trainer_module, "build_run", build_run)
    result = train(recipe, data_root=data_root, work_dir=work_dir, progress=False)
    monkeypatch.setattr(trainer_module, "build_run", original)
    return read_checkpoint(result.last_checkpoint)["model"], seen


def test_per_iteration_momentum_in_training_follows_the_closed_form(minicity, tmp_path, monkeypatch):
    # one iteration of 2 micro-batches (gpus=2 on one process): with the option every BatchNorm's
    # running statistics are (1 - m') m' s1 + m' s2 (the mean) from their initial (0, 1), with
    # (1 - m')^2 = 0.9: one iteration decays them as one update with momentum 0.1 would; without it
    # m' = 0.1 (today's behaviour, two updates). The weights are the same either way.
    base = get_recipe("bisenetv2-smoke").with_(gpus=2, batch_per_gpu=2, iters=1)
    states, watched = {}, {}
    for option in (False, True):
        states[option], watched[option] = _train_and_watch(
            base.with_(bn_momentum_per_iteration=option), minicity, tmp_path / str(option), monkeypatch
        )
    on, off = states[True], states[False]
    params = [k for k in on if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert all(torch.equal(on[k], off[k]) for k in params), "the option changed the weights"
    for option, m in ((False, 0.1), (True, 1 - 0.9**0.5)):
        state = states[option]
        assert len(watched[option]) > 50
        for name, [(mu1, v1), (mu2, v2)] in watched[option].items():
            torch.testing.assert_close(
                state[f"{name}.running_mean"],
                (1 - m) * m * mu1 + m * mu2,
                rtol=1e-4,
                atol=1e-5,
                msg=f"{name} (option {option})",
            )
            torch.testing.assert_close(
                state[f"{name}.running_var"],
                (1 - m) ** 2 + (1 - m) * m * v1 + m * v2,
                rtol=1e-4,
                atol=1e-5,
                msg=f"{name} (option {option})",
            )
    name = next(iter(watched[True]))
    assert not torch.allclose(on[f"{name}.running_var"], off[f"{name}.running_var"])


def test_the_option_is_part_of_a_runs_identity_and_old_checkpoints_stay_resumable():
    recipe = get_recipe("bisenetv2-smoke")
    assert recipe.bn_momentum_per_iteration is False  # off by default: today's behaviour
    old = {k: v for k, v in recipe.to_dict().items() if k != "bn_momentum_per_iteration"}  # before the field
    assert recipe_changes(old, recipe) == []
    assert Recipe.from_dict(old) == recipe
    assert recipe_changes(old, recipe.with_(bn_momentum_per_iteration=True)) == [
        "bn_momentum_per_iteration False -> True"
    ]
