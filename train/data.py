"""Load training data named by a recipe: a hub dataset (with revision), a local file or folder, or a builtin.

SFT reads a chat-format column (`messages`); GRPO reads a problem and a gold answer and builds the
same prompt the evaluation uses (the problem plus DeepSeek's "reason step by step ... \\boxed{}" line),
rendered by the model's chat template so training and evaluation see one format.
"""

from __future__ import annotations

from recipes import log
from recipes.errors import UserError
from recipes.protocol.prompts import math_prompt
from recipes.schema import DatasetSpec
from recipes.training_data import load_raw


def _require(dataset, spec: DatasetSpec, key: str, column: str) -> None:
    if column not in dataset.column_names:
        raise UserError(
            f"train.dataset.{key}: column {column!r} not in {spec.path!r} (columns: {', '.join(dataset.column_names)})"
        )


def load_train_dataset(spec: DatasetSpec):
    """SFT data: one `messages` column of chat turns."""
    dataset = load_raw(spec)
    _require(dataset, spec, "messages_field", spec.messages_field)
    if spec.messages_field != "messages":
        dataset = dataset.rename_column(spec.messages_field, "messages")
    return dataset.select_columns(["messages"])


def load_prompt_dataset(spec: DatasetSpec):
    """GRPO data: a conversational `prompt` built like the evaluation's, and the gold `answer`."""
    dataset = load_raw(spec)
    _require(dataset, spec, "prompt_field", spec.prompt_field)
    _require(dataset, spec, "answer_field", spec.answer_field)

    def to_prompt(row: dict) -> dict:
        return {
            "prompt": [{"role": "user", "content": math_prompt(str(row[spec.prompt_field]))}],
            "answer": str(row[spec.answer_field]),
        }

    return dataset.map(to_prompt, remove_columns=dataset.column_names)


_LOADED: dict[str, object] = {}


def load_for_method(method: str, spec: DatasetSpec):
    """The method's training rows, loaded once per process (the launcher's plan and checks share them)."""
    key = f"{method}:{spec.model_dump_json()}"
    if key not in _LOADED:
        _LOADED[key] = load_prompt_dataset(spec) if method == "grpo" else load_train_dataset(spec)
    return _LOADED[key]


def drop_or_keep_long(dataset, tokenizer, max_length: int | None, policy: str):
    """Count SFT rows whose rendered conversation is longer than `max_length` tokens and drop them
    (`too_long: drop`, the default) or leave them to TRL, which cuts them at max_length (`truncate`):
    a cut R1 trace loses its final answer and its end-of-sequence token. Says how many either way."""
    if not max_length:
        return dataset

    def lengths(batch: dict) -> dict:
        out = []
        for messages in batch["messages"]:
            ids = tokenizer.apply_chat_template(messages, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            out.append(len(ids))
        return {"_tokens": out}

    measured = dataset.map(lengths, batched=True, desc="measuring conversation lengths")
    long_rows = sum(1 for n in measured["_tokens"] if n > max_length)
    if not long_rows:
        return dataset
    share = f"{long_rows:,} of {len(dataset):,} rows ({long_rows / len(dataset):.1%}) are longer than max_length {max_length:,}"
    if policy == "truncate":
        log.notice(f"{share}: cut at max_length (train.dataset.too_long: truncate), losing their endings")
        return dataset
    log.notice(f"{share}: dropped (train.dataset.too_long: drop; `truncate` keeps them cut)")
    kept = measured.filter(lambda row: row["_tokens"] <= max_length, desc="dropping long rows")
    return kept.remove_columns("_tokens")


def sft_rows(spec: DatasetSpec, tokenizer, config):
    """SFT's training rows with the long ones dropped (or kept, `too_long`), measured once per machine: under the
    trainer's `main_process_first` the main process tokenises every conversation (datasets caches the map) and the
    other ranks read its cache instead of tokenising the whole set again at the same time."""
    with config.main_process_first(desc="measuring conversation lengths"):
        dataset = load_train_dataset(spec)
        return drop_or_keep_long(dataset, tokenizer, config.max_length, spec.too_long)
