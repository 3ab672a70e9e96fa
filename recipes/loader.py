"""Load a recipe YAML file into a validated `Recipe`, turning every mistake into a one-line error."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from recipes.errors import RecipeError
from recipes.paths import is_builtin, looks_local, resolve_path
from recipes.schema import Recipe, path_fields


def load_recipe(path: str | Path, check_paths: bool = True, overrides: Sequence[str] = ()) -> Recipe:
    """Read, validate and return the recipe at `path`; raise RecipeError naming file, key and expectation.
    `overrides` (`--set KEY=VALUE`, a dotted recipe key and a YAML value) change the file's values before
    validation, so an override is checked exactly like the file."""
    path = Path(path)
    shown = str(path) + (f" (with --set {' '.join(overrides)})" if overrides else "")
    if not path.is_file():
        raise RecipeError(shown, ["file not found (recipes live in recipes/, e.g. recipes/smoke/sft.yaml)"])
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise RecipeError(shown, [f"{where}not valid YAML ({getattr(err, 'problem', err)})"]) from None
    if not isinstance(raw, dict):
        raise RecipeError(shown, ["expected a mapping of keys at the top level"])
    apply_overrides(raw, overrides, shown)
    _resolve_parent_recipe(raw, path, shown)
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as err:
        raise RecipeError(shown, [_describe_error(e, Recipe) for e in err.errors()]) from None
    recipe.source = str(path.resolve())
    recipe.overrides = list(overrides)
    if check_paths:  # before the paths are made absolute: the errors quote them as the file has them
        problems = _missing_paths(recipe, path.parent.resolve())
        if problems:
            raise RecipeError(shown, problems)
    _absolute_paths(recipe, path.parent.resolve())
    return recipe


def apply_overrides(raw: dict, overrides: Sequence[str], shown: str = "recipe") -> dict:
    """`train.args.learning_rate=1e-5` sets raw["train"]["args"]["learning_rate"] = 1e-5 (the value read as
    YAML: numbers, booleans, lists and null as in the file); missing sections are created."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
            raise RecipeError(
                shown,
                [
                    f"--set {item!r}: expected KEY=VALUE, a dotted recipe key (e.g. train.args.learning_rate=1e-5)"
                ],
            )
        value = _yaml_value(text)
        *parents, leaf = key.strip().split(".")
        node = raw
        for depth, part in enumerate(parents):
            child = node.setdefault(part, {})
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parents[: depth + 1])
                raise RecipeError(shown, [f"--set {item!r}: {where} is a value, not a section of keys"])
            node = child
        node[leaf] = value
    return raw


def _yaml_value(text: str):
    """A command-line value read as YAML, except that `1e-5` is a number (YAML 1.1 wants `1.0e-5`)."""
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    return value


def _resolve_parent_recipe(raw: dict, path: Path, shown: str) -> None:
    """`model.from_recipe: other.yaml` -> the base model is that recipe's train.output_dir."""
    model = raw.get("model")
    if not isinstance(model, dict) or not model.get("from_recipe"):
        return
    if model.get("name_or_path"):
        raise RecipeError(shown, ["model: set name_or_path or from_recipe, not both"])
    parent_path = resolve_path(str(model["from_recipe"]), path.parent.resolve())
    if not parent_path.is_file():
        raise RecipeError(shown, [f"model.from_recipe: recipe {model['from_recipe']!r} does not exist"])
    parent = load_recipe(parent_path)
    if parent.train is None:
        raise RecipeError(
            shown, [f"model.from_recipe: {model['from_recipe']!r} has no train section to start from"]
        )
    model["name_or_path"] = parent.train.output_dir  # absolute: resolved from the parent's own folder
    model["from_recipe"] = str(parent_path)


def _is_path(kind: str, value: str, owner: BaseModel, base: Path) -> bool:
    """Whether a recipe value of this kind (`recipes.schema.PathField`) names a path rather than a hub id or
    a name."""
    if kind == "folder":
        return True
    if kind == "file_or_name":
        return "/" in value or value.endswith((".yaml", ".yml"))  # else a name in accelerate_configs/
    if is_builtin(value):
        return False
    if getattr(owner, "revision", None) is not None and not looks_local(value):
        return False  # a revision pins a hub id, not a folder
    return looks_local(value) or resolve_path(value, base).exists()


def _absolute_paths(recipe: Recipe, base: Path) -> None:
    """Every path the recipe names (its fields declared with `PathField`), made absolute under the one rule
    (`recipes.paths.resolve_path`: relative to the recipe's folder), once, here: the rest of the code reads
    finished paths and never resolves again. Hub ids, names and builtin: names stay as they are."""
    for _, owner, name, kind, _ in path_fields(recipe):
        value = getattr(owner, name)
        if _is_path(kind, value, owner, base):
            setattr(owner, name, str(resolve_path(value, base)))


def _describe_error(error: dict[str, Any], root: type[BaseModel]) -> str:
    loc = ".".join(str(p) for p in error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        parent_fields = _fields_at(root, error["loc"][:-1])
        close = difflib.get_close_matches(str(error["loc"][-1]), parent_fields, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        expected = f" (expected one of: {', '.join(parent_fields)})" if parent_fields and not close else ""
        return f"{loc}: unknown key{hint}{expected}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    msg = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    got = f" (got {value!r})" if kind not in {"value_error"} and not isinstance(value, dict | list) else ""
    return f"{loc}: {msg}{got}"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the nested model at `loc`, for 'did you mean' hints."""
    current: Any = model
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        if typing.get_origin(field.annotation) is dict and parts:
            parts.pop(0)  # the user's key inside a mapping of models, e.g. eval.tasks.<task>
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [n for n in current.model_fields if n != "source"]
    return []


def _model_in(annotation: Any) -> Any:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in typing.get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation


def _missing_paths(recipe: Recipe, base: Path) -> list[str]:
    """Local paths the recipe names that must exist and do not. Hub ids and builtin: names are checked when
    used; a base model another recipe trains (`from_recipe`) exists once that recipe has trained."""
    problems = []
    for key, owner, name, kind, must_exist in path_fields(recipe):
        value = getattr(owner, name)
        if not must_exist or (key == "model.name_or_path" and recipe.model.from_recipe):
            continue
        if is_builtin(value) or not looks_local(value) or resolve_path(value, base).exists():
            continue
        noun = "file" if kind == "file_or_name" else "path"
        problems.append(f"{key}: {noun} {value!r} does not exist")
    return problems
