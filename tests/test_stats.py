import itertools

import numpy as np
import pytest
from scipy import stats as scipy_stats

from eval.comparison.statistics import (
    compare_paired,
    holm,
    mean_and_se,
    minimum_detectable_effect,
    paired_permutation_pvalue,
    paired_t_ci,
    permutation_floor,
)
from eval.metrics import ks_for, majority_correct, pass_at_k, problem_metrics


def brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """Share of all k-subsets of the n samples that contain at least one correct sample."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize(
    ("n", "c", "k"), [(4, 0, 1), (4, 1, 1), (4, 1, 2), (8, 3, 4), (8, 8, 8), (6, 2, 5), (16, 5, 1)]
)
def test_pass_at_k_matches_enumeration(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(n, c, k))


def test_pass_at_1_is_the_share_correct():
    assert pass_at_k(16, 5, 1) == pytest.approx(5 / 16)
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)


def test_ks():
    assert ks_for(16) == [1, 2, 4, 8, 16]
    assert ks_for(6) == [1, 2, 4, 6]
    assert ks_for(1) == [1]


def test_majority_vote():
    assert majority_correct(["3", "4", "3", None], [True, False, True, False]) == 1.0
    assert majority_correct(["4", "4", "3"], [False, False, True]) == 0.0
    assert majority_correct([None, None], [False, False]) == 0.0
    # a tie goes to the answer seen first
    assert majority_correct(["5", "6", "6", "5"], [True, False, False, True]) == 1.0
    metrics = problem_metrics(["1", "2", "1", "1"], [True, False, True, True])
    assert metrics == {"pass@1": 0.75, "pass@2": 1.0, "pass@4": 1.0, "maj@4": 1.0}


def test_mean_and_se_match_scipy():
    values = np.array([0.0, 0.25, 1.0, 0.5, 0.75, 0.125])
    mean, se = mean_and_se(values)
    assert mean == pytest.approx(values.mean())
    assert se == pytest.approx(scipy_stats.sem(values))


def test_exact_permutation_matches_enumeration_and_scipy():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 5, 10) / 4
    tuned = np.clip(base + rng.choice([-0.25, 0, 0.25, 0.5], 10), 0, 1)
    diffs = tuned - base
    nz = diffs[diffs != 0]
    observed = abs(nz.sum())
    flips = [abs(np.dot(s, nz)) >= observed - 1e-12 for s in itertools.product((1, -1), repeat=len(nz))]
    expected = np.mean(flips)
    assert paired_permutation_pvalue(base, tuned) == pytest.approx(expected)
    reference = scipy_stats.permutation_test(
        (diffs,),
        lambda d: np.mean(d),
        permutation_type="samples",
        alternative="two-sided",
        n_resamples=np.inf,
    )
    assert paired_permutation_pvalue(base, tuned) == pytest.approx(reference.pvalue)


def test_permutation_on_identical_sides_is_one():
    x = np.array([0.1, 0.5, 0.9])
    assert paired_permutation_pvalue(x, x) == 1.0


def test_monte_carlo_permutation_is_close_to_scipy():
    rng = np.random.default_rng(5)
    base = rng.random(40)
    tuned = base + rng.normal(0.05, 0.2, 40)
    ours = paired_permutation_pvalue(base, tuned)
    reference = scipy_stats.permutation_test(
        (tuned - base,), np.mean, permutation_type="samples", n_resamples=20000, random_state=1
    ).pvalue
    assert ours == pytest.approx(reference, abs=0.02)


def test_exact_permutation_p_for_all_positive_diffs():
    # 5 problems all improved by the same amount: only 2 of 32 sign patterns are as extreme
    base = np.zeros(5)
    tuned = np.full(5, 0.5)
    assert paired_permutation_pvalue(base, tuned) == pytest.approx(2 / 32)
    assert permutation_floor(base, tuned) is None  # enumerated: an exact p, no floor


def test_the_interval_is_the_paired_t_interval():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 17, 30) / 16
    tuned = np.clip(base + rng.normal(0.1, 0.2, 30), 0, 1)
    low, high = paired_t_ci(base, tuned)
    # by hand: mean difference ± t(0.975, 29) × its standard error
    diffs = tuned - base
    half = scipy_stats.t.ppf(0.975, 29) * diffs.std(ddof=1) / np.sqrt(30)
    assert (low, high) == pytest.approx((diffs.mean() - half, diffs.mean() + half))
    assert paired_t_ci(np.zeros(4), np.full(4, 0.25)) == (0.25, 0.25)  # no spread


def test_the_interval_covers_a_null_effect_at_least_94_5_percent_of_the_time():
    """3,000 simulated AIME-sized compares (30 problems, 16 samples a side) with no effect: per-problem
    difficulty drawn from a U-shaped Beta (many problems always or never solved, as on AIME), both sides
    sampled from the same difficulty. The 95% interval must cover zero in at least 94.5% of them."""
    rng = np.random.default_rng(1)
    covered = 0
    trials = 3_000
    for _ in range(trials):
        p = rng.beta(0.4, 0.6, size=30)
        base, tuned = rng.binomial(16, p) / 16, rng.binomial(16, p) / 16
        low, high = paired_t_ci(base, tuned)
        covered += low <= 0 <= high
    assert covered / trials >= 0.945


def test_holm_matches_the_textbook_procedure():
    p = [0.01, 0.04, 0.03, 0.20, 0.005]
    # sorted: 0.005×5, 0.01×4, 0.03×3, 0.04×2, 0.20×1, made monotone
    assert holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.20, 0.025])
    assert holm([]) == []


def test_compare_paired_flags_significance():
    base = np.zeros(30)
    tuned = np.r_[np.ones(20), np.zeros(10)]
    result = compare_paired(base, tuned)
    assert result.delta == pytest.approx(2 / 3)
    assert result.significant and result.ci_low > 0
    noisy = compare_paired(np.r_[np.ones(3), np.zeros(27)], np.r_[np.zeros(2), np.ones(2), np.zeros(26)])
    assert not noisy.significant and noisy.p_value > 0.5
    with pytest.raises(ValueError):
        compare_paired(np.zeros(3), np.zeros(4))


def test_one_differing_problem_is_no_evidence():
    # both signs of a single difference are equally extreme: p = 1, and the compare still has a row
    assert paired_permutation_pvalue(np.array([0.5, 0.25, 1.0]), np.array([0.75, 0.25, 1.0])) == 1.0
    assert compare_paired(np.array([0.5]), np.array([0.75])).ci_low == pytest.approx(0.25)


def test_monte_carlo_permutation_counts_the_observed_pattern():
    # 30 equal improvements: no random sign pattern beats the observed one, so p = 1 / (resamples + 1)
    assert paired_permutation_pvalue(np.zeros(30), np.full(30, 0.5)) == pytest.approx(1 / 10_001)
    result = compare_paired(np.zeros(30), np.full(30, 0.5))
    assert result.p_floor == pytest.approx(1 / 10_001) and result.p_at_floor


def test_minimum_detectable_effect_has_the_promised_power():
    """A true effect of the MDE, with the observed spread, is detected by the paired t-test ~80% of the time."""
    rng = np.random.default_rng(0)
    baseline = rng.uniform(0, 1, 30)
    tuned = np.clip(baseline + rng.normal(0, 0.2, 30), 0, 1)
    mde = minimum_detectable_effect(baseline, tuned)
    diffs = tuned - baseline
    sd = diffs.std(ddof=1)
    # the textbook approximation (z_0.975 + z_0.8) * SE, a little larger for t with 29 degrees of freedom
    assert 2.80 < mde / (sd / np.sqrt(30)) < 2.95
    trials = rng.normal(mde, sd, size=(20_000, 30))
    rejected = scipy_stats.ttest_1samp(trials, 0.0, axis=1).pvalue < 0.05
    assert rejected.mean() == pytest.approx(0.80, abs=0.015)
    half = rng.normal(mde / 2, sd, size=(20_000, 30))
    assert (scipy_stats.ttest_1samp(half, 0.0, axis=1).pvalue < 0.05).mean() < 0.4


def test_minimum_detectable_effect_without_spread_is_nan():
    same = np.array([0.5, 0.25, 1.0])
    assert np.isnan(minimum_detectable_effect(same, same))
    assert np.isnan(compare_paired(same, same).mde)


def _result(task: str, scores: list[tuple[str, int, float]]):
    from eval.stores.results import ProblemRecord, SampleRecord, TaskResult

    def samples(p1: float) -> list[SampleRecord]:
        right = round(4 * p1)
        return [SampleRecord("", 1, "stop", "1", i < right) for i in range(4)]

    problems = [ProblemRecord(pid, "1", "h", samples(p1), level=level) for pid, level, p1 in scores]
    return TaskResult(task, "m", "f", {"n": 4}, "d", "t", {}, problems)


def test_level_rows_are_holm_adjusted_and_have_their_own_detectable_effect():
    from eval.comparison.pairing import compare_task

    rng = np.random.default_rng(3)
    ids = [(f"p{i}", 1 + i % 5) for i in range(100)]
    base = _result("math_500", [(pid, level, rng.integers(0, 5) / 4) for pid, level in ids])
    # level 1 improves a lot; the others not at all
    tuned = _result(
        "math_500",
        [(p.problem_id, p.level, 1.0 if p.level == 1 else p.pass1) for p in base.problems],
    )
    comparison = compare_task(base, tuned)
    task_row, *levels = comparison.rows
    assert task_row.stats.p_adjusted is None and len(levels) == 5
    raw = [r.stats.p_value for r in levels]
    assert [r.stats.p_adjusted for r in levels] == pytest.approx(holm(raw))
    assert all(r.stats.p_adjusted >= r.stats.p_value for r in levels)
    assert levels[0].stats.significant
    assert not any(r.stats.significant for r in levels[1:])
    assert all(r.stats.n_problems == 20 for r in levels)
    # each level's detectable effect is its own (20 problems), larger than the task's (100)
    finite = [r.stats.mde for r in levels if r.stats.mde == r.stats.mde]
    assert finite and all(m > task_row.stats.mde for m in finite)


def test_compare_json_is_strict_json():
    import json

    from eval.comparison.pairing import compare_task
    from recipes.files import strict_json

    same = _result("aime24", [(f"p{i}", None, 0.5) for i in range(5)])
    row = compare_task(same, same).rows[0]
    assert row.stats.mde != row.stats.mde  # NaN: no spread
    text = strict_json({"row": row.to_json(), "inf": float("inf"), "np": np.float64("nan")})

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    data = json.loads(text, parse_constant=refuse)
    assert data["row"]["mde"] is None and data["inf"] is None and data["np"] is None
