"""`reasonlift check R` validates recipes; `reasonlift get R key.path` prints one value as the loader resolved it."""

from __future__ import annotations

from typing import Annotated

import typer

from recipes.cli import Overrides
from recipes.errors import UserError, exit_on_user_error
from recipes.loader import load_recipe
from recipes.log import info


@exit_on_user_error
def check(
    recipes: Annotated[list[str], typer.Argument(metavar="RECIPE...", help="recipe files")],
    overrides: Overrides = None,
) -> None:
    """Validate recipes without running anything (with --set: as they would run with those keys)."""
    for path in recipes:
        recipe = load_recipe(path, overrides=overrides or [])
        info(f"{path}: ok ({recipe.name}, {recipe.train.method if recipe.train else 'eval only'})")


@exit_on_user_error
def get(
    recipe_path: Annotated[str, typer.Argument(metavar="RECIPE")],
    key: Annotated[str, typer.Argument(help="a dotted key, e.g. model.name_or_path")],
    overrides: Overrides = None,
) -> None:
    """Print one value of a loaded recipe (paths as the loader resolved them)."""
    value = load_recipe(recipe_path, overrides=overrides or []).model_dump()
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise UserError(f"{recipe_path}: no key {key!r}")
        value = value[part]
    info(str(value))
