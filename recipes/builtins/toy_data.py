"""The toy task: add a one-digit number to a two-digit one (no carry), answer in \\boxed{}.

Small enough for a tiny model to learn on a CPU in a minute, and built so that learning it means
generalising: every held-out problem is a new combination (a tens digit never seen with that sum of
units), while every one-digit fact it needs appears in training. The reasoning in the think block
is the procedure: add the units, keep the tens. The train set (chat `messages`, as SFT data for the
real model) and the held-out set (`problem`/`answer` rows, as in MATH-500) share no problem. A third slice,
the dev set (`toy_addition_dev`), is held out of training too: it is where a checkpoint is chosen
(`eval.selection`), so that the test set is not.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

from recipes.paths import cache_dir
from recipes.protocol.prompts import math_prompt

TOY_DATASET_NAME = "toy-addition"
TOY_DATASET_VERSION = 3
HELD_OUT = 30  # as many problems as AIME, so the demo's error bars look like the real thing's
DEV = 30  # the selection set: checkpoints are chosen here, never on the held-out test problems
SPLIT_SEED = 7


def _pairs() -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]:
    problems = [(10 * t + u, b) for t in range(1, 9) for u in range(9) for b in range(1, 10 - u)]
    random.Random(SPLIT_SEED).shuffle(problems)
    held_out: list[tuple[int, int]] = []
    used_facts: set[tuple[int, int]] = set()
    for a, b in problems:  # at most one held-out problem per units fact, so each fact stays in training
        if len(held_out) < HELD_OUT and (a % 10, b) not in used_facts:
            held_out.append((a, b))
            used_facts.add((a % 10, b))
    rest = [p for p in problems if p not in held_out]
    return rest[DEV:], held_out, rest[:DEV]


def problem_text(a: int, b: int) -> str:
    return f"What is {a} + {b}?"


def worked_answer(a: int, b: int) -> str:
    units = a % 10
    return (
        f"<think>\nUnits: {units} + {b} = {units + b}. Tens: {a // 10}. So {a} + {b} = {a + b}.\n</think>\n\n"
        f"The answer is $\\boxed{{{a + b}}}$."
    )


def train_rows() -> list[dict]:
    train, _, _ = _pairs()
    return [
        {
            "messages": [
                {"role": "user", "content": math_prompt(problem_text(a, b))},
                {"role": "assistant", "content": worked_answer(a, b)},
            ],
            "problem": problem_text(a, b),
            "answer": str(a + b),
        }
        for a, b in train
    ]


def eval_rows(split: str = "test") -> list[dict]:
    """The held-out problems (`test`) or the dev problems (`validation`), as MATH-500's rows."""
    _, held_out, dev = _pairs()
    return [
        {"problem": problem_text(a, b), "answer": str(a + b), "unique_id": f"toy/{a}+{b}"}
        for a, b in (held_out if split == "test" else dev)
    ]


def corpus_for_tokenizer() -> list[str]:
    """The tiny model's tokenizer corpus: every worked problem outside the held-out set (the dev slice included,
    in the order they had before it was carved out, so that the tokenizer is the one TINY_MODEL_VERSION names),
    then the held-out problems."""
    train, held_out, dev = _pairs()
    worked = [text for a, b in dev + train for text in (math_prompt(problem_text(a, b)), worked_answer(a, b))]
    return worked + [problem_text(a, b) for a, b in held_out]


def toy_dataset_path() -> Path:
    """Folder with `train/train.jsonl` (SFT), `eval/test.jsonl` (held out) and `eval/validation.jsonl` (dev),
    built on first use.

    The two live in separate folders because their columns differ and `load_dataset(folder)` reads every split.
    """
    target = cache_dir() / "data" / f"{TOY_DATASET_NAME}-v{TOY_DATASET_VERSION}"
    if (target / "eval" / "test.jsonl").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        files = {
            "train/train.jsonl": train_rows(),
            "eval/test.jsonl": eval_rows("test"),
            "eval/validation.jsonl": eval_rows("validation"),
        }
        for name, rows in files.items():
            (staging / name).parent.mkdir(exist_ok=True)
            with open(staging / name, "w") as f:
                f.writelines(json.dumps(row) + "\n" for row in rows)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "eval" / "test.jsonl").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
