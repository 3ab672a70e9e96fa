"""A synthetic full-size compare for `make bench stages=analysis`: what a compare holds once generation is done,
written with the project's own store, so that `make compare --cached-only` (`generate=False`) grades, analyses and
reports it as it would a real one, and the bench times that post-generation side.

- Two models: the tiny builtin model and a copy with one weight changed (another fingerprint), so the two sides
  have stores and caches of their own.
- Three tasks in the benchmarks' own schemas (AIME 2024, MATH-500, GPQA-Diamond), with invented problems (no
  benchmark item is copied; GPQA asks that its questions not be published), at the protocol's sizes: 30, 500 and
  198 problems, n = 64 / 4 / 8 per side (`scale` shrinks the problem counts for tests).
- R1-style responses: steps separated by blank lines, prose with equations whose right-hand sides repeat within a
  problem (R1's samples of one problem pass through the same intermediate results), fractions, roots, boxes,
  "wait" and "alternatively"; lengths long-tailed around the published averages (AIME ~17k tokens, MATH-500 ~5.5k;
  406 M characters in all at full size), a share cut at the 32,768-token limit without `</think>`, accuracies near
  the published R1-Distill-Qwen-1.5B figures. Token counts are the characters over the tiny tokenizer's measured
  characters per token (counting 400 M characters would take the bench longer than what it measures).
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from recipes.log import info

# per task: problems, n, mean response characters, truncated share, accuracy (baseline; the tuned side a little
# better and shorter)
PROTOCOL = {
    "aime24": (30, 64, 62_000, 0.19, 0.29),
    "math_500": (500, 4, 20_000, 0.03, 0.84),
    "gpqa:diamond": (198, 8, 28_000, 0.05, 0.34),
}
DIRS = {
    "aime24": ("aime24", "train"),
    "math_500": ("math_500", "test"),
    "gpqa:diamond": ("gpqa_diamond", "train"),
}
MAX_NEW_TOKENS = 32_768
PROSE = (
    "Let me think about this carefully.",
    "So we need to consider the constraint again.",
    "Hmm, let me double-check that computation.",
    "That gives us the next piece of the puzzle.",
    "Now substitute back into the original equation.",
    "I should verify this against the condition in the problem.",
    "Wait, that doesn't seem right. Let me redo it.",
    "Alternatively, maybe there's a cleaner way to see this.",
    "But wait, I need to be careful with the signs here.",
    "Let me reconsider the setup from the start.",
    "Another approach would be to count the complement.",
    "Okay, so far so good.",
)
SYMBOLIC = ("x", "y", "n", "k", "a", "b")


def _expression(rng: random.Random) -> str:
    """An intermediate result as R1 writes one: mostly numbers, then fractions, roots, powers, expressions."""
    roll = rng.random()
    if roll < 0.55:
        return str(rng.randint(0, 2000))
    if roll < 0.7:
        return rf"\frac{{{rng.randint(1, 99)}}}{{{rng.randint(2, 99)}}}"
    if roll < 0.8:
        return rf"{rng.randint(2, 20)}\sqrt{{{rng.choice([2, 3, 5, 6, 7, 10])}}}"
    if roll < 0.9:
        v = rng.choice(SYMBOLIC)
        return f"{rng.randint(2, 9)}{v}^2 + {rng.randint(1, 20)}{v} - {rng.randint(1, 50)}"
    return f"{rng.randint(2, 9)}^{{{rng.randint(2, 12)}}}"


def _math_gold(rng: random.Random, task: str) -> str:
    if task == "aime24" or rng.random() < 0.6:
        return str(rng.randint(0, 999))
    return rng.choice(
        [
            rf"\frac{{{rng.randint(1, 40)}}}{{{rng.randint(41, 97)}}}",
            rf"{rng.randint(2, 9)}\sqrt{{{rng.choice([2, 3, 5])}}}",
            f"({rng.randint(-9, 0)},{rng.randint(1, 9)}]",
            rf"\left( {rng.randint(1, 9)}, {rng.randint(1, 9)} \right)",
            rf"{rng.randint(2, 9)}\pi",
        ]
    )


@dataclass
class Problem:
    task: str
    row: dict
    gold: str  # the answer as graded: a math answer, or the correct option's letter once shuffled
    pool: list[str]  # intermediate results its samples pass through


def _problems(task: str, count: int, rng: random.Random) -> list[Problem]:
    from recipes.protocol.answer_kinds import gpqa_option_order
    from recipes.protocol.prompts import LETTERS

    problems = []
    for i in range(count):
        pool = [_expression(rng) for _ in range(40)]
        if task == "gpqa:diamond":
            question = f"Invented question {i}: which of the listed quantities describes system {rng.randint(1, 10**6)}?"
            answers = [f"{rng.randint(1, 999)} units of kind {k}" for k in "wxyz"]
            row = {
                "Question": question,
                "Correct Answer": answers[0],
                "Incorrect Answer 1": answers[1],
                "Incorrect Answer 2": answers[2],
                "Incorrect Answer 3": answers[3],
                "Record ID": f"synthetic-{i}",
                "High-level domain": rng.choice(["Physics", "Chemistry", "Biology"]),
            }
            gold = LETTERS[gpqa_option_order(question).index(0)]
        else:
            gold = _math_gold(rng, task)
            row = {
                "problem": f"Invented problem {i} ({rng.randint(1, 10**6)}): find the value.",
                "answer": gold,
            }
            if task == "math_500":
                row.update(
                    solution=f"$\\boxed{{{gold}}}$",
                    subject=rng.choice(["Algebra", "Geometry", "Number Theory"]),
                    level=rng.randint(1, 5),
                    unique_id=f"test/synthetic/{i}.json",
                )
            else:
                row.update(id=i, solution="", url="https://example.invalid", year="2024")
        problems.append(Problem(task, row, gold, pool))
    return problems


def _step(rng: random.Random, problem: Problem, letter: bool, avoid: str) -> str:
    parts = [rng.choice(PROSE)]
    for _ in range(rng.randint(0, 3)):
        value = rng.choice(problem.pool) if rng.random() < 0.7 else _expression(rng)
        if value == avoid:
            continue
        left = rng.choice([f"{rng.randint(2, 99)} + {rng.randint(2, 99)}", r"\frac{a}{b}", "x", "the total"])
        parts.append(
            rng.choice([f"${left} = {value}$.", f"So {left} = {value}.", f"We get $ {value} $ here."])
        )
    if letter and rng.random() < 0.3:
        parts.append(f"Option {rng.choice('ABCD')} does not fit the data.")
    return " ".join(parts)


def synthetic_response(
    rng: random.Random, problem: Problem, chars: int, correct: bool, truncated: bool
) -> tuple[str, str]:
    """(response, finish_reason): reasoning of about `chars` characters; a correct one passes through the gold
    somewhere and ends with it; a truncated one never closes its thinking."""
    letter = problem.task == "gpqa:diamond"
    steps, size = [], 0
    reach_at = rng.randint(1, 60) if correct else None
    while size < chars:
        step = _step(rng, problem, letter, "" if correct else problem.gold)
        if reach_at is not None and len(steps) == reach_at:
            step += f" So the answer is {problem.gold}."
        steps.append(step)
        size += len(step) + 2
    reasoning = "\n\n".join(steps)
    if truncated:
        return reasoning, "length"
    final = problem.gold if correct else rng.choice([p for p in problem.pool if p != problem.gold] or ["0"])
    if letter:
        final = problem.gold if correct else rng.choice([x for x in "ABCD" if x != problem.gold])
        answer = f"The analysis points to one option.\n\nAnswer: {final}"
    else:
        answer = f"The computation gives the result.\n\n**Final Answer**\n\\[ \\boxed{{{final}}} \\]"
    return f"{reasoning}\n</think>\n\n{answer}", "stop"


def _model_copies(out: Path) -> tuple[Path, Path]:
    """The tiny builtin model, and a copy with one weight nudged (another fingerprint: another side)."""
    from safetensors.torch import load_file, save_file

    from recipes.builtins.tiny_model import tiny_model_path

    base, tuned = out / "base", out / "tuned"
    for folder in (base, tuned):
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(tiny_model_path(), folder)
    weights = load_file(str(tuned / "model.safetensors"))
    name = next(iter(weights))
    weights[name] = weights[name] + 1e-3
    save_file(weights, str(tuned / "model.safetensors"), metadata={"format": "pt"})
    return base, tuned


def build_compare(out: Path, scale: float = 1.0, seed: int = 0) -> Path:
    """Write the synthetic compare under `out` (models, task data, both sides' generations in the store) and
    return its recipe: `make compare recipe=<it> --cached-only` reads it as a finished evaluation."""
    from eval.harness.pipeline import task_docs
    from eval.models import load_tokenizer, render_prompt, resolve_model
    from eval.settings import resolve_tasks
    from eval.stores.generations import GenerationStore, Sample
    from recipes import load_recipe
    from recipes.protocol.answer_kinds import problem_id

    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    base, tuned = _model_copies(out)
    data = out / "data"
    sizes = {task: max(2, round(count * scale)) for task, (count, *_) in PROTOCOL.items()}
    problems = {task: _problems(task, sizes[task], rng) for task in PROTOCOL}
    for task, items in problems.items():
        folder, split = DIRS[task]
        (data / folder).mkdir(parents=True, exist_ok=True)
        (data / folder / f"{split}.jsonl").write_text("".join(json.dumps(p.row) + "\n" for p in items))
    recipe_path = out / "synthetic.yaml"
    recipe_path.write_text(
        yaml.safe_dump(
            {
                "name": "synthetic-compare",
                "model": {"name_or_path": str(base), "chat_template": "r1"},
                "eval": {
                    "tasks": {task: {"n": n} for task, (_, n, *_) in PROTOCOL.items()},
                    "generation": {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": MAX_NEW_TOKENS},
                    "data_dir": str(data),
                    "output_dir": str(out / "compare"),
                },
                "wandb": {"enabled": False},
            },
            sort_keys=False,
        )
    )
    recipe = load_recipe(recipe_path)
    tokenizer = load_tokenizer(str(base), "r1")
    sample_text = synthetic_response(rng, problems["math_500"][0], 20_000, True, False)[0]
    chars_per_token = len(sample_text) / len(tokenizer(sample_text, add_special_tokens=False).input_ids)
    for side, folder, better in (("baseline", base, 0.0), ("tuned", tuned, 0.06)):
        ref = resolve_model(str(folder))
        for run in resolve_tasks(recipe.eval):
            _, n, mean_chars, cut, accuracy = PROTOCOL[run.name]
            store = GenerationStore(ref.fingerprint, run.sampling)
            by_id = {problem_id(p.row, run.info.lighteval_name): p for p in problems[run.name]}
            for doc in task_docs(run, None):
                problem = by_id[str(doc.specific["problem_id"])]
                rendered = render_prompt(tokenizer, doc.query)
                for index in range(n):
                    chars = min(int(rng.expovariate(1 / (mean_chars * (1 - better)))) + 400, 118_000)
                    truncated = rng.random() < cut * (1 - better) or chars >= 118_000
                    correct = not truncated and rng.random() < accuracy + better
                    text, finish = synthetic_response(rng, problem, chars, correct, truncated)
                    reasoning = text.split("</think>")[0]
                    tokens = (
                        MAX_NEW_TOKENS
                        if truncated
                        else min(round(len(text) / chars_per_token), MAX_NEW_TOKENS)
                    )
                    store.put_sample(
                        rendered,
                        index,
                        Sample(text, tokens, finish, min(round(len(reasoning) / chars_per_token), tokens)),
                        problem_id=str(doc.specific["problem_id"]),
                    )
            store.sync()
        info(f"synthetic compare: {side} written ({folder.name})")
    return recipe_path
