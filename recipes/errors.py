"""User-facing errors: raised for mistakes a user can fix, printed as one line without a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any


class UserError(Exception):
    """A mistake in the user's input (recipe, command line, missing file). Printed without a traceback."""


class RecipeError(UserError):
    """A recipe that does not validate. Each line names the file, the key and what was expected."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def exit_on_user_error(main: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command-line entry point so that a UserError prints its message and exits with status 2."""

    @wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return main(*args, **kwargs)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        except KeyboardInterrupt:
            print(
                "interrupted: finished work is saved; run the same command again to resume.", file=sys.stderr
            )
            raise SystemExit(130) from None

    return wrapper
