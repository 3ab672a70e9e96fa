"""Grading one response against its gold answer: math-verify through lighteval's extractive match.

R1-Distill's generation prompt pre-fills `<think>\\n`, so a response contains a closing `</think>` but
no opening tag, which lighteval's own reasoning-tag stripping misses. When the model closed its thinking,
only the text after the last `</think>` is graded; a response that never closed it (a model that does
not think, or one that ran out of tokens) is graded whole. Every parse and comparison is bounded by a
timeout inside lighteval's extractive match, so a pathological answer cannot hang an evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from eval.task_catalog import AnswerKind

THINK_CLOSE = "</think>"
TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Grade:
    correct: bool
    extracted: str | None  # the answer the checker read from the response, None if it found none


def answer_region(response: str) -> str:
    """The part of a response that holds the final answer."""
    if THINK_CLOSE in response:
        return response.rsplit(THINK_CLOSE, 1)[1]
    return response


def as_latex_gold(gold: str) -> str:
    """MATH-500 and AIME golds are bare LaTeX (`(1,3]`, `\\frac{1}{2}`); math-verify extracts them when delimited."""
    gold = gold.strip()
    if "$" in gold or "\\boxed" in gold:
        return gold
    return f"${gold}$"


@cache
def _checker(kind: AnswerKind):
    from lighteval.metrics.dynamic_metrics import MultilingualExtractiveMatchMetric
    from lighteval.metrics.utils.extractive_match_utils import (
        ExprExtractionConfig,
        IndicesExtractionConfig,
        LatexExtractionConfig,
    )
    from lighteval.utils.language import Language

    if kind == "letter":
        target = [
            IndicesExtractionConfig(prefix_for_extraction="NativeLetters", try_extract_without_anchor=True)
        ]
        return MultilingualExtractiveMatchMetric(
            language=Language.ENGLISH,
            gold_extraction_target=target,
            pred_extraction_target=target,
            precision=6,
            timeout_seconds=TIMEOUT_SECONDS,
        )
    # The settings lighteval and open-r1 use for MATH-500 and AIME, so figures are comparable.
    return MultilingualExtractiveMatchMetric(
        language=Language.ENGLISH,
        fallback_mode="first_match",
        precision=5,
        gold_extraction_target=(LatexExtractionConfig(), ExprExtractionConfig()),
        pred_extraction_target=(ExprExtractionConfig(), LatexExtractionConfig(boxed_match_priority=0)),
        aggregation_function=max,
        timeout_seconds=TIMEOUT_SECONDS,
    )


@lru_cache(maxsize=200_000)
def grade(response: str, gold: str, kind: AnswerKind, choices: tuple[str, ...] = ()) -> Grade:
    """Grade `response` against `gold` (a math answer, or a letter for multiple choice)."""
    from lighteval.models.model_output import ModelResponse
    from lighteval.tasks.requests import Doc

    if kind == "letter":
        letters = choices or ("A", "B", "C", "D")
        doc = Doc(query="", choices=list(letters), gold_index=letters.index(gold))
    else:
        doc = Doc(query="", choices=[as_latex_gold(gold)], gold_index=0)
    region = answer_region(response)
    try:
        score = _checker(kind).compute(doc, ModelResponse(text=[region]))
    except Exception:  # a checker failure on one odd answer must not sink a whole evaluation
        return Grade(correct=False, extracted=None)
    extracted = (doc.specific or {}).get("extracted_predictions") or []
    return Grade(correct=bool(score >= 1.0), extracted=extracted[0] if extracted else None)
