"""The first step of a reasoning that states the gold answer, found at about the cost of grading.

The rule is the answer kind's (`step_reaches`: for math, a step reaches the gold when one of the answers it states,
a box, the right-hand side of an `=` or "the answer is X", is graded equal to it). What is new is how the work is
done, with the same verdicts:
- per problem, each distinct candidate is decided once: a problem's samples pass through the same intermediate
  results, and a sample repeats its own;
- cheap before expensive: two plain numbers are compared as numbers (as the rule always did), a candidate
  written as the gold is written is equal (the grader's own first test), and two answers whose values as
  arithmetic are far apart are different (recipes.protocol.quick_compare, held to math-verify's verdicts by a
  test); only what is left goes to math-verify;
- a bound on the work per sample: after MAX_CHECKS math-verify decisions a sample's search stops, and the sample
  counts as cut (reported), so a degenerate 1,000-step trace costs milliseconds, not seconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from recipes.protocol.answer_kinds import ANSWER_KINDS, number_or_none, step_candidates
from recipes.protocol.grader import grade, same_as_written
from recipes.protocol.quick_compare import certainly_different


@lru_cache(maxsize=64)
def _letter(gold: str) -> re.Pattern:
    """The gold's letter standing alone, as the letter rule can read it (either case, full-width too): a step
    without it cannot name the gold."""
    letter = gold.strip()[:1]
    wide = chr(ord(letter.upper()) + 0xFEE0) + chr(ord(letter.lower()) + 0xFEE0) if letter.isalpha() else ""
    return re.compile(rf"(?<![A-Za-z])[{re.escape(letter.upper() + letter.lower() + wide)}](?![A-Za-z])")


# math-verify decisions one sample may make before its search stops (a typical sample needs far fewer: most of
# its candidates are numbers, or already decided for the problem)
MAX_CHECKS = 48


@dataclass
class FirstCorrect:
    """The search for one problem: its gold, and what has been decided about candidates so far."""

    gold: str
    kind: str
    choices: tuple[str, ...] = ()
    max_checks: int = MAX_CHECKS
    decided: dict[str, bool] = field(default_factory=dict)
    checks: int = 0  # math-verify decisions made for this problem

    def __post_init__(self) -> None:
        self.gold_number = number_or_none(self.gold)

    def find(self, steps: Sequence[str]) -> tuple[int | None, bool]:
        """(the index of the first step that reaches the gold, or None; whether the search was cut)."""
        if self.kind != "math":  # letters: the rule's regexes, on the steps where the gold's letter stands
            reaches = ANSWER_KINDS[self.kind].step_reaches
            named = _letter(self.gold)
            return next(
                (i for i, s in enumerate(steps) if named.search(s) and reaches(s, self.gold, self.choices)),
                None,
            ), False
        budget = self.max_checks
        for index, step in enumerate(steps):
            for candidate in step_candidates(step):
                verdict = self.decided.get(candidate)
                if verdict is None:
                    verdict = self._cheap(candidate)
                    if verdict is None:
                        if budget == 0:
                            return None, True
                        budget -= 1
                        self.checks += 1
                        verdict = grade(f"\\boxed{{{candidate}}}", self.gold, "math", thinking=False).correct
                    self.decided[candidate] = verdict
                if verdict:
                    return index, False
        return None, False

    def _cheap(self, candidate: str) -> bool | None:
        number = number_or_none(candidate)
        if self.gold_number is not None and number is not None:
            # plain numbers on both sides (all of AIME): the rule compares them directly, never math-verify
            return abs(number - self.gold_number) <= 1e-9 * max(1.0, abs(self.gold_number))
        if same_as_written(candidate, self.gold):
            return True
        if certainly_different(candidate, self.gold):
            return False  # far apart as arithmetic: math-verify would say so, in milliseconds
        return None
