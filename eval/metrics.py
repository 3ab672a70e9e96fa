"""Per-problem metrics over n samples: pass@1, unbiased pass@k, majority vote."""

from __future__ import annotations

from collections import Counter
from math import comb


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimator of pass@k from n samples with c correct (Chen et al., 2021)."""
    if not 0 < k <= n:
        raise ValueError(f"pass@k needs 0 < k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def ks_for(n: int) -> list[int]:
    """The k values reported for n samples: powers of two below n, and n itself."""
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64) if k < n]
    return [*ks, n] if n not in ks else ks


def majority_answer(extracted: list[str | None]) -> str | None:
    """The most common extracted answer (ties: the answer seen first); None when no sample answered."""
    answered = [a for a in extracted if a is not None]
    if not answered:
        return None
    counts = Counter(answered)
    top = max(counts.values())
    return next(a for a in answered if counts[a] == top)


def majority_correct(extracted: list[str | None], correct: list[bool]) -> float:
    """1.0 if the majority answer (see majority_answer) is a correct one, else 0.0."""
    winner = majority_answer(extracted)
    if winner is None:
        return 0.0
    return 1.0 if next(c for a, c in zip(extracted, correct, strict=True) if a == winner) else 0.0


def problem_metrics(extracted: list[str | None], correct: list[bool]) -> dict[str, float]:
    n = len(correct)
    c = sum(correct)
    metrics = {f"pass@{k}": pass_at_k(n, c, k) for k in ks_for(n)}
    metrics[f"maj@{n}"] = majority_correct(extracted, correct)
    return metrics
