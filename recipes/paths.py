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
    """A path from a recipe: absolute, or relative to the current directory when it exists there, else to the recipe."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    if path.exists():
        return path.resolve()
    return (base / path).resolve()


def looks_local(value: str) -> bool:
    """True for values that can only be a filesystem path (not a hub id like `org/name`)."""
    return (
        value.startswith((".", "/", "~"))
        or value.count("/") > 1
        or value.endswith((".json", ".jsonl", ".parquet"))
    )
