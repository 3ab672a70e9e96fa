"""Check `train.args` against the TRL config dataclass of the chosen method, before anything loads."""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from functools import cache
from typing import Any

# Keys the recipe sets itself; allowing them in `train.args` too would give two sources of truth.
OWNED_BY_RECIPE = {
    "output_dir": "train.output_dir",
    "report_to": "wandb.enabled",
    "run_name": "name",
    "hub_model_id": "(not supported)",
    "push_to_hub": "(not supported)",
    "reward_weights": "train.rewards.<name>.weight",
}


class TrlArgError(ValueError):
    """Raised with a message naming the key; pydantic prefixes it with the location `train.args`."""


@cache
def config_class(method: str) -> type:
    if method == "sft":
        from trl import SFTConfig

        return SFTConfig
    if method == "grpo":
        from trl import GRPOConfig

        return GRPOConfig
    raise TrlArgError(f"unknown training method {method!r}")


@cache
def _fields(method: str) -> dict[str, Any]:
    cls = config_class(method)
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any or (value is None and _allows_none(hint)):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin in (list, tuple, set):
        return isinstance(value, list | tuple)
    if origin is dict:
        return isinstance(value, dict)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return value in {m.value for m in hint} or value in hint.__members__
    if hint is dict:
        return isinstance(value, dict | str)
    if hint is list:
        return isinstance(value, list)
    return True  # a type we do not model: TRL will check it when the config is built


def _allows_none(hint: Any) -> bool:
    return hint is type(None) or type(None) in typing.get_args(hint)


def _describe(hint: Any) -> str:
    text = str(hint).replace("typing.", "")
    return text.replace("<class '", "").replace("'>", "")


def check_trl_args(method: str, args: dict[str, Any]) -> None:
    fields = _fields(method)
    cls_name = config_class(method).__name__
    for key, value in args.items():
        if key in OWNED_BY_RECIPE:
            raise TrlArgError(f"{key!r} is set by the recipe, not in train.args (use {OWNED_BY_RECIPE[key]})")
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TrlArgError(f"unknown key {key!r}: {cls_name} has no such field{hint}")
        if not _matches(value, fields[key]):
            raise TrlArgError(
                f"{key!r} expects {_describe(fields[key])}, got {type(value).__name__} {value!r}"
            )
