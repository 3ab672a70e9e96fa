"""How a model thinks, from its saved generations: reasoning length, when it first reaches the answer,
how much it reflects afterwards, how often it switches approach. Modelled on EvalScope's ThinkBench, and
checked against its code (tests/test_oracle_evalscope.py):

- the reasoning is the response up to its last `</think>` (the whole response when the model never closes
  it: R1-Distill's prompt pre-fills `<think>`), split into steps at blank lines;
- reasoning tokens are counted on the generated token ids (the store keeps the position of `</think>`),
  never more than were generated; where the ids are unknown, by re-tokenising, capped at the generated total;
- the first correct point is the end of the first step that contains the gold answer, found with the
  grader (no judge model), or optionally by a judge (`eval.analysis.judge`);
- switches count EvalScope's markers (alternatively, but wait, let me reconsider, another way / approach /
  method / angle) as it does: case-insensitive substrings of the reasoning. Self-checks ("wait") are a
  column of their own;
- first-correct, reflection and efficiency come in two aggregations: over correct samples where the point
  was found (reasonlift's), and EvalScope's, over all samples with 0 first-correct tokens (all reflection,
  efficiency 0) where no point was found, so a figure can be set beside published ThinkBench ones. Its
  "accuracy" is reasonlift's reached rate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from eval.reasoning.first_correct import FirstCorrect
from recipes.protocol.answer_kinds import ANSWER_KINDS
from recipes.protocol.markup import split_thinking

# EvalScope ThinkBench's thought-switch markers (evalscope/third_party/thinkbench/eval.py, 1.14.1)
DEFAULT_SWITCH_MARKERS = (
    "alternatively",
    "but wait",
    "let me reconsider",
    "another way",
    "another approach",
    "another method",
    "another angle",
)
SELF_CHECK = re.compile(r"\bwait\b", re.IGNORECASE)

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class SampleReasoning:
    reasoning_tokens: int
    first_correct_tokens: int | None  # None: the gold answer never appears in the reasoning
    reflection_tokens: int | None
    switches: int
    correct: bool
    closed_thinking: bool
    self_checks: int = 0
    problem_id: str = ""
    search_cut: bool = False  # the first-correct search stopped at its bound (eval.reasoning.first_correct)

    @property
    def efficiency(self) -> float | None:
        if self.first_correct_tokens is None or self.reasoning_tokens == 0:
            return None
        return min(self.first_correct_tokens / self.reasoning_tokens, 1.0)


def split_reasoning(response: str) -> tuple[str, bool]:
    """The reasoning part of a response, and whether the model closed its thinking."""
    reasoning, _, closed = split_thinking(response)
    return reasoning, closed


def split_steps(reasoning: str) -> list[str]:
    """Steps are blank-line separated; the separators stay with the step before so positions add up."""
    parts = re.split(r"(\n\s*\n)", reasoning)
    steps = []
    for i in range(0, len(parts), 2):
        step = parts[i] + (parts[i + 1] if i + 1 < len(parts) else "")
        if step:
            steps.append(step)
    return steps


def step_reaches_answer(step: str, gold: str, kind: str, choices: tuple[str, ...] = ()) -> bool:
    return ANSWER_KINDS[kind].step_reaches(step, gold, choices)


def first_correct_step(
    steps: Sequence[str], gold: str, kind: str, choices: tuple[str, ...] = ()
) -> int | None:
    """The first step that reaches the gold (the answer kind's rule, step by step, with no bound)."""
    for index, step in enumerate(steps):
        if step_reaches_answer(step, gold, kind, choices):
            return index
    return None


def count_switches(reasoning: str, markers: Sequence[str] = DEFAULT_SWITCH_MARKERS) -> int:
    """Occurrences of the markers as EvalScope counts them: case-insensitive substrings, each marker counted
    on its own (no marker of the default list contains another)."""
    lowered = reasoning.lower()
    return sum(lowered.count(marker.lower()) for marker in dict.fromkeys(markers))


def count_self_checks(reasoning: str) -> int:
    """ "Wait" as a word: the self-check R1 models write, which EvalScope's switches leave out."""
    return sum(1 for _ in SELF_CHECK.finditer(reasoning))


def analyse_sample(
    response: str,
    gold: str,
    kind: str,
    correct: bool,
    count_tokens: TokenCounter,
    markers: Sequence[str] = DEFAULT_SWITCH_MARKERS,
    choices: tuple[str, ...] = (),
    locate: Callable[[list[str]], int | None] | None = None,
    *,
    generated_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    problem_id: str = "",
    search: FirstCorrect | None = None,
) -> SampleReasoning:
    """Reasoning metrics of one response; `locate` finds the first correct step (default: the answer checker,
    through `search` when given: a problem's search, shared by its samples).

    `reasoning_tokens` (counted on the generated ids) is the reasoning's length when known; else the text is
    re-tokenised and capped at `generated_tokens`. A step's position is re-tokenised text scaled to that
    length, so no count exceeds what was generated. A sample whose length is known and whose first correct point
    is not found is never tokenised; one whose point is found is tokenised once (its prefix's end read from the
    token offsets)."""
    reasoning, closed = split_reasoning(response)
    steps = split_steps(reasoning)
    cut = False
    if locate is not None:
        index = locate(steps)
    else:
        index, cut = (search or FirstCorrect(gold, kind, choices)).find(steps)
    text_tokens = None
    if reasoning_tokens is None:
        text_tokens = count_tokens(reasoning)
        reasoning_tokens = text_tokens if generated_tokens is None else min(text_tokens, generated_tokens)
    if index is None:
        first_tokens = reflection = None
    else:
        prefix = len("".join(steps[: index + 1]))
        counted = _count_to(count_tokens, reasoning, prefix)
        if counted is not None:  # one pass: the whole text and where its prefix ends
            text_tokens, prefix_tokens = counted
        else:
            text_tokens = count_tokens(reasoning) if text_tokens is None else text_tokens
            prefix_tokens = count_tokens(reasoning[:prefix])
        scale = reasoning_tokens / text_tokens if text_tokens else 0.0
        first_tokens = min(round(prefix_tokens * scale), reasoning_tokens)
        reflection = reasoning_tokens - first_tokens
    return SampleReasoning(
        reasoning_tokens=reasoning_tokens,
        first_correct_tokens=first_tokens,
        reflection_tokens=reflection,
        switches=count_switches(reasoning, markers),
        correct=correct,
        closed_thinking=closed,
        self_checks=count_self_checks(reasoning),
        problem_id=problem_id,
        search_cut=cut,
    )


def _count_to(count_tokens: TokenCounter, text: str, prefix: int) -> tuple[int, int] | None:
    """(tokens of `text`, tokens of `text[:prefix]`) in one tokenisation, when the counter can give offsets
    (eval.models.token_counter's can) and the prefix ends at a token boundary; else None."""
    with_offsets = getattr(count_tokens, "offsets", None)
    if with_offsets is None:
        return None
    ends = with_offsets(text)
    inside = sum(1 for end in ends if end <= prefix)
    if inside < len(ends) and inside and ends[inside - 1] != prefix:
        return None  # a token straddles the prefix's end: count the prefix on its own, as before
    return len(ends), inside


@dataclass(frozen=True)
class ReasoningSummary:
    samples: int
    accuracy: float
    reasoning_tokens: float  # mean over all samples
    reasoning_tokens_correct: float  # mean over correct samples
    first_correct_tokens: float  # mean over correct samples where the point was found
    reflection_tokens: float  # likewise
    efficiency: float  # mean first-correct / reasoning over correct samples where the point was found
    switches: float  # mean thought switches per sample (EvalScope's markers)
    reached_rate: (
        float  # share of samples whose reasoning contains the gold answer somewhere (EvalScope's accuracy)
    )
    closed_rate: float  # share of samples that closed their thinking
    self_checks: float = float("nan")  # mean "wait" per sample
    # EvalScope's aggregation: over all samples, 0 first-correct tokens (and all reflection, efficiency 0)
    # where no first correct point was found
    first_correct_tokens_all: float = float("nan")
    reflection_tokens_all: float = float("nan")
    efficiency_all: float = float("nan")
    search_cut: int = 0  # samples whose first-correct search stopped at its bound (counted as not reached)

    def to_json(self) -> dict:
        return asdict(self)


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def summarise(samples: Sequence[SampleReasoning]) -> ReasoningSummary:
    correct = [s for s in samples if s.correct]
    located = [s for s in correct if s.first_correct_tokens is not None]
    return ReasoningSummary(
        samples=len(samples),
        accuracy=_mean([float(s.correct) for s in samples]),
        reasoning_tokens=_mean([s.reasoning_tokens for s in samples]),
        reasoning_tokens_correct=_mean([s.reasoning_tokens for s in correct]),
        first_correct_tokens=_mean([s.first_correct_tokens for s in located]),
        reflection_tokens=_mean([s.reflection_tokens for s in located]),
        efficiency=_mean([s.efficiency for s in located if s.efficiency is not None]),
        switches=_mean([s.switches for s in samples]),
        reached_rate=_mean([float(s.first_correct_tokens is not None) for s in samples]),
        closed_rate=_mean([float(s.closed_thinking) for s in samples]),
        self_checks=_mean([s.self_checks for s in samples]),
        first_correct_tokens_all=_mean([s.first_correct_tokens or 0 for s in samples]),
        reflection_tokens_all=_mean([s.reasoning_tokens - (s.first_correct_tokens or 0) for s in samples]),
        efficiency_all=_mean([_all_efficiency(s) for s in samples]),
        search_cut=sum(s.search_cut for s in samples),
    )


def _all_efficiency(sample: SampleReasoning) -> float:
    if not sample.first_correct_tokens or sample.reasoning_tokens == 0:
        return 0.0
    return sample.first_correct_tokens / sample.reasoning_tokens
