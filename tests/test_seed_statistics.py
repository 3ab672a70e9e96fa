"""The method delta over training seeds and the selection-adjusted p, checked by simulation and against statsmodels.

The coverage simulations follow tests/test_stats.py: AIME-sized compares (30 problems, 16 samples each) where the
truth is known. Training runs: each seed shifts the tuned model's logit by a draw of the seed-to-seed spread, and
the baseline's pass rate is the mean over seeds, so the method has no effect while every single run has one.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from eval.comparison.seeds import mean_squares, method_delta
from eval.comparison.selection import adjust_selection, max_statistic_p
from eval.comparison.statistics import compare_paired, paired_t_ci

PROBLEMS, SAMPLES = 30, 16
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
WEIGHTS = WEIGHTS / WEIGHTS.sum()


def seeded_compare(rng, runs: int, run_spread: float, interaction: float = 0.15):
    """One compare: per-problem pass@1 of the baseline (n) and of `runs` seeds (runs x n), no method effect."""
    difficulty = rng.normal(-0.5, 1.5, PROBLEMS)
    spread = np.hypot(run_spread, interaction)
    p_base = (special.expit(difficulty[:, None] + spread * NODES[None, :]) * WEIGHTS).sum(axis=1)
    shift = rng.normal(0, run_spread, runs)[:, None] + rng.normal(0, interaction, (runs, PROBLEMS))
    base = rng.binomial(SAMPLES, p_base) / SAMPLES
    tuned = rng.binomial(SAMPLES, special.expit(difficulty[None, :] + shift)) / SAMPLES
    return base, tuned


def test_mean_squares_are_statsmodels_two_way_anova():
    pd = pytest.importorskip("pandas")
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    rng = np.random.default_rng(3)
    d = rng.normal(size=(12, 4)) + rng.normal(size=4)[None, :]
    frame = pd.DataFrame(
        [(str(i), str(r), d[i, r]) for i in range(12) for r in range(4)], columns=["problem", "run", "d"]
    )
    table = anova_lm(ols("d ~ C(problem) + C(run)", data=frame).fit())
    ms_p, ms_r, ms_e = mean_squares(d)
    assert ms_p == pytest.approx(table.loc["C(problem)", "mean_sq"])
    assert ms_r == pytest.approx(table.loc["C(run)", "mean_sq"])
    assert ms_e == pytest.approx(table.loc["Residual", "mean_sq"])


def test_one_run_is_todays_paired_t_interval():
    rng = np.random.default_rng(4)
    base, tuned = seeded_compare(rng, 1, 0.25)
    method = method_delta(base, tuned)
    assert (method.ci_low, method.ci_high) == pytest.approx(paired_t_ci(base, tuned[0]))
    assert method.run_share == 0 and np.isnan(method.between_run_sd)


def test_the_method_interval_covers_no_effect_under_seed_spread_where_one_runs_does_not():
    """Seeds with a spread of about 5 points of AIME pass@1 between runs (arXiv 2504.07086 reports several):
    three seeds' method interval covers the true zero at its level; a single run's interval does not."""
    rng = np.random.default_rng(0)
    trials = 4000
    method_cover = single_cover = 0
    spreads = []
    for _ in range(trials):
        base, tuned = seeded_compare(rng, runs=3, run_spread=0.25)
        method = method_delta(base, tuned)
        method_cover += method.covers_zero
        spreads.append(method.between_run_sd)
        low, high = paired_t_ci(base, tuned[0])
        single_cover += low <= 0 <= high
    assert 0.03 < float(np.median(spreads)) < 0.06  # the runs' deltas differ by about 4 points
    assert method_cover / trials >= 0.945, method_cover / trials
    assert single_cover / trials < 0.8, single_cover / trials


def test_without_seed_spread_the_method_interval_stays_near_its_level():
    rng = np.random.default_rng(1)
    trials = 2000
    cover = sum(method_delta(*seeded_compare(rng, runs=3, run_spread=0.0)).covers_zero for _ in range(trials))
    assert 0.945 <= cover / trials <= 0.99


def test_picking_the_best_of_k_checkpoints_on_the_test_set_is_adjusted_back_to_five_percent():
    """K=8 checkpoints of one run (consecutive ones share most of their answers) with no real effect: the best
    one's own p is below 0.05 far more than 5% of the time; the max-statistic p about 5%."""
    rng = np.random.default_rng(2)
    trials, k, keep = 1500, 8, 0.3
    naive = adjusted = 0
    optimism = []
    for _ in range(trials):
        p = special.expit(rng.normal(-0.5, 1.5, PROBLEMS))
        base = rng.binomial(1, p[:, None], (PROBLEMS, SAMPLES)).mean(axis=1)
        samples = rng.binomial(1, p[:, None], (PROBLEMS, SAMPLES))
        checkpoints = []
        for _ in range(k):  # each checkpoint keeps 30% of the previous one's answers
            fresh = rng.binomial(1, p[:, None], (PROBLEMS, SAMPLES))
            samples = np.where(rng.random((PROBLEMS, SAMPLES)) < keep, samples, fresh)
            checkpoints.append(samples.mean(axis=1))
        scores = np.stack(checkpoints)
        best = int(np.argmax(scores.mean(axis=1)))
        own, adj, expected = max_statistic_p(
            base, scores, best, resamples=999, seed=int(rng.integers(1 << 30))
        )
        naive += own < 0.05
        adjusted += adj < 0.05
        optimism.append(expected)
    assert naive / trials > 0.085, naive / trials
    assert adjusted / trials <= 0.065, adjusted / trials
    assert float(np.mean(optimism)) > 0.01  # a best-of-8 pick shows a gain with nothing there


def test_the_chosen_checkpoints_own_p_is_the_paired_permutation_test():
    rng = np.random.default_rng(5)
    base, tuned = seeded_compare(rng, runs=3, run_spread=0.3)
    adjustment = adjust_selection(
        "aime24", base, {f"checkpoint-{i}": t for i, t in enumerate(tuned)}, "checkpoint-1"
    )
    reference = compare_paired(base, tuned[1]).p_value
    assert adjustment.naive_p == pytest.approx(reference, abs=0.02)
    assert adjustment.adjusted_p >= adjustment.naive_p
