"""The training recipes and their agreement with mmsegmentation's model zoo (bisenet.recipes)."""

from __future__ import annotations

import pytest

from bisenet.recipes import RECIPES, get_recipe, recipe_table


def test_recipes_match_the_model_zoo():
    v2 = RECIPES["bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024"]
    assert (v2.gpus, v2.batch_per_gpu, v2.crop_size, v2.lr, v2.weight_decay, v2.iters) == (
        4,
        4,
        (1024, 1024),
        0.05,
        5e-4,
        160_000,
    )
    assert (v2.warmup_iters, v2.warmup_ratio, v2.poly_power, v2.eta_min) == (1000, 0.1, 0.9, 1e-4)
    assert RECIPES["bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024"].amp == "fp16"
    assert RECIPES["bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024"].loss == "ohem"
    assert RECIPES["bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024"].global_batch == 32
    assert RECIPES["bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024"].lr == 0.025
    assert RECIPES["bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024"].lr == 0.05
    coco = RECIPES["bisenetv1_r101-d32-in1k-pre_4xb4-160k_coco-stuff164k-512x512"]
    assert (coco.num_classes, coco.lr, coco.crop_size, coco.pretrained_backbone) == (171, 0.005, (512, 512), True)
    table = recipe_table()
    assert {"config", "config lr", "config batch", "config crop"} <= set(table.columns)
    zoo = table[table.recipe.isin(list(RECIPES))]
    assert (zoo["lr"] == zoo["config lr"]).all()
    assert set(zoo.config) == {"mmseg 1.2.2", "sssegmentation 1.7.0"}


def test_unknown_recipe_lists_the_recipes():
    with pytest.raises(ValueError, match="(?s)available:.*bisenetv2-cpu"):
        get_recipe("bisenetv3-fast")


def test_the_ohem_recipe_selects_hard_pixels_on_every_head():
    """mmseg 0.x's OHEM config (behind the published 73.57) and CoinCheung put an OHEM sampler on the
    decode head and on each of the four auxiliary heads: each term averages only its head's hard
    pixels (probability of the true class below 0.7, at least min_kept of them)."""
    import torch

    from bisenet.engine.trainer import build_criterion
    from bisenet.losses import cross_entropy, ohem_cross_entropy, ohem_mask

    recipe = RECIPES["bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024"]
    assert (recipe.loss, recipe.ohem_on_aux, recipe.ohem_thresh, recipe.ohem_min_kept) == ("ohem", True, 0.7, 40_000)
    criterion = build_criterion(recipe)
    torch.manual_seed(0)
    target = torch.randint(0, 19, (4, 128, 128))  # 65,536 labelled pixels, more than min_kept
    heads = []
    for k in range(5):  # main + 4 auxiliary heads, each confident on a different share of pixels
        logits = torch.randn(4, 19, 128, 128)
        easy = torch.rand(4, 128, 128) < 0.1 + 0.05 * k
        logits.scatter_add_(1, target.unsqueeze(1), 10.0 * easy.unsqueeze(1).float())
        heads.append(logits)
    terms = criterion(heads[0], heads[1:], target)
    for k, logits in enumerate(heads):
        name = "loss_main" if k == 0 else f"loss_aux{k - 1}"
        kept = ohem_mask(logits, target, 0.7, 40_000)
        assert 40_000 <= int(kept.sum()) < target.numel()  # a selection, not every pixel
        assert terms[name].item() == pytest.approx(ohem_cross_entropy(logits, target, 0.7, 40_000).item(), rel=1e-6)
        assert terms[name].item() > 1.05 * cross_entropy(logits, target).item()  # the easy pixels left out


def test_recipes_record_the_configs_syncbn_and_sync_bn_converts_only_those():
    """mmseg's V1 configs synchronise BatchNorm everywhere (trunk, context and spatial paths, FFM,
    heads); its V2 configs only in the heads (the V2 backbone gets no norm_cfg)."""
    from torch import nn

    from bisenet.engine.batchnorm import convert_sync_bn
    from bisenet.models import build_model

    for recipe in RECIPES.values():
        expected = (
            ("decode_head", "auxiliary_head")
            if recipe.model == "bisenetv2"
            else ("backbone.context_path.backbone", "decode_head", "auxiliary_head")
        )
        if recipe.ssseg_config:  # sssegmentation: SyncBN in every layer
            expected = ("backbone", "decode_head", "auxiliary_head")
        assert recipe.sync_bn_modules == expected, recipe.name
    model = convert_sync_bn(
        build_model("bisenetv2", 19), RECIPES["bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024"].sync_bn_modules
    )
    kinds = {name.split(".")[0]: set() for name, _ in model.named_children()}
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            kinds[name.split(".")[0]].add(type(module).__name__)
    assert kinds == {"backbone": {"BatchNorm2d"}, "decode_head": {"SyncBatchNorm"}, "auxiliary_head": {"SyncBatchNorm"}}
    v1 = build_model("bisenetv1-r18", 19)
    convert_sync_bn(v1, RECIPES["bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024"].sync_bn_modules)
    synced = {name for name, m in v1.named_modules() if isinstance(m, nn.SyncBatchNorm)}
    plain = {name for name, m in v1.named_modules() if type(m) is nn.BatchNorm2d}
    assert synced and all(
        n.startswith(("backbone.context_path.backbone.", "decode_head.", "auxiliary_head.")) for n in synced
    )
    assert plain and all(
        n.startswith(
            (
                "backbone.context_path.arm",
                "backbone.context_path.conv_head",
                "backbone.context_path.gap_conv",
                "backbone.spatial_path.",
                "backbone.ffm.",
            )
        )
        for n in plain
    )
    everything = convert_sync_bn(build_model("bisenetv1-r18", 19), ())  # a recipe that names none: all
    assert not any(type(m) is nn.BatchNorm2d for m in everything.modules())


def test_every_zoo_recipe_equals_its_config_field_by_field():
    """Each model-zoo recipe against the values read from its config file (bisenet.recipes.configs,
    written out on their own): every field the config sets, and no recipe without its config."""
    from dataclasses import fields

    from bisenet.recipes import Recipe
    from bisenet.recipes.configs import CONFIG_VALUES

    assert set(CONFIG_VALUES) == set(RECIPES)
    known = {f.name for f in fields(Recipe)}
    for name, config in CONFIG_VALUES.items():
        assert set(config) <= known, name
        recipe = RECIPES[name]
        differ = {
            field: (getattr(recipe, field), value) for field, value in config.items() if getattr(recipe, field) != value
        }
        assert not differ, f"{name}: recipe vs config {differ}"
    # the fields every config fixes (a table missing one would check nothing for it)
    for config in CONFIG_VALUES.values():
        assert {
            "gpus",
            "batch_per_gpu",
            "crop_size",
            "scale",
            "ratio_range",
            "cat_max_ratio",
            "lr",
            "momentum",
            "weight_decay",
            "warmup_iters",
            "warmup_ratio",
            "poly_power",
            "eta_min",
            "iters",
            "loss",
            "aux_weights",
            "amp",
            "sync_bn_modules",
            "pretrained_backbone",
            "num_classes",
            "model",
        } <= set(config)


def test_the_recipe_table_shows_ohem_heads_and_syncbn_beside_the_config():
    table = recipe_table(include_profiles=False).set_index("recipe")
    ohem = table.loc["bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024"]
    assert ohem["loss"] == "OHEM all" and "all five heads" in ohem["config loss"]
    v1 = table.loc["bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024"]
    assert v1["SyncBN (--sync-bn)"] == v1["config SyncBN"] == "trunk, decode_head, auxiliary_head"


def test_a_recipe_checks_its_own_values():
    from bisenet.errors import UsageError

    recipe = get_recipe("bisenetv2-smoke")
    assert recipe.check() is recipe
    for change, words in [
        (dict(batch_per_gpu=1), "batch_per_gpu must be at least 2"),
        (dict(iters=0), "iters must be a positive integer"),
        (dict(crop_size=(16, 64)), "crop_size must be two sides of at least 32"),
        (dict(lr=float("nan")), "learning rate must be a positive number"),
        (dict(amp="int4"), "amp must be fp16, bf16 or None"),
        (dict(class_weights=(1.0, 2.0)), "2 class weights for 19 classes"),
    ]:
        with pytest.raises(UsageError, match=words):
            recipe.with_(**change).check()


def test_an_override_that_is_no_field_is_refused_by_name():
    from bisenet.errors import UsageError

    recipe = get_recipe("bisenetv2-smoke")
    with pytest.raises(UsageError, match="no field iter .iter: did you mean iters"):
        recipe.with_(iter=3)
    assert recipe.with_(iters=3).iters == 3
