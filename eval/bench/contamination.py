"""The contamination check at the size of real training mixes: ~100k training problems against the 728
evaluation problems of aime24 + math_500 + gpqa:diamond, on one core.

The text is synthetic (no hub here): words drawn from a Zipf-like vocabulary of math and English words and
numbers, problem lengths drawn around those of the benchmarks; a few evaluation problems are planted in
the training rows, reworded only in spacing and case, and must all be found.
"""

from __future__ import annotations

import random
import time

from eval.contamination.ngrams import OverlapIndex

EVAL_PROBLEMS = 728  # 30 + 500 + 198
TRAINING_ROWS = 100_000
PLANTED = 5
_WORDS = [
    "find",
    "the",
    "number",
    "of",
    "positive",
    "integers",
    "such",
    "that",
    "is",
    "divisible",
    "by",
    "let",
    "be",
    "a",
    "real",
    "with",
    "and",
    "what",
    "value",
    "sum",
    "product",
    "of",
    "all",
    "prime",
    "how",
    "many",
    "ways",
    "can",
    "triangle",
    "circle",
    "radius",
    "area",
    "point",
    "on",
    "side",
    "length",
    "x",
    "y",
    "z",
    "n",
    "m",
    "frac",
    "sqrt",
    "equal",
    "greater",
    "than",
    "less",
    "probability",
    "that",
    "two",
    "are",
    "chosen",
    "at",
    "random",
    "from",
    "set",
    "integer",
]


def _text(rng: random.Random, vocabulary: list[str], weights: list[float]) -> str:
    length = max(8, int(rng.lognormvariate(3.8, 0.5)))  # median ~45 words, a tail past 150
    return " ".join(rng.choices(vocabulary, weights, k=length))


def bench_contamination(rows: int = TRAINING_ROWS, problems: int = EVAL_PROBLEMS, seed: int = 0) -> dict:
    rng = random.Random(seed)
    vocabulary = _WORDS + [str(i) for i in range(200)] + [f"word{i}" for i in range(5000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    evaluation = [_text(rng, vocabulary, weights) for _ in range(problems)]
    training = [_text(rng, vocabulary, weights) for _ in range(rows)]
    planted = rng.sample(range(problems), PLANTED)
    for problem in planted:
        training[rng.randrange(rows)] = "Problem: " + "  ".join(evaluation[problem].upper().split())
    start = time.perf_counter()
    matches = OverlapIndex(evaluation).scan(training)
    seconds = time.perf_counter() - start
    missed = sorted(set(planted) - set(matches))
    return {
        "training_rows": rows,
        "evaluation_problems": problems,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "planted": PLANTED,
        "planted_found": PLANTED - len(missed),
        "flagged": len(matches),
    }
