"""Check a recipe's reward parameters against the reward factories, without importing anything heavy."""

from __future__ import annotations

import difflib
import inspect
from typing import Any


def check_reward_params(name: str, params: dict[str, Any]) -> None:
    from train.rewards import REWARDS

    if name not in REWARDS:
        close = difflib.get_close_matches(name, REWARDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown reward {name!r}; {hint}expected one of: {', '.join(REWARDS)}")
    signature = inspect.signature(REWARDS[name])
    allowed = set(signature.parameters)
    for key in params:
        if key not in allowed:
            expected = ", ".join(sorted(allowed)) or "only weight"
            raise ValueError(f"reward {name!r} has no parameter {key!r} (it takes: {expected})")
    missing = [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in params
    ]
    if missing:
        raise ValueError(f"reward {name!r} needs {', '.join(missing)}")
