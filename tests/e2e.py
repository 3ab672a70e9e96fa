"""Helpers for the slow end-to-end tests: run reasonlift's commands as a user would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wandb_unreachable() -> dict[str, str | None]:
    """A cluster compute node after `wandb login`: credentials set, no W&B server reachable, no WANDB_MODE."""
    return {
        "WANDB_MODE": None,
        "WANDB_API_KEY": "0123456789abcdef0123456789abcdef01234567",
        "WANDB_BASE_URL": f"http://127.0.0.1:{closed_port()}",
    }


def run_command(
    *args: str, timeout: int = 900, env: dict[str, str | None] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess:
    """Run `python ARGS` in the repository (or `cwd`); `env` adds variables (a None value removes one)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    env = {k: v for k, v in env.items() if v is not None}
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    return result


def check(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (
        f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    )
    return result.stdout + result.stderr
