"""Statistics for before/after comparisons on small benchmarks, through scipy.stats.

The unit is the problem, not the sample: AIME has 30 problems, and 16 samples of each shrink the noise of
each problem's pass@1 but not the luck of which 30 problems were set. Baseline and tuned model answer the
same problems, so the comparison is paired: the interval, the test and the detectable effect all work on
the per-problem differences tuned - baseline.

The interval is the paired t interval (scipy.stats.ttest_rel). Its coverage was checked by simulation
(tests/test_stats.py: thousands of AIME-sized compares with no effect, 30 problems of 16 samples): about
95.5%, where the percentile bootstrap covered about 93.5% and BCa about 92.7% (both too narrow at 30
problems). The detectable effect uses the same t distribution. Sub-rows of one task (MATH-500's levels) are
a family of comparisons: their p values are Holm-adjusted (statsmodels) before any is called significant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

PERMUTATION_RESAMPLES = 10_000
EXACT_PERMUTATION_LIMIT = 16  # up to 2**16 sign patterns are enumerated exactly
MDE_POWER = 0.8
MDE_ALPHA = 0.05


@dataclass(frozen=True)
class PairedComparison:
    n_problems: int
    baseline_mean: float
    baseline_se: float
    tuned_mean: float
    tuned_se: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    mde: float  # minimum detectable effect (a difference of means), see minimum_detectable_effect
    # the smallest p the test could report: 1/(R+1) for R random sign patterns; None when the test was exact
    p_floor: float | None = None
    # Holm-adjusted p within a family of sub-rows (MATH-500's levels); None for a task's own row
    p_adjusted: float | None = None

    @property
    def p_at_floor(self) -> bool:
        return self.p_floor is not None and self.p_value <= self.p_floor

    @property
    def significant(self) -> bool:
        """The paired permutation test's p is below 5% (for a sub-row of a family, its Holm-adjusted p): one
        rule for every row. The exact test, not the t interval, decides: with few problems that differ the
        interval can exclude zero while no sign pattern test would."""
        return (self.p_adjusted if self.p_adjusted is not None else self.p_value) < MDE_ALPHA


def mean_and_se(values: np.ndarray) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()) if len(values) else float("nan"), float("nan")
    return float(values.mean()), float(stats.sem(values))


def paired_t_ci(baseline: np.ndarray, tuned: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The paired t interval for mean(tuned - baseline) (scipy.stats.ttest_rel)."""
    baseline, tuned = np.asarray(baseline, dtype=float), np.asarray(tuned, dtype=float)
    diffs = tuned - baseline
    if len(diffs) < 2 or np.all(diffs == diffs[0]):  # no spread: the interval is the one difference
        return float(diffs.mean()), float(diffs.mean())
    interval = stats.ttest_rel(tuned, baseline).confidence_interval(confidence_level=confidence)
    return float(interval.low), float(interval.high)


def permutation_floor(
    baseline: np.ndarray, tuned: np.ndarray, resamples: int = PERMUTATION_RESAMPLES
) -> float | None:
    """1/(R+1) when the permutation test draws R random sign patterns; None when it enumerates them all."""
    diffs = np.asarray(tuned, dtype=float) - np.asarray(baseline, dtype=float)
    return None if np.count_nonzero(diffs) <= EXACT_PERMUTATION_LIMIT else 1 / (resamples + 1)


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p values of a family of comparisons (statsmodels.stats.multitest)."""
    from statsmodels.stats.multitest import multipletests

    if not p_values:
        return []
    return [float(p) for p in multipletests(p_values, alpha=MDE_ALPHA, method="holm")[1]]


def paired_permutation_pvalue(
    baseline: np.ndarray, tuned: np.ndarray, resamples: int = PERMUTATION_RESAMPLES, seed: int = 0
) -> float:
    """Two-sided p-value of a paired permutation (sign-flip) test of mean(tuned - baseline) = 0.

    Under the null the two sides are exchangeable within each problem, so each difference's sign is a
    coin flip. Problems with no difference carry no information and are left out; with at most
    EXACT_PERMUTATION_LIMIT differences left, every sign pattern is enumerated (an exact test), otherwise
    random patterns are drawn (scipy counts the observed one, so the estimate is never 0).
    """
    diffs = np.asarray(tuned, dtype=float) - np.asarray(baseline, dtype=float)
    nonzero = diffs[diffs != 0]
    if len(nonzero) < 2:  # no difference, or one whose two signs are equally extreme
        return 1.0
    exact = len(nonzero) <= EXACT_PERMUTATION_LIMIT
    # |mean| with "greater": the share of sign patterns at least as extreme either way, which for random
    # patterns is (count + 1) / (resamples + 1)
    result = stats.permutation_test(
        (nonzero,),
        lambda d, axis: np.abs(np.mean(d, axis=axis)),
        permutation_type="samples",
        alternative="greater",
        vectorized=True,
        n_resamples=np.inf if exact else resamples,
        rng=None if exact else np.random.default_rng(seed),
    )
    return float(result.pvalue)


def minimum_detectable_effect(
    baseline: np.ndarray, tuned: np.ndarray, power: float = MDE_POWER, alpha: float = MDE_ALPHA
) -> float:
    """The smallest true mean difference that a two-sided paired t-test at level `alpha` would detect with
    probability `power`, given the observed spread of the per-problem differences.

    The test statistic is noncentral t with n-1 degrees of freedom and noncentrality delta / SE; the
    noncentrality whose power is `power` is found with scipy (stats.nct, optimize.brentq). NaN when the
    differences have no spread (every problem scored the same on both sides), where there is nothing to go on.
    """
    diffs = np.asarray(tuned, dtype=float) - np.asarray(baseline, dtype=float)
    n = len(diffs)
    if n < 2:
        return float("nan")
    se = float(np.std(diffs, ddof=1)) / np.sqrt(n)
    if se == 0:
        return float("nan")
    df = n - 1
    critical = stats.t.ppf(1 - alpha / 2, df)

    def power_at(noncentrality: float) -> float:
        return float(
            stats.nct.sf(critical, df, noncentrality) + stats.nct.cdf(-critical, df, noncentrality) - power
        )

    high = critical + 3.0  # power is above 80% here for any df >= 2; widen for smaller samples
    while power_at(high) < 0 and high < 1e3:
        high *= 1.5
    if not power_at(high) >= 0:  # NaN from scipy far in the tail: no useful answer
        return float("nan")
    try:
        return float(optimize.brentq(power_at, 0.0, high)) * se
    except ValueError:  # scipy's noncentral t gives NaN on the way (1 or 2 problems)
        return float("nan")


def compare_paired(baseline: np.ndarray, tuned: np.ndarray, seed: int = 0) -> PairedComparison:
    baseline = np.asarray(baseline, dtype=float)
    tuned = np.asarray(tuned, dtype=float)
    if baseline.shape != tuned.shape or baseline.ndim != 1 or len(baseline) == 0:
        raise ValueError("paired comparison needs two equal-length, non-empty vectors of per-problem scores")
    b_mean, b_se = mean_and_se(baseline)
    t_mean, t_se = mean_and_se(tuned)
    low, high = paired_t_ci(baseline, tuned)
    return PairedComparison(
        n_problems=len(baseline),
        baseline_mean=b_mean,
        baseline_se=b_se,
        tuned_mean=t_mean,
        tuned_se=t_se,
        delta=t_mean - b_mean,
        ci_low=low,
        ci_high=high,
        p_value=paired_permutation_pvalue(baseline, tuned, seed=seed),
        mde=minimum_detectable_effect(baseline, tuned),
        p_floor=permutation_floor(baseline, tuned),
    )
