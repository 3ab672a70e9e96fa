"""Check `train.args` against the TRL config dataclass of the chosen method, before anything loads."""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from functools import cache
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic.errors import PydanticSchemaGenerationError

# Keys the recipe sets itself; allowing them in `train.args` too would give two sources of truth.
OWNED_BY_RECIPE = {
    "output_dir": "train.output_dir",
    "report_to": "wandb.enabled",
    "run_name": "name",
    "hub_model_id": "(not supported)",
    "push_to_hub": "(not supported)",
    "reward_weights": "train.rewards.<name>.weight",
}


# String fields GRPOConfig declares as plain `str` (no `metadata["choices"]`) and TRL 1.16 checks only deep inside
# the trainer, after the model has loaded. Their allowed values are not copied here: they are read from TRL's
# own source, the string literals its GRPO trainer and generation code compare each field with.
CHECKED_IN_TRAINER: dict[str, tuple[str, ...]] = {
    "grpo": (
        "vllm_mode",
        "loss_type",
        "importance_sampling_level",
        "scale_rewards",
        "multi_objective_aggregation",
        "vllm_importance_sampling_mode",
    ),
    "sft": (),
}


@cache
def trainer_choices(method: str) -> dict[str, tuple[str, ...]]:
    """{field: the values TRL's trainer code compares it with}, from the installed TRL's source (ast)."""
    import ast
    from pathlib import Path

    import trl

    root = Path(trl.__file__).parent
    files = [*root.glob(f"trainer/{method}_trainer.py"), *root.glob("generation/*.py")]
    fields = set(CHECKED_IN_TRAINER.get(method, ()))
    found: dict[str, set[str]] = {name: set() for name in fields}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            parts = [node.left, *node.comparators]
            for name in fields & {p.attr for p in parts if isinstance(p, ast.Attribute)}:
                for part in parts:
                    elements = part.elts if isinstance(part, ast.List | ast.Tuple | ast.Set) else [part]
                    found[name] |= {
                        e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)
                    }
    choices = {name: tuple(sorted(values)) for name, values in found.items() if values}
    if method == "grpo":
        choices.update(_vllm_literal("vllm_model_impl", "config/model.py", "ModelImpl"))
    return choices


def _vllm_literal(field: str, module: str, alias: str) -> dict[str, tuple[str, ...]]:
    """A TRL field TRL hands to vLLM unchecked, with the values of vLLM's own `alias = Literal[...]`, read from
    vLLM's source without importing it (nothing when vLLM is not installed or has moved it)."""
    import ast
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("vllm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations)), module)
    if not path.is_file():
        return {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == alias for t in node.targets):
            values = ast.literal_eval(node.value.slice) if isinstance(node.value, ast.Subscript) else None
            if isinstance(values, tuple) and all(isinstance(v, str) for v in values):
                return {field: values}
    return {}


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
def _choices(method: str) -> dict[str, tuple]:
    declared = {
        f.name: tuple(f.metadata["choices"])
        for f in dataclasses.fields(config_class(method))
        if f.init and f.metadata.get("choices")
    }
    return {**declared, **trainer_choices(method)}


@cache
def _fields(method: str) -> dict[str, Any]:
    cls = config_class(method)
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def _narrowed(hint: Any) -> Any:
    """The type a recipe value must have: an enum becomes its values and names (YAML gives strings), and
    transformers' `SchedulerType | str` means a string that names a member, not any string."""
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return typing.Literal[(*(m.value for m in hint), *hint.__members__)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if any(isinstance(a, type) and issubclass(a, enum.Enum) for a in options):
            options = tuple(a for a in options if a is not str)
        return typing.Union[tuple(_narrowed(a) for a in options)]  # noqa: UP007 - built from a tuple
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, set, frozenset, tuple, dict) and args:  # e.g. transformers' `list[DebugOption]`
        return origin[tuple(a if a is Ellipsis else _narrowed(a) for a in args)]
    return hint


@cache
def _adapter(hint: Any) -> TypeAdapter | None:
    """A strict validator for a field's type (no "3" for 3, no 1 for True); None for a type pydantic cannot
    describe, which TRL then checks itself when the config is built."""
    try:
        return TypeAdapter(_narrowed(hint), config=ConfigDict(strict=True, arbitrary_types_allowed=True))
    except (PydanticSchemaGenerationError, TypeError):
        return None


def _matches(value: Any, hint: Any) -> bool:
    adapter = _adapter(hint)
    if adapter is None:
        return True
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def _describe(hint: Any) -> str:
    options = typing.get_args(hint) or (hint,)
    enums = [a for a in options if isinstance(a, type) and issubclass(a, enum.Enum)]
    if enums:
        return "one of " + ", ".join(repr(m.value) for e in enums for m in e)
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
        choices = _choices(method).get(key)
        if choices is not None and isinstance(value, str) and value not in choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TrlArgError(
                f"{key!r} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}{hint}"
            )
