"""N-gram overlap between evaluation problems and training text, on normalised words.

The measure follows open-r1's decontamination (after s1): lower-cased word 8-grams; a problem counts as seen
in training when any of its 8-grams appears in a training problem. Normalisation here goes further so that
near-copies match: Unicode is NFKC-folded, LaTeX spacing and sizing commands (``\\,``, ``\\left``,
``\\displaystyle`` ...) and math delimiters are dropped, ``\\dfrac``/``\\tfrac`` read as ``\\frac``, and text is
split into runs of letters and runs of digits, so ``$x^{2}+3x$``, ``$x^2 + 3 x$`` and ``X^2+3X`` are the same
words (x 2 3 x). A problem shorter than n words counts as seen when all its words appear in a row, in order.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

NGRAM = 8

_LATEX_NOISE = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|displaystyle|textstyle|quad|qquad|mathrm|text|operatorname)"
    r"(?![a-zA-Z])|\\[,;:! ]"
)
_LATEX_ALIASES = re.compile(r"\\[dt](frac|binom)(?![a-zA-Z])")
_WORD = re.compile(r"[^\W\d_]+|\d+")
_ASCII_WORD = re.compile(r"[a-z]+|[0-9]+")  # the same on ASCII text, and faster


def words(text: str) -> list[str]:
    """The normalised words of `text`: letters and digits only, lower case, LaTeX layout removed."""
    ascii_only = text.isascii()
    if not ascii_only:
        text = unicodedata.normalize("NFKC", text)
    text = _LATEX_ALIASES.sub(r"\\\1", text)
    text = _LATEX_NOISE.sub(" ", text)
    return (_ASCII_WORD if ascii_only else _WORD).findall(text.lower())


def ngrams(tokens: list[str], n: int = NGRAM) -> list[tuple[str, ...]]:
    if len(tokens) < n:  # a short problem is one "n-gram": all of it
        return [tuple(tokens)] if tokens else []
    return list(zip(*(tokens[i:] for i in range(n)), strict=False))


@dataclass
class Match:
    problem: int  # index into the problems given to the index
    grams: set[tuple[str, ...]] = field(default_factory=set)  # the problem's n-grams found in training
    first_row: int = -1  # the first training row that holds one

    def overlap(self, total: int) -> float:
        return len(self.grams) / total if total else 0.0


class OverlapIndex:
    """The n-grams of a set of evaluation problems, to scan training text against."""

    def __init__(self, problems: list[str], n: int = NGRAM):
        self.n = n
        self.grams_per_problem: list[int] = []
        self._owners: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for index, text in enumerate(problems):
            grams = set(ngrams(words(text), n))
            self.grams_per_problem.append(len(grams))
            for gram in grams:
                self._owners[gram].append(index)
        # lengths to look for in training text: n, and each short problem's own length
        self._lengths = sorted({len(g) for g in self._owners})

    def scan(self, rows: Iterable[str]) -> dict[int, Match]:
        """Every problem with an n-gram in `rows`, with what matched and the first row that matched."""
        owners, matches = self._owners, {}
        keys = owners.keys()
        for row_index, text in enumerate(rows):
            tokens = words(text)
            for length in self._lengths:
                if len(tokens) < length:
                    continue
                # the row's n-grams built and intersected in C (zip, set &): most rows share none
                for gram in keys & set(zip(*(tokens[i:] for i in range(length)), strict=False)):
                    for problem in owners[gram]:
                        match = matches.get(problem)
                        if match is None:
                            match = matches[problem] = Match(problem, first_row=row_index)
                        match.grams.add(gram)
        return matches
