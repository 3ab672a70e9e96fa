"""The one answer to "which local folder is this model": what a recipe or a command names (a builtin, a folder,
a hub id at a revision) as the folder its weights are in. Training, evaluation and serving all ask here."""

from __future__ import annotations

from pathlib import Path

from recipes.builtins import local_path
from recipes.errors import UserError
from recipes.hub import snapshot
from recipes.paths import is_builtin, looks_local


def model_folder(name: str, revision: str | None = None, base: Path | None = None) -> Path:
    """`name`'s local folder: a builtin built, a folder checked (it exists and holds a saved model), a hub id at
    `revision` downloaded, or found in the cache when the hub cannot be reached."""
    # a revision pins a hub id, not a folder or a builtin
    pinned_hub_id = revision is not None and not looks_local(name) and not is_builtin(name)
    path = None if pinned_hub_id else local_path(name, base)
    if path is None:
        return snapshot(name, revision)
    if not path.exists():
        raise UserError(
            f"model {name!r}: folder {path} does not exist (did training finish? see `make train`)"
        )
    if not (path / "config.json").exists():
        raise UserError(f"model {name!r}: {path} has no config.json, so it is not a saved model")
    return path
