"""Where reasonlift keeps things it builds or caches, and how builtin names resolve."""

from __future__ import annotations

import os
from pathlib import Path

BUILTIN_PREFIX = "builtin:"
REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Root of reasonlift's caches (tiny model, toy data, generations). `REASONLIFT_CACHE` overrides it."""
    root = os.environ.get("REASONLIFT_CACHE") or Path.home() / ".cache" / "reasonlift"
    path = Path(root).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_builtin(name: str) -> bool:
    return name.startswith(BUILTIN_PREFIX)


def builtin_name(name: str) -> str:
    return name[len(BUILTIN_PREFIX) :]


def resolve_path(value: str, base: Path) -> Path:
    """The path rule, the one place it lives: a path written in a recipe is absolute (`~` expanded) or relative
    to the recipe file's folder (`base`), wherever the command runs from. Paths given on the command line
    (`model=`, `--baseline`) are the shell's: relative to the current directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def looks_local(value: str) -> bool:
    """True for values that can only be a filesystem path (not a hub id like `org/name`)."""
    return (
        value.startswith((".", "/", "~"))
        or value.count("/") > 1
        or value.endswith((".json", ".jsonl", ".parquet"))
    )
