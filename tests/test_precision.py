import numpy as np
import pytest

from recipes import load_recipe
from recipes.protocol.precision import expected_pass1_se, precision
from train.plan.build import build_plan


@pytest.mark.parametrize(("pass1", "rho", "n"), [(0.289, 0.5, 16), (0.84, 0.2, 4), (0.5, 0.05, 2)])
def test_expected_se_matches_simulated_benchmarks(pass1, rho, n):
    """Problems whose pass rates are Beta-distributed with intra-class correlation rho (a + b = 1/rho - 1):
    the spread of pass@1 over many simulated 30-problem benchmarks is the formula's standard error."""
    rng = np.random.default_rng(0)
    a_plus_b = 1 / rho - 1
    rates = rng.beta(pass1 * a_plus_b, (1 - pass1) * a_plus_b, size=(40_000, 30))
    estimates = (rng.binomial(n, rates) / n).mean(axis=1)
    assert estimates.std() == pytest.approx(expected_pass1_se(pass1, 30, n, rho), rel=0.03)


def test_halving_n_halves_the_standard_error():
    p = precision(0.5, 30, 2, between_share=0.05)
    assert p.halving_n is not None
    assert expected_pass1_se(0.5, 30, p.halving_n, 0.05) <= p.se / 2
    assert expected_pass1_se(0.5, 30, p.halving_n - 1, 0.05) > p.se / 2
    # mostly between problems: no number of samples gets there
    assert precision(0.289, 30, 16, between_share=0.5).halving_n is None


def test_plan_states_the_expected_standard_error():
    recipe = load_recipe("recipes/deepseek-r1-distill-qwen-1.5b/grpo-math.yaml", check_paths=False)
    plan = build_plan(recipe, None, train=False)
    lines = dict(plan.evaluation)
    assert lines["aime24 precision"].startswith("n=16: SE of pass@1 about ±6.0 points over 30 problems")
    assert "n=64 halves the sampling part" in lines["aime24 precision"]
    assert "28.9%" in lines["(precision)"]
