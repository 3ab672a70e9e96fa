"""The method's effect, not one run's: training seeds in the interval.

R training runs of one recipe that differ only in their seed answer the same n problems. The per-problem
difference of run r, d_ir = tuned_ir - baseline_i, is read as a two-way crossed random-effects model,

    d_ir = mu + p_i + s_r + e_ir,

with p_i the problem (which problems were set), s_r the run (seed-to-seed spread of training) and e_ir the rest
(sampling, and how a run fares on a problem). The method delta is the grand mean; its variance is
sigma_p^2/n + sigma_s^2/R + sigma_e^2/(nR), estimated from the two-way ANOVA's mean squares as
(MS_problems + MS_runs) / (nR), which overstates it by MS_residual/(nR) (the unbiased difference of mean squares
covered 94.8% where this covers 95.2%, in the simulation below), and the interval is a t interval with
Satterthwaite's degrees of freedom. With one run it is exactly today's paired t interval; with a
few runs and real seed spread the degrees of freedom fall towards R - 1 and the interval widens, as it should:
three runs say little about the spread of a fourth.

Why this and not a bootstrap over runs and problems: with 2 to 5 runs a bootstrap over runs cannot see more
spread than the runs it has (it shrinks the run variance by (R-1)/R and draws from 3 values), and it covered
below its level in simulation; the ANOVA interval's coverage is checked in tests/test_seed_statistics.py
(no method effect, real seed spread: it covers zero in at least 94.5% of simulated compares, while one run's
interval does not). The mean squares are checked against statsmodels' `anova_lm`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from eval.comparison.pairing import paired_problems
from eval.comparison.statistics import compare_paired
from eval.stores.results import TaskResult


@dataclass(frozen=True)
class MethodDelta:
    n_problems: int
    n_runs: int
    delta: float  # mean over runs and problems of tuned - baseline
    ci_low: float
    ci_high: float
    df: float  # Satterthwaite's degrees of freedom of the interval
    run_deltas: list[float]  # each run's own delta (mean over problems)
    between_run_sd: float  # standard deviation of the runs' deltas (NaN with one run)
    run_share: float  # the share of the delta's variance that is run-to-run spread (0 with one run)
    se: float

    @property
    def covers_zero(self) -> bool:
        return self.ci_low <= 0 <= self.ci_high


def mean_squares(differences: np.ndarray) -> tuple[float, float, float]:
    """The two-way ANOVA's mean squares (problems, runs, residual) of an n x R table with one value per cell."""
    d = np.asarray(differences, dtype=float)
    n, runs = d.shape
    grand = d.mean()
    problem_means, run_means = d.mean(axis=1), d.mean(axis=0)
    ms_problems = runs * float(np.sum((problem_means - grand) ** 2)) / (n - 1) if n > 1 else 0.0
    ms_runs = n * float(np.sum((run_means - grand) ** 2)) / (runs - 1) if runs > 1 else 0.0
    residual = d - problem_means[:, None] - run_means[None, :] + grand
    cells = (n - 1) * (runs - 1)
    ms_residual = float(np.sum(residual**2)) / cells if cells else 0.0
    return ms_problems, ms_runs, ms_residual


def method_delta(baseline: np.ndarray, tuned: np.ndarray, confidence: float = 0.95) -> MethodDelta:
    """The method delta of R runs (`tuned`: R x n per-problem scores) against one baseline (n scores)."""
    baseline = np.asarray(baseline, dtype=float)
    tuned = np.atleast_2d(np.asarray(tuned, dtype=float))
    if tuned.shape[1] != len(baseline) or len(baseline) < 2:
        raise ValueError("method_delta needs R x n tuned scores over the baseline's n >= 2 problems")
    d = (tuned - baseline[None, :]).T  # n x R
    n, runs = d.shape
    ms_p, ms_r, ms_e = mean_squares(d)
    if runs == 1:  # no run term: the paired t interval over problems
        variance, df = ms_p / n, float(n - 1)
    else:
        # MS_problems/(nR) + MS_runs/(nR) overstates the variance by MS_residual/(nR) (small: the residual is
        # averaged over every cell); subtracting it, as the unbiased estimate does, gives a difference of mean
        # squares, for which Satterthwaite's degrees of freedom are less reliable, and an interval that covered
        # 94.8% where this one covers 95.2% (3 runs, tests/test_seed_statistics.py's model). Both undercover when
        # the seed spread dominates and there are few runs (about 93.7% with 3): R - 1 degrees of freedom say
        # little about a fourth run.
        variance = (ms_p + ms_r) / (n * runs)
        denominator = ms_p**2 / (n - 1) + ms_r**2 / (runs - 1)
        df = (ms_p + ms_r) ** 2 / denominator if denominator > 0 else float(n * runs - 1)
    delta = float(d.mean())
    se = float(np.sqrt(max(variance, 0.0)))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se if se > 0 else 0.0
    run_deltas = [float(x) for x in d.mean(axis=0)]
    run_variance = max(ms_r - ms_e, 0.0) / (n * runs) if runs > 1 else 0.0
    return MethodDelta(
        n_problems=n,
        n_runs=runs,
        delta=delta,
        ci_low=delta - half,
        ci_high=delta + half,
        df=float(df),
        run_deltas=run_deltas,
        between_run_sd=float(np.std(run_deltas, ddof=1)) if runs > 1 else float("nan"),
        run_share=float(run_variance / variance) if variance > 0 else 0.0,
        se=se,
    )


@dataclass(frozen=True)
class RunDelta:
    label: str  # seed-<s>
    delta: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class MethodTask:
    """One task's runs (each against the baseline, as the table compares one) and the method row over them."""

    task: str
    runs: list[RunDelta]
    method: MethodDelta


def method_task(baseline: TaskResult, runs: dict[str, TaskResult]) -> MethodTask | None:
    """Each run's paired comparison and the method delta, on the problems every run and the baseline answered;
    None when fewer than two problems are common to all (no spread to estimate)."""
    common = set.intersection(*({p.problem_id for p in r.problems} for r in runs.values()))
    base = [p for p in baseline.problems if p.problem_id in common]
    if len(base) < 2:
        return None
    scores = []
    deltas = []
    for label, result in runs.items():
        _, tuned = paired_problems(base, result.problems)
        b, t = np.array([p.pass1 for p in base]), np.array([p.pass1 for p in tuned])
        one = compare_paired(b, t)
        deltas.append(RunDelta(label, one.delta, one.ci_low, one.ci_high, one.p_value))
        scores.append(t)
    return MethodTask(
        baseline.task, deltas, method_delta(np.array([p.pass1 for p in base]), np.stack(scores))
    )
