"""Helpers for the slow end-to-end tests: run reasonlift's commands as a user would."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def run_command(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    return result


def check(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (
        f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    )
    return result.stdout + result.stderr
