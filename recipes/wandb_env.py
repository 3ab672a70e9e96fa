"""Weights & Biases without surprises: online with credentials, offline (and say how to sync) without."""

from __future__ import annotations

import os
from pathlib import Path


def has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return "api.wandb.ai" in netrc.read_text()
    except OSError:
        return False


def resolve_mode() -> str:
    """The W&B mode to use: the user's explicit WANDB_MODE wins; else online only with credentials."""
    explicit = os.environ.get("WANDB_MODE")
    if explicit:
        return explicit
    return "online" if has_credentials() else "offline"


def configure(
    project: str, entity: str | None, group: str, wandb_dir: Path, job_type: str | None = None
) -> str:
    """Set the environment variables TRL's and our own W&B runs read. Returns the mode."""
    mode = resolve_mode()
    wandb_dir.mkdir(parents=True, exist_ok=True)
    os.environ["WANDB_MODE"] = mode
    os.environ["WANDB_PROJECT"] = project
    os.environ["WANDB_RUN_GROUP"] = group
    os.environ["WANDB_DIR"] = str(wandb_dir)
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_CONSOLE", "off")
    if entity:
        os.environ["WANDB_ENTITY"] = entity
    if job_type:
        os.environ["WANDB_JOB_TYPE"] = job_type
    return mode


def offline_runs(wandb_dir: Path) -> list[Path]:
    root = wandb_dir / "wandb"
    return sorted(root.glob("offline-run-*"), key=lambda p: p.stat().st_mtime) if root.exists() else []


def sync_hint(run_dir: Path) -> str:
    return (
        f"W&B is offline (no credentials): run kept in {run_dir}; upload it later with: wandb sync {run_dir}"
    )
