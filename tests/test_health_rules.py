"""The health rules on recorded log histories (trainer_state.json's log_history, TRL 1.16's keys): each fires at the
step its condition starts to hold, with a message naming it, and a healthy history fires none."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from recipes.health import RULES, evaluate, summary_line, to_json
from recipes.loader import load_recipe

FIXTURES = Path(__file__).parent / "fixtures"


def grpo_history(steps: int = 30, **series) -> list[dict]:
    """A GRPO run logging every 2 steps: healthy values unless a series (a function of the log index) says
    otherwise."""
    healthy = {
        "loss": lambda i: 0.01,
        "grad_norm": lambda i: 0.5 + 0.01 * (i % 3),
        "reward": lambda i: 0.3 + 0.01 * i,
        "frac_reward_zero_std": lambda i: 0.2,
        "completions/clipped_ratio": lambda i: 0.05,
        "completions/mean_length": lambda i: 40.0,
        "entropy": lambda i: 0.8,
        "sampling/importance_sampling_ratio/mean": lambda i: 1.0,
        "rewards/accuracy/mean": lambda i: 0.3 + 0.01 * i,
        "rewards/format/mean": lambda i: 0.5,
    }
    healthy.update(series)
    return [{"step": 2 * (i + 1), **{k: f(i) for k, f in healthy.items()}} for i in range(steps)]


def fired(history, method="grpo", **overrides):
    return {name: f for name, f in evaluate(history, method, overrides).items() if f}


def test_a_healthy_grpo_history_fires_nothing():
    assert fired(grpo_history()) == {}


@pytest.mark.parametrize(
    ("rule", "series", "step"),
    [
        ("no_signal", {"frac_reward_zero_std": lambda i: 1.0 if i >= 10 else 0.2}, 22),
        ("truncation", {"completions/clipped_ratio": lambda i: 0.7 if i >= 5 else 0.1}, 12),
        ("length_collapse", {"completions/mean_length": lambda i: 5.0 if i >= 15 else 40.0}, 32),
        ("length_explosion", {"completions/mean_length": lambda i: 200.0 if i >= 15 else 40.0}, 32),
        ("entropy_collapse", {"entropy": lambda i: 0.02 if i >= 20 else 0.8}, 42),
        ("kl_blowup", {"kl": lambda i: 2.0 if i >= 8 else 0.01}, 18),
        (
            "importance_ratio",
            {"sampling/importance_sampling_ratio/mean": lambda i: 2e-6 if i >= 3 else 1.0},
            8,
        ),
        ("loss_not_finite", {"loss": lambda i: math.nan if i >= 12 else 0.01}, 26),
        ("gradient_spike", {"grad_norm": lambda i: 80.0 if i == 14 else 0.5}, 30),
        (
            "auxiliary_reward_rising",
            {"rewards/format/mean": lambda i: 0.1 + 0.05 * i, "rewards/accuracy/mean": lambda i: 0.3},
            22,
        ),
    ],
)
def test_each_rule_fires_where_its_condition_starts(rule, series, step):
    found = fired(grpo_history(**series))
    assert set(found) == {rule}, found
    assert found[rule].step == step and found[rule].message.startswith(f"{rule} from step {step}:")
    assert RULES[rule].change in found[rule].message  # says what to change


def test_thresholds_and_windows_come_from_the_recipe():
    history = grpo_history(**{"completions/clipped_ratio": lambda i: 0.6})
    assert "truncation" in fired(history)
    assert "truncation" not in fired(history, truncation={"threshold": 0.7})
    late = grpo_history(**{"completions/clipped_ratio": lambda i: 0.6 if i >= 25 else 0.1})
    assert "truncation" not in fired(late, truncation={"window": 6})
    recipe = load_recipe(
        Path(__file__).parents[1] / "recipes" / "smoke" / "grpo.yaml",
        check_paths=False,
        overrides=["train.health.rules={truncation: {threshold: 0.7}}", "train.health.stop_on=[no_signal]"],
    )
    assert recipe.train.health.rules["truncation"].threshold == 0.7


def test_sft_runs_are_watched_by_the_rules_that_apply_to_them():
    history = [{"step": s, "loss": 1.0 / s, "grad_norm": 1.0} for s in range(1, 20)]
    assert set(evaluate(history, "sft")) == {
        "loss_not_finite",
        "gradient_spike",
        "loss_divergence",
        "gradient_vanished",
    }
    assert fired(history, "sft") == {}
    history[12]["loss"] = math.inf
    assert set(fired(history, "sft")) == {"loss_not_finite"}


def test_a_learning_rate_far_too_high_diverges_or_kills_the_gradient():
    """Recorded from the tiny model's SFT at learning rates 30 and 1000 (12 steps, logging every step)."""
    diverging = [
        (6.08, 8.61),
        (33888.6, 5048.8),
        (42127.5, 3850.8),
        (71997.2, 56780.7),
        (100733.3, 832909.8),
        (112027.4, 2402479.8),
        (117967.7, 5149635.0),
    ]
    found = fired(
        [{"step": i + 1, "loss": loss, "grad_norm": g} for i, (loss, g) in enumerate(diverging)], "sft"
    )
    assert found["loss_divergence"].step == 2 and found["gradient_spike"].step == 6
    dead = [{"step": 1, "loss": 6.08, "grad_norm": 8.61}] + [
        {"step": s, "loss": 6.18, "grad_norm": 0.0} for s in range(2, 13)
    ]
    assert (
        set(fired(dead, "sft")) == {"gradient_vanished"} and fired(dead, "sft")["gradient_vanished"].step == 2
    )


def test_the_summary_and_its_line():
    health = to_json(evaluate(grpo_history(**{"completions/clipped_ratio": lambda i: 0.9}), "grpo"))
    assert health["truncation"]["fired"] and health["truncation"]["step"] == 2
    assert not health["no_signal"]["fired"] and health["no_signal"]["step"] is None
    json.dumps(health)  # strict JSON for train_summary.json
    assert summary_line(health) == "training health: 1 rule(s) fired: truncation from step 2"
    assert summary_line(to_json(evaluate(grpo_history(), "grpo"))).startswith(
        "training health: no rule fired"
    )
