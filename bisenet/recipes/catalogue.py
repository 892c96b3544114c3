"""Every recipe by name (the model zoo's and the profiles'), and all of them as one table."""

from __future__ import annotations

from bisenet.errors import UsageError
from bisenet.recipes.configs import CONFIG_LOSS_TEXT, CONFIG_VALUES
from bisenet.recipes.profiles import PROFILE_RECIPES
from bisenet.recipes.recipe import Recipe
from bisenet.recipes.zoo import RECIPES


def get_recipe(name: str) -> Recipe:
    """A recipe by name: a model-zoo row (:data:`RECIPES`) or a profile's recipe
    (:data:`bisenet.recipes.profiles.PROFILE_RECIPES`); an unknown name raises an error listing them all."""
    recipes = all_recipes()
    if name not in recipes:
        raise UsageError(f"unknown recipe {name!r}; available:\n  " + "\n  ".join(recipes))
    return recipes[name]


def all_recipes() -> dict[str, Recipe]:
    """The model zoo's recipes, then every profile's (``bisenet recipes`` lists them all)."""
    return {**RECIPES, **PROFILE_RECIPES}


def reference_of(recipe: Recipe) -> str:
    """Whose config a recipe reproduces: "mmseg 1.2.2", "sssegmentation 1.7.0" or "-" (a
    profile's own recipe)."""
    if recipe.ssseg_config:
        return "sssegmentation 1.7.0"
    return "mmseg 1.2.2" if recipe.mmseg_config else "-"


def _heads(loss: str, aux: tuple, ohem_on_aux: bool) -> str:
    """Which heads get which loss, in words: "CE", "OHEM main, CE aux", "OHEM all"."""
    if loss != "ohem" or not aux:
        return loss.upper()
    return "OHEM all" if ohem_on_aux else "OHEM main, CE aux"


def _sync(modules: tuple[str, ...]) -> str:
    return ", ".join(m.replace("backbone.context_path.backbone", "trunk") for m in modules) or "-"


def recipe_table(include_profiles: bool = True):
    """Every recipe as a row of a pandas DataFrame, with the values of the config it reproduces
    (``config``: mmseg's or sssegmentation's; :data:`bisenet.recipes.configs.CONFIG_VALUES`) beside
    the package's; "-" for a profile's recipe."""
    import pandas as pd

    rows = []
    for r in (all_recipes() if include_profiles else RECIPES).values():
        ref = CONFIG_VALUES.get(r.name)
        config = {}
        if ref:
            config = {
                "batch": f"{ref['gpus']}x{ref['batch_per_gpu']}",
                "crop": f"{ref['crop_size'][0]}x{ref['crop_size'][1]}",
                "lr": ref["lr"],
                "iters": "860 epochs" if r.ssseg_config else ref["iters"],
                "loss": CONFIG_LOSS_TEXT.get(r.name, _heads(ref["loss"], ref["aux_weights"], ref.get("ohem_on_aux"))),
                "amp": f"{ref['amp']}, scale {ref['loss_scale']:g}" if ref["amp"] else "-",
                "SyncBN": _sync(ref["sync_bn_modules"]),
            }
        rows.append(
            {
                "recipe": r.name,
                "config": reference_of(r),
                "model": r.model,
                "data": r.dataset,
                "batch": f"{r.gpus}x{r.batch_per_gpu}",
                "config batch": config.get("batch", "-"),
                "crop": f"{r.crop_size[0]}x{r.crop_size[1]}",
                "config crop": config.get("crop", "-"),
                "lr": r.lr,
                "config lr": config.get("lr", "-"),
                "iters": r.iters,
                "config iters": config.get("iters", "-"),
                "loss": _heads(r.loss, r.aux_weights, r.ohem_on_aux),
                "config loss": config.get("loss", "-"),
                "amp": f"{r.amp}, scale {r.loss_scale:g}" if r.amp == "fp16" else (r.amp or "-"),
                "config amp": config.get("amp", "-"),
                "SyncBN (--sync-bn)": _sync(r.sync_bn_modules),
                "config SyncBN": config.get("SyncBN", "-"),
                "pretrained": ("ImageNet v1c" if r.model_options.get("deep_stem") else "ImageNet")
                if r.pretrained_backbone
                else "-",
            }
        )
    return pd.DataFrame(rows)
