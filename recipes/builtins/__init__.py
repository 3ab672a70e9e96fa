"""`builtin:` names in recipes: things reasonlift builds locally instead of downloading."""

from __future__ import annotations

from pathlib import Path

from recipes.errors import UserError
from recipes.paths import builtin_name, is_builtin, looks_local, resolve_path


def _tiny_model() -> Path:
    from recipes.builtins.tiny_model import tiny_model_path

    return tiny_model_path()


def _toy_addition() -> Path:
    from recipes.builtins.toy_data import toy_dataset_path

    return toy_dataset_path() / "train"


BUILTINS = {"tiny-qwen2": _tiny_model, "toy-addition": _toy_addition}


def resolve(value: str, base: Path | None = None) -> str:
    """Turn a recipe value into something `from_pretrained`/`load_dataset` accept: builtin -> built folder."""
    if is_builtin(value):
        name = builtin_name(value)
        if name not in BUILTINS:
            raise UserError(
                f"unknown builtin {value!r}; expected one of: {', '.join('builtin:' + b for b in BUILTINS)}"
            )
        return str(BUILTINS[name]())
    if base is not None and looks_local(value):
        return str(resolve_path(value, base))
    return value


def local_path(value: str, base: Path | None = None) -> Path | None:
    """The one hub-or-local decision: the local folder or file a recipe value names (a builtin, a path, a
    folder that exists), or None when it is a hub id to download."""
    if is_builtin(value) or looks_local(value) or resolve_path(value, base or Path.cwd()).exists():
        return Path(resolve(value, base or Path.cwd()))
    return None
