"""The scoring stage: answers checked per second, with parser traps mixed in, and the grading's peak memory."""

from __future__ import annotations

import time

from recipes.protocol.grader import grade

# Answers that send a parser into its timeout: nesting thousands deep, a tower of powers, a huge answer.
PATHOLOGICAL_ANSWERS = (
    "(" * 3000 + "1" + ")" * 3000,
    "10^{10^{10^{10}}}",
    "{" * 5000 + "}" * 5000,
    "9" * 30_000,
)


def scoring_batch(ordinary: int = 2000, pathological: int = 20) -> dict:
    """Grade `ordinary` distinct correct answers with `pathological` ones mixed in; seconds and peak memory
    of the process that does it (run in a fresh one, so the peak is the grading's own)."""
    import resource

    responses = [
        (
            f"Working... so the value is {i}.\n</think>\n\nThe answer is $\\boxed{{\\frac{{{i}}}{{{i + 1}}}}}$.",
            f"\\frac{{{i}}}{{{i + 1}}}",
        )
        for i in range(1, ordinary + 1)
    ]
    step = max(1, ordinary // max(pathological, 1))
    for k in range(pathological):
        answer = PATHOLOGICAL_ANSWERS[k % len(PATHOLOGICAL_ANSWERS)]
        responses.insert(k * step, (f"</think> \\boxed{{{answer}}}", str(k)))
    start = time.perf_counter()
    correct = sum(grade(r, g, "math").correct for r, g in responses)
    elapsed = time.perf_counter() - start
    return {
        "answers": len(responses),
        "pathological": pathological,
        "correct": correct,
        "seconds": elapsed,
        "answers_per_s": len(responses) / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def bench_scoring(ordinary: int = 2000, pathological: int = 20) -> dict:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = pool.submit(scoring_batch, ordinary, pathological).result()
    assert result["correct"] == ordinary, "the scoring benchmark's ordinary answers should all be right"
    return result
