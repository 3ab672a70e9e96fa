"""Turn what a user names (hub id, folder, builtin) into a local folder and a weights fingerprint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eval.fingerprint import weights_fingerprint
from recipes.builtins import resolve
from recipes.errors import UserError
from recipes.paths import is_builtin, looks_local


@dataclass(frozen=True)
class ModelRef:
    name: str  # as the user wrote it
    path: str  # local folder
    fingerprint: str


def resolve_model(name: str, revision: str | None = None, base: Path | None = None) -> ModelRef:
    if is_builtin(name) or looks_local(name) or Path(name).exists():
        path = Path(resolve(name, base))
        if not path.exists():
            raise UserError(
                f"model {name!r}: folder {path} does not exist (did training finish? see `make train`)"
            )
        if not (path / "config.json").exists():
            raise UserError(f"model {name!r}: {path} has no config.json, so it is not a saved model")
    else:
        path = _download(name, revision)
    try:
        fingerprint = weights_fingerprint(path)
    except FileNotFoundError as err:
        raise UserError(f"model {name!r}: {err}") from None
    return ModelRef(name=name, path=str(path), fingerprint=fingerprint)


def _download(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"],
            )
        )
    except LocalEntryNotFoundError:
        raise UserError(
            f"model {repo_id!r}: not in the local Hugging Face cache and the hub cannot be reached; "
            f"download it on a connected machine (`hf download {repo_id}`) or point at a local folder"
        ) from None
    except HfHubHTTPError as err:
        raise UserError(f"model {repo_id!r}: could not be fetched from the hub ({err})") from None
