"""A fast, one-sided check in front of the grader: "these two answers are certainly different".

The reasoning analysis asks of every answer a reasoning step states whether it equals the gold, and almost all of
them are not: R1's intermediate results. math-verify decides each in milliseconds (LaTeX parsing, then sympy);
this module decides most of them in microseconds, and only one way: it evaluates both answers as arithmetic
(numbers, + - × ÷, powers, \\frac, \\sqrt, \\pi, single-letter variables at a few fixed random points) and says
"different" when their values are far apart at some point. It never says "equal": near or equal values, and
anything it cannot read (sets, intervals, text, functions, units, percentages, ambiguous notation), are left to
the grader, whose verdict is the rule. `tests/test_quick_compare.py` holds it to that against math-verify.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from recipes.protocol.unicode_math import latex_from_unicode

# Far apart: math-verify equates numbers only when they agree to about six decimal places.
RELATIVE_GAP = 1e-4
# Where single-letter variables are evaluated (away from 0 and 1, where different expressions coincide).
POINTS = ((1.37, 2.11, 1.73), (2.53, 1.29, 2.87), (1.91, 2.67, 1.49))
VARIABLES = "abcdfghjklmnpqrstuvwxyz"  # not e, i (Euler's number and the imaginary unit to sympy)

_TOKEN = re.compile(
    r"\s+|\\[,;:! ]|\\quad|\\qquad|\\left|\\right|\\dfrac|\\tfrac|\\frac|\\sqrt|\\cdot|\\times|\\div|\\pi"
    r"|\d+\.\d+|\d+|[A-Za-z]|[-+*/^(){}\[\]]|\\[A-Za-z]+|."
)
_SKIP = {"\\,", "\\;", "\\:", "\\!", "\\ ", "\\quad", "\\qquad", "\\left", "\\right"}


class Unreadable(Exception):
    """Not plain arithmetic, or written in a way two readers might read differently."""


def _tokens(text: str) -> list[str]:
    out = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token.isspace() or token in _SKIP:
            continue
        out.append(token)
    return out


class _Parser:
    """Recursive descent over the tokens into a function of the variables. Implicit products bind as tightly
    as explicit ones; a power binds tighter than both; what LaTeX readers disagree on raises Unreadable."""

    def __init__(self, tokens: list[str]):
        self.tokens, self.at = tokens, 0
        self.variables: set[str] = set()

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unreadable
        self.at += 1
        return token

    def parse(self):
        tree = self.sum()
        if self.peek() is not None:
            raise Unreadable
        return tree

    def sum(self):
        terms = [self.product()]
        while self.peek() in ("+", "-"):
            sign = self.take()
            right = self.product()
            terms.append(right if sign == "+" else ("neg", right))
        return terms[0] if len(terms) == 1 else ("add", terms)

    def product(self):
        factors = [self.unary()]
        while True:
            token = self.peek()
            if token in ("*", "\\cdot", "\\times"):
                self.take()
                factors.append(self.unary())
            elif token in ("/", "\\div"):
                self.take()
                divisor = self.unary()
                if self._starts_primary(self.peek()):
                    raise Unreadable  # a/2b: (a/2)b or a/(2b)?
                factors.append(("inv", divisor))
            elif self._starts_primary(token):
                if token[0].isdigit():
                    raise Unreadable  # "2 3", "x 3": a number after a factor, with nothing between
                factors.append(self.power())
            else:
                break
        return factors[0] if len(factors) == 1 else ("mul", factors)

    @staticmethod
    def _starts_primary(token: str | None) -> bool:
        if token is None:
            return False
        return (
            token[0].isdigit()
            or token in ("(", "{", "\\frac", "\\dfrac", "\\tfrac", "\\sqrt", "\\pi")
            or (len(token) == 1 and token.isalpha())
        )

    def unary(self):
        if self.peek() == "-":
            self.take()
            return ("neg", self.unary())
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self):
        base = self.primary()
        if self.peek() != "^":
            return base
        self.take()
        if self.peek() == "{":
            self.take()
            exponent = self.sum()
            self.take("}")
        else:
            token = self.take()
            if not (token.isdigit() and len(token) == 1) and not (len(token) == 1 and token in VARIABLES):
                raise Unreadable  # x^23, x^-1: unbraced exponents readers disagree on
            exponent = float(token) if token.isdigit() else self._variable(token)
        if self.peek() == "^":
            raise Unreadable  # 2^3^2
        return ("pow", base, exponent)

    def _variable(self, name: str):
        if name not in VARIABLES:
            raise Unreadable  # e, i and capitals: constants or other symbols to sympy
        self.variables.add(name)
        return ("var", name)

    def primary(self):
        token = self.take()
        if token[0].isdigit():
            return float(token)
        if token == "\\pi":
            return math.pi
        if len(token) == 1 and token.isalpha():
            return self._variable(token)
        if token in ("(", "{"):
            inner = self.sum()
            self.take(")" if token == "(" else "}")
            return inner
        if token in ("\\frac", "\\dfrac", "\\tfrac"):
            return ("mul", [self._group(), ("inv", self._group())])
        if token == "\\sqrt":
            degree = None
            if self.peek() == "[":
                self.take()
                degree = self.sum()
                self.take("]")
            radicand = self._group()
            return ("pow", radicand, ("inv", 2.0 if degree is None else degree))
        raise Unreadable

    def _group(self):
        self.take("{")
        inner = self.sum()
        self.take("}")
        return inner


def _value(tree, point: dict[str, float]) -> float:
    if isinstance(tree, float):
        return tree
    kind = tree[0]
    if kind == "var":
        return point[tree[1]]
    if kind == "neg":
        return -_value(tree[1], point)
    if kind == "inv":
        return 1.0 / _value(tree[1], point)
    if kind == "add":
        return math.fsum(_value(t, point) for t in tree[1])
    if kind == "mul":
        out = 1.0
        for t in tree[1]:
            out *= _value(t, point)
        return out
    base, exponent = _value(tree[1], point), _value(tree[2], point)
    if base < 0 and exponent != int(exponent):
        raise ValueError("a root of a negative number")
    return base**exponent


@lru_cache(maxsize=65_536)
def _compiled(text: str):
    """(tree, variables) of a plain-arithmetic answer; None when it is not one."""
    if "%" in text or "," in text or len(text) > 200:
        return None
    text = latex_from_unicode(text)
    try:
        parser = _Parser(_tokens(text))
        tree = parser.parse()
    except (Unreadable, RecursionError):
        return None
    return tree, frozenset(parser.variables)


_OPEN, _CLOSE = r"(?:\\left\s*)?[(\[]", r"(?:\\right\s*)?[)\]]"
_BRACKETED = re.compile(rf"^\s*{_OPEN}(.*){_CLOSE}\s*$", re.S)


def _elements(text: str) -> int:
    """How many comma-separated elements a bracketed answer holds at its top level ("(1,3]" 2, "(2)" 1)."""
    match = _BRACKETED.match(text)
    if match is None:
        return 0
    depth, count = 0, 1
    for char in match.group(1):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            count += 1
    return count


def certainly_different(answer: str, gold: str) -> bool:
    """True when both are plain arithmetic and their values are far apart at one of a few points, or when one is
    a number and the other an interval or tuple of two elements or more: math-verify would call them different.
    False means nothing: they may be equal, or this cannot tell."""
    a, g = _compiled(answer.strip()), _compiled(gold.strip())
    if (a is None) != (g is None):  # a number against an interval or a tuple is no match
        return _elements(gold if g is None else answer) >= 2
    if a is None or g is None:
        return False
    names = sorted(a[1] | g[1])
    points = POINTS if names else POINTS[:1]
    try:
        for values in points:
            point = {name: values[i % len(values)] + 0.1 * (i // len(values)) for i, name in enumerate(names)}
            x, y = _value(a[0], point), _value(g[0], point)
            if not (math.isfinite(x) and math.isfinite(y)):
                return False
            if abs(x - y) > RELATIVE_GAP * max(1.0, abs(y)):
                return True
    except (ValueError, ZeroDivisionError, OverflowError):
        return False
    return False
