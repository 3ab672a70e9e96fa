"""Recipes: the YAML files that describe one experiment, and the package that loads and validates them."""

from recipes.errors import RecipeError
from recipes.loader import load_recipe
from recipes.schema import Recipe

__all__ = ["Recipe", "RecipeError", "load_recipe"]
