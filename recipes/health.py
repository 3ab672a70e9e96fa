"""Is this training run healthy? A registry of rules over the metrics TRL logs, read the same way live (the
training callback, at every log) and afterwards (a run's `trainer_state.json` log history: the compare and
`make view` read it, on a copied folder too).

A rule is one declaration: the metric keys it reads, its threshold and window with defaults from published
practice, what it means and what to change, and a check over the log history that returns the first step it
held and the value there. `train.health.rules.<name>: {threshold, window}` overrides the defaults (validated
like every other key); `train.health.stop_on: [name, ...]` stops the run with a checkpoint when one fires.

The GRPO metric keys are TRL 1.16's (`trl/trainer/grpo_trainer.py`, `_metrics[mode][...]`): `reward`,
`frac_reward_zero_std`, `rewards/<name>/mean`, `completions/clipped_ratio`, `completions/mean_length`,
`entropy`, `kl` (only with beta > 0), `sampling/importance_sampling_ratio/mean`; the trainer adds `loss` and
`grad_norm` for both methods.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

History = list[dict]  # trainer_state.json's log_history: one dict per log, with "step"

ACCURACY_REWARDS = ("accuracy", "cosine")  # the rewards that pay for the right answer
# the rewards a model can earn without solving anything (the length and repetition penalties rising means less
# of what they punish: that is not hacking)
AUXILIARY_REWARDS = ("format", "tag_count")


@dataclass(frozen=True)
class Finding:
    rule: str
    step: int
    value: float
    message: str


@dataclass(frozen=True)
class Rule:
    name: str
    methods: tuple[str, ...]
    keys: tuple[str, ...]  # what it reads (an auxiliary-reward rule reads every rewards/<name>/mean)
    threshold: float
    window: int  # consecutive logs the condition must hold (or the trend's span)
    meaning: str  # what it means, with {value} and {threshold}
    change: str  # what to change
    check: Callable[[History, float, int], tuple[int, float] | None] = field(repr=False)

    def explain(self, step: int, value: float, threshold: float) -> str:
        return f"{self.name} from step {step}: {self.meaning.format(value=value, threshold=threshold)}; {self.change}"


def _series(history: History, key: str) -> list[tuple[int, float]]:
    return [
        (int(h["step"]), float(h[key])) for h in history if key in h and h[key] is not None and "step" in h
    ]


def _held(
    series: list[tuple[int, float]], window: int, holds: Callable[[float], bool]
) -> tuple[int, float] | None:
    """The first step where `holds` has been true for `window` consecutive logs, and the value there."""
    run = 0
    for index, (_, value) in enumerate(series):
        run = run + 1 if holds(value) else 0
        if run >= window:
            step, value = series[index - window + 1]
            return step, value
    return None


def _above(key: str) -> Callable[[History, float, int], tuple[int, float] | None]:
    return lambda history, threshold, window: _held(_series(history, key), window, lambda v: v >= threshold)


def _against_early(key: str, low: bool) -> Callable[[History, float, int], tuple[int, float] | None]:
    """Below `threshold` x (or above 1/`threshold` x) its mean over the first `window` logs, for `window` logs."""

    def check(history: History, threshold: float, window: int) -> tuple[int, float] | None:
        series = _series(history, key)
        if len(series) < 2 * window:
            return None
        early = sum(v for _, v in series[:window]) / window
        if early <= 0:
            return None
        later = series[window:]
        if low:
            found = _held(later, window, lambda v: v < threshold * early)
        else:
            found = _held(later, window, lambda v: v > early / threshold)
        return (found[0], found[1] / early) if found else None

    return check


def _ratio_off(key: str) -> Callable[[History, float, int], tuple[int, float] | None]:
    """The importance-sampling ratio's mean outside [threshold, 1/threshold]."""
    return lambda history, threshold, window: _held(
        _series(history, key), window, lambda v: v < threshold or v > 1 / threshold
    )


def _not_finite(history: History, threshold: float, window: int) -> tuple[int, float] | None:
    for key in ("loss", "grad_norm"):
        for step, value in _series(history, key):
            if not math.isfinite(value):
                return step, value
    return None


def _spike(history: History, threshold: float, window: int) -> tuple[int, float] | None:
    """grad_norm above `threshold` x the median of the logs before it (at least `window` of them)."""
    series = [(s, v) for s, v in _series(history, "grad_norm") if math.isfinite(v)]
    before = sorted(v for _, v in series[:window])
    for index in range(window, len(series)):
        median = before[len(before) // 2]
        if median > 0 and series[index][1] > threshold * median:
            return series[index][0], series[index][1] / median
        bisect.insort(before, series[index][1])
    return None


def _diverging(history: History, threshold: float, window: int) -> tuple[int, float] | None:
    """The loss at or above `threshold` x its first logged value for `window` logs (SFT's loss should fall)."""
    series = [(s, v) for s, v in _series(history, "loss") if math.isfinite(v)]
    if not series or series[0][1] <= 0:
        return None
    first = series[0][1]
    found = _held(series[1:], window, lambda v: v >= threshold * first)
    return (found[0], found[1] / first) if found else None


def _vanished(history: History, threshold: float, window: int) -> tuple[int, float] | None:
    """A gradient norm at or below `threshold` for `window` logs while the loss is not zero: the model stopped
    learning (saturated weights, a dead network). A GRPO step whose every group had one reward has loss 0 too:
    that is `no_signal`, not this."""
    losses = dict(_series(history, "loss"))
    series = [(s, v) for s, v in _series(history, "grad_norm") if abs(losses.get(s, 0.0)) > 1e-6]
    return _held(series, window, lambda v: v <= threshold)


def _aux_rising(history: History, threshold: float, window: int) -> tuple[int, float] | None:
    """An auxiliary reward's mean rose by at least `threshold` over the last `window` logs while the accuracy
    reward did not rise (by a tenth of that)."""
    keys = {k for h in history for k in h if k.startswith("rewards/") and k.endswith("/mean")}
    accuracy = next((f"rewards/{n}/mean" for n in ACCURACY_REWARDS if f"rewards/{n}/mean" in keys), None)
    if accuracy is None:
        return None
    acc = dict(_series(history, accuracy))
    for key in sorted(k for k in keys if k.split("/")[1] in AUXILIARY_REWARDS):
        series = _series(history, key)
        for end in range(window, len(series)):
            (s0, a0), (s1, a1) = series[end - window], series[end]
            if s0 in acc and s1 in acc and a1 - a0 >= threshold and acc[s1] - acc[s0] < threshold / 10:
                return s1, a1 - a0
    return None


GRPO = ("grpo",)
RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "no_signal",
            GRPO,
            ("frac_reward_zero_std",),
            0.9,
            3,
            "{value:.0%} of prompt groups gave every completion the same reward (at or above {threshold:.0%}): no "
            "advantage, no gradient",
            "the problems are too hard or too easy for the model: filter them, raise num_generations or temperature",
            _above("frac_reward_zero_std"),
        ),
        Rule(
            "truncation",
            GRPO,
            ("completions/clipped_ratio",),
            0.5,
            3,
            "{value:.0%} of completions were cut at max_completion_length (at or above {threshold:.0%}): the reward "
            "cannot pay an answer that never came",
            "raise max_completion_length, or reward shorter reasoning (soft_overlong)",
            _above("completions/clipped_ratio"),
        ),
        Rule(
            "length_collapse",
            GRPO,
            ("completions/mean_length",),
            0.3,
            3,
            "mean completion length fell to {value:.0%} of its early value (below {threshold:.0%}): the model stopped "
            "reasoning",
            "check for a length or format reward it can satisfy by answering at once; lower the learning rate",
            _against_early("completions/mean_length", low=True),
        ),
        Rule(
            "length_explosion",
            GRPO,
            ("completions/mean_length",),
            0.33,
            3,
            "mean completion length grew to {value:.1f}x its early value: repetition or rambling",
            "add the repetition or soft_overlong reward, or lower the learning rate",
            _against_early("completions/mean_length", low=False),
        ),
        Rule(
            "entropy_collapse",
            GRPO,
            ("entropy",),
            0.1,
            3,
            "token entropy fell to {value:.0%} of its early value (below {threshold:.0%}): the policy stopped "
            "exploring",
            "lower the learning rate, raise temperature, or keep a KL term (beta > 0)",
            _against_early("entropy", low=True),
        ),
        Rule(
            "kl_blowup",
            GRPO,
            ("kl",),
            0.5,
            2,
            "KL to the reference model reached {value:.2f} per token (at or above {threshold}): the policy left the "
            "base model far behind",
            "lower the learning rate or raise beta",
            _above("kl"),
        ),
        Rule(
            "auxiliary_reward_rising",
            GRPO,
            ("rewards/<name>/mean",),
            0.2,
            10,
            "an auxiliary reward rose by {value:.2f} over the window while the accuracy reward did not: the model is "
            "learning the reward, not the task",
            "lower the auxiliary reward's weight, or check that it cannot be met without solving the problem",
            _aux_rising,
        ),
        Rule(
            "importance_ratio",
            GRPO,
            ("sampling/importance_sampling_ratio/mean",),
            0.5,
            2,
            "the sampling importance ratio's mean was {value:.3g} (outside [{threshold}, 1/{threshold}]): the "
            "rollouts were sampled from another distribution than the trainer scores",
            "sample rollouts without truncating the distribution (top_p 1.0, top_k 0, min_p 0): `make plan` says which",
            _ratio_off("sampling/importance_sampling_ratio/mean"),
        ),
        Rule(
            "loss_not_finite",
            ("sft", "grpo"),
            ("loss", "grad_norm"),
            0.0,
            1,
            "the loss or gradient norm became {value} (NaN or infinite)",
            "lower the learning rate; check bf16 against fp16 and max_grad_norm",
            _not_finite,
        ),
        Rule(
            "loss_divergence",
            ("sft",),
            ("loss",),
            3.0,
            2,
            "the loss rose to {value:.1f}x its first logged value (at or above {threshold:.0f}x): training diverges",
            "lower the learning rate (and check warmup_steps)",
            _diverging,
        ),
        Rule(
            "gradient_vanished",
            ("sft", "grpo"),
            ("grad_norm", "loss"),
            1e-8,
            3,
            "the gradient norm was {value:.2g} while the loss was not zero: the model stopped learning",
            "the weights saturated, usually after a learning rate far too high: lower it and start again",
            _vanished,
        ),
        Rule(
            "gradient_spike",
            ("sft", "grpo"),
            ("grad_norm",),
            10.0,
            5,
            "the gradient norm jumped to {value:.0f}x the median before it (at or above {threshold:.0f}x)",
            "lower the learning rate or max_grad_norm; look at the batch of that step",
            _spike,
        ),
    )
}


def evaluate(
    history: History, method: str, overrides: dict | None = None, skip: set[str] = frozenset()
) -> dict[str, Finding | None]:
    """Every rule for `method` (but those in `skip`) over the log history: its first finding, or None."""
    verdicts: dict[str, Finding | None] = {}
    for name, rule in RULES.items():
        if method not in rule.methods or name in skip:
            continue
        own = (overrides or {}).get(name) or {}
        threshold = own.get("threshold", rule.threshold)
        window = own.get("window", rule.window)
        found = rule.check(history, threshold, window)
        verdicts[name] = (
            Finding(name, found[0], found[1], rule.explain(found[0], found[1], threshold)) if found else None
        )
    return verdicts


def to_json(verdicts: dict[str, Finding | None]) -> dict[str, dict]:
    """train_summary.json's `health`: each rule checked, fired or not, its first step, value and message."""
    return {
        name: {"fired": f is not None, "step": f.step if f else None, "value": f.value if f else None}
        | ({"message": f.message} if f else {})
        for name, f in verdicts.items()
    }


def summary_line(health: dict[str, dict]) -> str:
    """`training health: 2 rule(s) fired: truncation from step 40; ...`, or that none did (from `to_json`)."""
    fired = [(name, v) for name, v in health.items() if v.get("fired")]
    if not fired:
        return f"training health: no rule fired ({len(health)} checked)"
    return f"training health: {len(fired)} rule(s) fired: " + "; ".join(
        f"{name} from step {v['step']}" for name, v in fired
    )
