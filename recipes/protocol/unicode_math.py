"""Unicode math as LaTeX, for the parser: R1-style models write `30°`, `√2/2`, `x²`, `−5`, `2×3`, `4π` after
their thinking, and math-verify's LaTeX parser reads none of these as the mathematics they are.

Only the text handed to the parser is rewritten; where an answer was found in the response is unchanged.
"""

from __future__ import annotations

import re
import unicodedata

_SYMBOLS = {
    "−": "-",  # minus sign
    "–": "-",  # en dash used as a minus before a digit is handled below; elsewhere it stays
    "×": r" \times ",
    "·": r" \cdot ",
    "⋅": r" \cdot ",
    "÷": r" \div ",
    "π": r"\pi ",
    "∞": r"\infty ",
    "≤": r" \le ",
    "≥": r" \ge ",
    "≠": r" \ne ",
    "±": r" \pm ",
    "∓": r" \mp ",
    "∪": r" \cup ",
    "∩": r" \cap ",
    "∈": r" \in ",
    "°": r"^\circ",
    "θ": r"\theta ",
    "α": r"\alpha ",
    "β": r"\beta ",
}
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ"
_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎"
_FRACTIONS = "½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒"
_ROOTS = {"√": "", "∛": "[3]", "∜": "[4]"}
# What a root sign applies to: a bracketed group, a number, a letter or a LaTeX command (`√\pi`).
_RADICAND = r"\(([^()]*)\)|\{([^{}]*)\}|(\d+(?:\.\d+)?|[A-Za-z]|\\[A-Za-z]+)"
_UNITS = r"(?:[kcmdμn]?m|in|ft|yd|mi)[²³]"
_UNIT_POWER = re.compile(rf"(\d)\s*({_UNITS})(?![A-Za-z])")
_BARE_UNIT = re.compile(rf"^{_UNITS}$")
_ANY = re.compile(
    "[" + re.escape("".join(_SYMBOLS) + _SUPERSCRIPTS + _SUBSCRIPTS + _FRACTIONS + "".join(_ROOTS)) + "]"
)


def _plain(run: str) -> str:
    return unicodedata.normalize("NFKC", run).replace("−", "-")


def _root(match: re.Match) -> str:
    index = _ROOTS[match.group(1)]
    radicand = next(g for g in match.groups()[1:] if g is not None)
    return rf"\sqrt{index}{{{radicand}}}"


def _fraction(char: str) -> str:
    numerator, denominator = unicodedata.normalize("NFKC", char).split("⁄")
    return rf"\frac{{{numerator}}}{{{denominator}}}"


def latex_from_unicode(text: str, delimit: bool = False) -> str:
    """`text` with its Unicode math written as LaTeX: `√2/2` -> `\\sqrt{2}/2`, `x²` -> `x^{2}`, `30°` ->
    `30^\\circ`, `−5` -> `-5`, `½` -> `\\frac{1}{2}`. Text without any of these is returned unchanged.

    `delimit`: prose (a response's last lines), where each word holding Unicode math becomes `$...$` so that the
    parser reads it as mathematics ("The area is 4π." -> "The area is $4\\pi$.")."""
    if not _ANY.search(text):
        return text
    if delimit:
        return re.sub(
            r"(?<![$\S])([^\s$]*" + _ANY.pattern + r"[^\s$]*?)([.,;:!?]*)(?=\s|$)", _delimited, text
        )
    return _convert(text)


def _delimited(match: re.Match) -> str:
    if _UNIT_POWER.search(match.group(1)) or _BARE_UNIT.match(match.group(1)):  # units are not the answer
        return match.group()
    return f"${_convert(match.group(1)).strip()}${match.group(2)}"


def _convert(text: str) -> str:
    # a unit's power after a number ("12 cm²", "1,000.99m²") is part of the unit, which is text
    text = _UNIT_POWER.sub(lambda m: f"{m.group(1)} \\text{{ {m.group(2)}}}", text)
    roots = "".join(_ROOTS)
    text = re.sub(rf"([{roots}])\s*(?:{_RADICAND})", _root, text)
    text = re.sub(f"[{_SUPERSCRIPTS}]+", lambda m: "^{" + _plain(m.group()) + "}", text)
    text = re.sub(f"[{_SUBSCRIPTS}]+", lambda m: "_{" + _plain(m.group()) + "}", text)
    text = re.sub(
        f"(\\d)?([{_FRACTIONS}])",
        lambda m: (m.group(1) + "+" if m.group(1) else "") + _fraction(m.group(2)),
        text,
    )
    text = re.sub(r"–(?=\s*\d)", "-", text)
    return "".join(_SYMBOLS.get(char, char) if char != "–" else char for char in text)
