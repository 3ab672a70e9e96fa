"""How precise a pass@1 estimate is, before it is run: the expected standard error for n samples per problem.

A benchmark's pass@1 is the mean over P problems of each problem's share of correct samples. Its variance
has two parts (the law of total variance for one sample, correct or not, with mean pass@1 = p):

    p (1 - p) = Var(problem pass rates)  +  E[pass rate (1 - pass rate)]
              =  rho · p (1 - p)         +  (1 - rho) · p (1 - p)

Only the second, within-problem part shrinks with n, so  SE(n) = sqrt(p (1 - p) (rho + (1 - rho) / n) / P).
rho is the share of the variance that lies between problems (the intra-class correlation of a sample's
correctness within a problem): reasoning benchmarks are strongly bimodal (a problem is mostly solved or
mostly not), so more samples stop helping early; only more problems shrink rho's part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BETWEEN_SHARE = 0.5  # planning assumption for rho when nothing has been measured


@dataclass(frozen=True)
class Precision:
    pass1: float  # the assumed pass@1
    problems: int
    n: int
    se: float  # expected standard error of pass@1 at n samples per problem
    floor: float  # its limit as n grows: the spread between problems
    halving_n: int | None  # samples per problem that halve `se`, None when no n can


def expected_pass1_se(pass1: float, problems: int, n: int, between_share: float = BETWEEN_SHARE) -> float:
    variance = pass1 * (1 - pass1) * (between_share + (1 - between_share) / n)
    return math.sqrt(variance / problems)


def precision(pass1: float, problems: int, n: int, between_share: float = BETWEEN_SHARE) -> Precision:
    se = expected_pass1_se(pass1, problems, n, between_share)
    floor = math.sqrt(pass1 * (1 - pass1) * between_share / problems)
    # SE(m) = SE(n) / 2  <=>  rho + (1 - rho) / m = (rho + (1 - rho) / n) / 4
    target = (between_share + (1 - between_share) / n) / 4 - between_share
    halving = math.ceil((1 - between_share) / target) if target > 0 and between_share < 1 else None
    return Precision(pass1, problems, n, se, floor, halving)
