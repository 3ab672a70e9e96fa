"""Math in the viewer, rendered where users read answers: LaTeX to MathML on the server (latex2mathml), which
the browser draws itself (MathML Core: Chromium 109+, Firefox, Safari). No script, no font download, no network:
a compare copied to a laptop on a plane shows the same page.

Each formula keeps its LaTeX as a tooltip; one that latex2mathml cannot read stays as it was written.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape

from recipes.protocol.markup import boxes

# $$...$$, $...$, \(...\), \[...\]: a dollar escaped as \$ is a currency sign, not a delimiter
_DELIMITED = re.compile(
    r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<![\\$])\$([^$\n]+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S
)


@lru_cache(maxsize=4096)
def formula(latex: str) -> Markup | None:
    """One formula as MathML (a box drawn around `\\boxed{...}`); None when it cannot be read."""
    from latex2mathml.converter import convert

    found = boxes(latex)
    boxed = bool(found) and found[0][0] == 0 and found[-1][1] == len(latex.strip())
    inner = latex
    for start, end, contents in reversed(found):  # MathML Core draws no box: CSS does
        inner = inner[:start] + contents + inner[end:]
    try:
        mathml = convert(inner.strip())
    except Exception:  # latex2mathml raises its own exceptions for what it cannot parse
        return None
    return Markup(f'<span class="math{" boxed" if boxed else ""}" title="{escape(latex)}">{mathml}</span>')


def _segments(text: str) -> list[tuple[int, int, str | None]]:
    """(start, end, latex) for each formula, (start, end, None) for the text between them: delimited math, and
    `\\boxed{...}` written outside any delimiter."""
    spans = [
        (m.start(), m.end(), next(g for g in m.groups() if g is not None)) for m in _DELIMITED.finditer(text)
    ]
    taken = [(s, e) for s, e, _ in spans]
    for start, end, _ in boxes(text):
        if not any(s <= start < e for s, e in taken):
            spans.append((start, end, text[start:end]))
    spans.sort()
    segments, at = [], 0
    for start, end, latex in spans:
        if start < at:
            continue
        if start > at:
            segments.append((at, start, None))
        segments.append((start, end, latex))
        at = end
    if at < len(text):
        segments.append((at, len(text), None))
    return segments


def rendered(text: str, span: tuple[int, int] | None = None) -> Markup:
    """`text` HTML-escaped with its formulas as MathML, and `span` (where the grader read the answer) marked: a
    formula the span touches is marked whole."""
    out = Markup("")
    for start, end, latex in _segments(text):
        touched = span is not None and start < span[1] and span[0] < end
        if latex is not None:
            shown = formula(latex)
            piece = shown if shown is not None else escape(text[start:end])
            out += Markup("<mark>") + piece + Markup("</mark>") if touched else piece
            continue
        if not touched:
            out += escape(text[start:end])
            continue
        a, b = max(span[0], start), min(span[1], end)
        out += escape(text[start:a]) + Markup("<mark>") + escape(text[a:b]) + Markup("</mark>")
        out += escape(text[b:end])
    return out
