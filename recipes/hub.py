"""Models on the Hugging Face hub, as local folders: one revision, resolved once, for every consumer.

A hub id with a revision is turned into the folder of that revision's snapshot before anything loads it, so
that whatever reads the model's path afterwards (TRL's reference model, which it re-creates from
`config._name_or_path`, and its colocated vLLM engine, which has no revision argument) reads the same
weights.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from recipes.errors import UserError

PROBE_TIMEOUT_S = 5.0


@cache
def hub_reachable() -> bool:
    """Whether the hub answers within PROBE_TIMEOUT_S (asked once per process). Without it, huggingface_hub
    retries a dead connection for most of a minute before the cache is even looked at."""
    import httpx
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        httpx.head(constants.ENDPOINT, timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError:
        return False
    return True


TOKENIZER_FILES = ["*.json", "*.model", "*.txt", "*.jinja", "*.tiktoken"]
MODEL_FILES = [*TOKENIZER_FILES, "*.safetensors"]


def offline_unless_reachable() -> bool:
    """When the hub does not answer, put huggingface_hub and datasets in offline mode for this process and the
    ones it starts, so cached files are used at once instead of after a minute of retries and warnings.
    Returns whether they are offline."""
    import os

    if hub_reachable():
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True
    try:
        from datasets import config
    except ImportError:
        return True
    config.HF_HUB_OFFLINE = config.HF_DATASETS_OFFLINE = True
    return True


def snapshot(repo_id: str, revision: str | None, patterns: list[str] | None = None) -> Path:
    """The local folder of `repo_id` at `revision` (the hub's default branch when None), downloaded when
    the hub is reachable, else taken from the local cache."""
    import httpx
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    def download(local_only: bool) -> Path:
        return Path(
            snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=patterns or MODEL_FILES,
                local_files_only=local_only,
            )
        )

    try:
        if not hub_reachable():
            return download(local_only=True)
        try:
            return download(local_only=False)
        except (OfflineModeIsEnabled, httpx.ConnectError, httpx.TimeoutException):
            # a commit-hash revision is listed online even when cached: offline, read the cache alone
            return download(local_only=True)
    except LocalEntryNotFoundError:
        at = f" at revision {revision!r}" if revision else ""
        raise UserError(
            f"model {repo_id!r}{at}: not in the local Hugging Face cache and the hub cannot be reached; "
            f"download it on a connected machine (`hf download {repo_id}"
            + (f" --revision {revision}" if revision else "")
            + "`) or point at a local folder"
        ) from None
    except HfHubHTTPError as err:
        raise UserError(f"model {repo_id!r}: could not be fetched from the hub ({err})") from None
