"""GRPO reward functions, chosen by name in a recipe.

Each has TRL's reward-function signature: `f(completions, **columns) -> list[float | None]`, one value
per completion; `None` means "no opinion" (TRL ignores it), used when a gold answer cannot be parsed so
that a bad label never punishes a good answer. R1-Distill's chat template pre-fills `<think>\\n`, so a
completion starts *inside* the thinking block: a well-formed one has no opening tag, exactly one
`</think>`, and its answer after it.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable
from typing import Any

from recipes.protocol.grader import gold_parses, grade
from recipes.protocol.markup import BOXED_OPEN, THINK_CLOSE, THINK_OPEN, split_thinking

RewardFn = Callable[..., list[float | None]]


def completion_text(completion: Any) -> str:
    """TRL passes conversational completions as message lists and standard ones as strings."""
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if m.get("role", "assistant") == "assistant")
    return str(completion)


def answer_is_correct(text: str, gold: str) -> bool | None:
    """The evaluation's own verdict (recipes.protocol.grader.grade, same extraction and comparison); None when the gold
    itself cannot be parsed, so that a bad label never punishes a good answer."""
    if not gold_parses(str(gold)):
        return None
    return grade(text, str(gold), "math").correct


def accuracy(completions: list, answer: list[str], **_: Any) -> list[float | None]:
    """1 if the final answer matches the gold answer (math-verify), else 0; None if the gold is unparsable."""
    results = []
    for completion, gold in zip(completions, answer, strict=True):
        correct = answer_is_correct(completion_text(completion), gold)
        results.append(None if correct is None else float(correct))
    return results


def think_format(completions: list, **_: Any) -> list[float]:
    """1 when the completion closes the pre-filled think block once, opens none, and answers after it."""
    rewards = []
    for completion in completions:
        text = completion_text(completion)
        reasoning, answer, _ = split_thinking(text)
        ok = text.count(THINK_CLOSE) == 1 and THINK_OPEN not in text and reasoning.strip() and answer.strip()
        rewards.append(1.0 if ok else 0.0)
    return rewards


def tag_count(completions: list, **_: Any) -> list[float]:
    """Partial credit towards the format, so that the signal is not all-or-nothing early in training."""
    rewards = []
    for completion in completions:
        text = completion_text(completion)
        score = 0.0
        if text.count(THINK_CLOSE) == 1:
            score += 0.5
        if THINK_OPEN not in text:
            score += 0.25
        _, answer, closed = split_thinking(text)
        if closed and BOXED_OPEN.search(answer):
            score += 0.25
        rewards.append(score)
    return rewards


def _lengths(completions: list, completion_ids: list | None) -> list[int]:
    if completion_ids is not None:
        return [len(ids) for ids in completion_ids]
    return [len(completion_text(c).split()) for c in completions]  # whitespace tokens as a fallback


def make_cosine_accuracy(
    max_len: int,
    min_value_wrong: float = -1.0,
    max_value_wrong: float = -0.5,
    min_value_correct: float = 0.5,
    max_value_correct: float = 1.0,
) -> RewardFn:
    """Length-aware accuracy (cosine-scaled): short correct answers earn most, long wrong ones lose least.

    Progress through the length budget t = len/max_len in [0, 1] is mapped through a half cosine: a correct
    answer earns from max_value_correct (t=0) down to min_value_correct (t=1); a wrong one from
    min_value_wrong (t=0) up to max_value_wrong (t=1), so a model is not pushed to give up early.
    """

    def cosine_accuracy(
        completions: list, answer: list[str], completion_ids: list | None = None, **_: Any
    ) -> list[float | None]:
        rewards: list[float | None] = []
        for completion, gold, length in zip(
            completions, answer, _lengths(completions, completion_ids), strict=True
        ):
            correct = answer_is_correct(completion_text(completion), gold)
            if correct is None:
                rewards.append(None)
                continue
            t = min(length / max_len, 1.0)
            shape = 0.5 * (1 + math.cos(t * math.pi))  # 1 at t=0, 0 at t=1
            if correct:
                rewards.append(min_value_correct + (max_value_correct - min_value_correct) * shape)
            else:
                rewards.append(max_value_wrong + (min_value_wrong - max_value_wrong) * shape)
        return rewards

    return cosine_accuracy


def make_repetition_penalty(ngram_size: int = 3, max_penalty: float = -1.0) -> RewardFn:
    """Penalise repeated word n-grams: penalty = max_penalty x share of n-grams that are repeats."""
    if max_penalty > 0:
        raise ValueError("repetition max_penalty must be <= 0")

    def repetition_penalty(completions: list, **_: Any) -> list[float]:
        rewards = []
        for completion in completions:
            words = completion_text(completion).lower().split()
            if len(words) < ngram_size:
                rewards.append(0.0)
                continue
            ngrams = [tuple(words[i : i + ngram_size]) for i in range(len(words) - ngram_size + 1)]
            repeated = 1 - len(set(ngrams)) / len(ngrams)
            rewards.append(repeated * max_penalty)
        return rewards

    return repetition_penalty


def make_soft_overlong(max_len: int, buffer: int) -> RewardFn:
    """Soft overlong punishment: 0 up to max_len - buffer, then linearly down to -1 at max_len, -1 beyond."""
    if not 0 < buffer <= max_len:
        raise ValueError("soft_overlong needs 0 < buffer <= max_len")

    def soft_overlong(completions: list, completion_ids: list | None = None, **_: Any) -> list[float]:
        rewards = []
        for length in _lengths(completions, completion_ids):
            if length <= max_len - buffer:
                rewards.append(0.0)
            elif length <= max_len:
                rewards.append((max_len - buffer - length) / buffer)
            else:
                rewards.append(-1.0)
        return rewards

    return soft_overlong


# name -> factory taking the recipe's parameters for that reward
REWARDS: dict[str, Callable[..., RewardFn]] = {
    "accuracy": lambda: accuracy,
    "format": lambda: think_format,
    "tag_count": lambda: tag_count,
    "cosine": make_cosine_accuracy,
    "repetition": make_repetition_penalty,
    "soft_overlong": make_soft_overlong,
}


def build_rewards(spec: dict[str, dict[str, Any]]) -> tuple[list[RewardFn], list[float]]:
    """Recipe `train.rewards` ({name: {weight: w, **params}}) -> TRL reward_funcs and reward_weights."""
    functions, weights = [], []
    for name, params in spec.items():
        params = dict(params)
        weight = float(params.pop("weight", 1.0))
        function = REWARDS[name](**params)
        function.__name__ = name  # TRL logs rewards/<name>/mean
        functions.append(function)
        weights.append(weight)
    return functions, weights


def recipe_rewards(rewards: dict | None) -> tuple[list[RewardFn], list[float]]:
    """A recipe's `train.rewards` (validated specs, their extra keys the reward's parameters) as TRL's
    reward_funcs and reward_weights; the accuracy reward alone when the recipe names none."""
    if not rewards:
        return build_rewards({"accuracy": {"weight": 1.0}})
    return build_rewards({name: {"weight": r.weight, **(r.model_extra or {})} for name, r in rewards.items()})


def check_reward_params(name: str, params: dict[str, Any]) -> None:
    """A recipe's reward parameters against the reward factory's signature (called by recipe validation)."""
    if name not in REWARDS:
        close = difflib.get_close_matches(name, REWARDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown reward {name!r}; {hint}expected one of: {', '.join(REWARDS)}")
    signature = inspect.signature(REWARDS[name])
    allowed = set(signature.parameters)
    for key in params:
        if key not in allowed:
            expected = ", ".join(sorted(allowed)) or "only weight"
            raise ValueError(f"reward {name!r} has no parameter {key!r} (it takes: {expected})")
    missing = [
        p.name
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in params
    ]
    if missing:
        raise ValueError(f"reward {name!r} needs {', '.join(missing)}")
