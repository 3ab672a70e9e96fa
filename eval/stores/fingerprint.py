"""Fingerprints of model weights and data: what results are keyed on, so stale generations are never reused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import xxhash

from recipes.paths import cache_dir

WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "config.json")
# What a Trainer checkpoint holds beside the weights: the same weights saved as the final model (without
# these) are the same model, evaluated once
TRAINING_STATE = ("optimizer", "scheduler", "scaler", "training_args", "rng_state")
CHUNK = 16 * 1024 * 1024


def _weight_files(folder: Path) -> list[Path]:
    files = {
        p
        for pattern in WEIGHT_PATTERNS
        for p in folder.glob(pattern)
        if p.is_file() and not p.name.startswith(TRAINING_STATE)
    }
    return sorted(files)


def weights_fingerprint(folder: str | Path) -> str:
    """A content hash of a model folder's weights and config (not its path, not its mtime).

    Hashing is fast (xxh3, gigabytes per second); the result is memoised by file size and mtime so a
    re-trained checkpoint in the same folder gets a new fingerprint and an unchanged one is not re-read.
    """
    folder = Path(folder).resolve()
    files = _weight_files(folder)
    if not files:
        raise FileNotFoundError(f"no weights found in {folder}")
    stat_key = hashlib.sha256(
        json.dumps([(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]).encode()
    ).hexdigest()
    memo = cache_dir() / "fingerprints" / f"{stat_key}.txt"
    if memo.exists():
        return memo.read_text().strip()
    digest = xxhash.xxh3_128()
    for path in files:
        digest.update(path.name.encode())
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    value = digest.hexdigest()
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(value)
    return value


def text_fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
