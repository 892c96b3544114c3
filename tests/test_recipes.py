"""The training recipes and their agreement with mmsegmentation's model zoo (bisenet.recipes)."""

from __future__ import annotations

import pytest

from bisenet.recipes import RECIPES, get_recipe, recipe_table


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
    assert {"config", "config lr", "config batch", "config crop"} <= set(table.columns)
    zoo = table[table.recipe.isin(list(RECIPES))]
    assert (zoo["lr"] == zoo["config lr"]).all()
    assert set(zoo.config) == {"mmseg 1.2.2", "sssegmentation 1.7.0"}


def test_unknown_recipe_lists_the_recipes():
    with pytest.raises(ValueError, match="(?s)available:.*bisenetv2-cpu"):
        get_recipe("bisenetv3-fast")
