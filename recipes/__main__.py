"""`python -m recipes check R` validates a recipe; `python -m recipes get R key.path` prints one resolved value."""

from __future__ import annotations

import argparse

from recipes.errors import UserError, exit_on_user_error
from recipes.loader import load_recipe


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m recipes", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate recipes")
    check.add_argument("recipes", nargs="+")
    get = sub.add_parser("get", help="print a value, e.g. model.name_or_path")
    get.add_argument("recipe")
    get.add_argument("key")
    args = parser.parse_args(argv)
    if args.command == "check":
        for path in args.recipes:
            recipe = load_recipe(path)
            print(f"{path}: ok ({recipe.name}, {recipe.train.method if recipe.train else 'eval only'})")
        return
    value = load_recipe(args.recipe).model_dump()
    for part in args.key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise UserError(f"{args.recipe}: no key {args.key!r}")
        value = value[part]
    print(value)


if __name__ == "__main__":
    main()
