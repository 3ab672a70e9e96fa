"""Serving measurements (`make perf`) per model identity, so a compare can price each side's answers."""

from __future__ import annotations

import json
from pathlib import Path

from recipes.files import atomic_write_text
from recipes.paths import cache_dir


def perf_path(model_fingerprint: str) -> Path:
    return cache_dir() / "perf" / model_fingerprint[:32] / "perf.json"


def save_perf(model_fingerprint: str, payload: dict) -> Path:
    """Merge `payload["levels"]` (by concurrency) into what was measured before for this model."""
    path = perf_path(model_fingerprint)
    previous = load_perf(model_fingerprint) or {}
    merged = {**previous, **payload, "levels": {**previous.get("levels", {}), **payload["levels"]}}
    atomic_write_text(path, json.dumps(merged, indent=2))
    return path


def load_perf(model_fingerprint: str) -> dict | None:
    path = perf_path(model_fingerprint)
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def forget_perf(model_fingerprint: str) -> int:
    """Delete one model's serving measurements (a served model redeployed); returns the count."""
    path = perf_path(model_fingerprint)
    if path.exists():
        path.unlink()
        return 1
    return 0
