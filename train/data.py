"""Load training data named by a recipe: a hub dataset (with revision), a local file or folder, or a builtin."""

from __future__ import annotations

from pathlib import Path

from recipes.builtins import resolve
from recipes.errors import UserError
from recipes.schema import DatasetSpec

LOCAL_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def load_train_dataset(spec: DatasetSpec, recipe_dir: Path):
    from datasets import load_dataset

    location = resolve(spec.path, recipe_dir)
    path = Path(location)
    try:
        if path.is_file():
            fmt = LOCAL_FORMATS.get(path.suffix)
            if fmt is None:
                raise UserError(
                    f"train.dataset.path: unsupported file type {path.suffix!r} (use .jsonl, .json, .parquet or .csv)"
                )
            dataset = load_dataset(fmt, data_files={spec.split: str(path)}, split=spec.split)
        else:
            dataset = load_dataset(location, name=spec.name, revision=spec.revision, split=spec.split)
    except (FileNotFoundError, ValueError) as err:
        raise UserError(f"train.dataset: could not load {spec.path!r} split {spec.split!r}: {err}") from None
    if spec.messages_field not in dataset.column_names:
        raise UserError(
            f"train.dataset.messages_field: column {spec.messages_field!r} not in {spec.path!r} "
            f"(columns: {', '.join(dataset.column_names)})"
        )
    if spec.messages_field != "messages":
        dataset = dataset.rename_column(spec.messages_field, "messages")
    dataset = dataset.select_columns(["messages"])
    if spec.max_samples:
        dataset = dataset.select(range(min(spec.max_samples, len(dataset))))
    return dataset
