"""Separate environments for oracles whose dependencies clash with reasonlift's (kept under oracle_dir())."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tests.oracles.math_verify_suite import oracle_dir

EVALSCOPE = "evalscope==1.14.1"
T = TypeVar("T")


def fetched(what: str, fetch: Callable[[], T]) -> T:
    """An oracle fetched from PyPI: skipped with one line where the registry cannot be reached, except in
    CI, where a missing oracle is a failure."""
    try:
        return fetch()
    except (subprocess.SubprocessError, OSError) as err:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"{what} could not be fetched here ({err})")


def evalscope_python() -> Path:
    """The Python of a virtual environment holding EvalScope 1.14.1 (no torch: ThinkBench needs none), made
    on first use (about 70 s to a few minutes)."""
    venv = oracle_dir() / EVALSCOPE.replace("==", "-")
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", EVALSCOPE],
        check=True,
        timeout=1200,
    )
    stamp.touch()
    return python
