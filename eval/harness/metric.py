"""The lighteval metric for reasonlift tasks: n samples per problem graded by math-verify."""

from __future__ import annotations

import numpy as np
from lighteval.metrics.metrics_sample import SampleLevelComputation, SamplingMetric
from lighteval.metrics.utils.metric_utils import SampleLevelMetricGrouping
from lighteval.models.model_output import ModelResponse
from lighteval.tasks.requests import Doc, SamplingMethod

from eval.harness.adapter import SampledResponse
from eval.metrics import ks_for, problem_metrics
from recipes.protocol.answer_kinds import ANSWER_KINDS
from recipes.protocol.grader import Unfinished, grade
from recipes.protocol.markup import opens_thinking


class SampledAnswerMetric(SamplingMetric, SampleLevelComputation):
    """Grades each of the n samples of a problem and reduces them to pass@k and maj@n."""

    def __init__(self, kind: str, n: int, unfinished: Unfinished = "no_answer"):
        super().__init__()
        self.kind = kind
        self.n = n
        self.unfinished = unfinished

    def num_samples(self) -> int:
        return self.n

    def compute(self, doc: Doc, model_response: ModelResponse, **kwargs) -> dict[str, float]:
        gold = doc.get_golds()[0]
        choices = tuple(doc.choices) if ANSWER_KINDS[self.kind].choices else ()
        # R1-Distill's template pre-fills `<think>`: its responses start inside the thinking block
        thinking = opens_thinking(model_response.input) if isinstance(model_response.input, str) else True
        grades = [
            grade(text, gold, self.kind, choices, thinking=thinking, unfinished=self.unfinished)
            for text in model_response.text[: self.n]
        ]
        if isinstance(model_response, SampledResponse):
            model_response.grades = grades  # the details read these: no second grading
        return problem_metrics([g.extracted for g in grades], [g.correct for g in grades])


def metric_names(n: int) -> list[str]:
    return [*(f"pass@{k}" for k in ks_for(n)), f"maj@{n}"]


def sampled_answer_metric(
    kind: str, n: int, unfinished: Unfinished = "no_answer"
) -> SampleLevelMetricGrouping:
    names = metric_names(n)
    return SampleLevelMetricGrouping(
        metric_name=names,
        higher_is_better=dict.fromkeys(names, True),
        category=SamplingMethod.GENERATIVE,
        sample_level_fn=SampledAnswerMetric(kind, n, unfinished),
        corpus_level_fn=dict.fromkeys(names, np.mean),
    )
