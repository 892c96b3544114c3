"""Training recipes: :class:`Recipe` (:mod:`~bisenet.recipes.recipe`), the model zoo's rows
(:mod:`~bisenet.recipes.zoo`), the book's profiles' (:mod:`~bisenet.recipes.profiles`), the configs'
own values they are checked against (:mod:`~bisenet.recipes.configs`), and every recipe by name
(:mod:`~bisenet.recipes.catalogue`: :func:`get_recipe`, :func:`recipe_table`).
"""

from bisenet.recipes.catalogue import all_recipes, get_recipe, recipe_table, reference_of
from bisenet.recipes.profiles import BUDGET_ITERS, BUDGET_RECIPES, PROFILE_RECIPES
from bisenet.recipes.recipe import V1_AUX, V2_AUX, Recipe
from bisenet.recipes.zoo import RECIPES, V1_SYNC_BN, V2_SYNC_BN

__all__ = [
    "BUDGET_ITERS",
    "BUDGET_RECIPES",
    "PROFILE_RECIPES",
    "RECIPES",
    "V1_AUX",
    "V1_SYNC_BN",
    "V2_AUX",
    "V2_SYNC_BN",
    "Recipe",
    "all_recipes",
    "get_recipe",
    "recipe_table",
    "reference_of",
]
