"""math-verify 0.9.0's own test cases, read from its sdist on PyPI (the pinned release, downloaded once).

The sdist ships `tests/test_*.py`, whose cases are `pytest.mark.parametrize` lists of (gold, response,
expected) handed to a `compare_strings` helper. They are read with `ast` (nothing from the suite is
imported or executed), with the keyword settings each test passes to the helper, so that a case run
under settings reasonlift does not use (expression-only extraction, another float precision, non-strict
symbols) can be told apart from one run under the grader's own.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

VERSION = "0.9.0"
SDIST = f"math_verify-{VERSION}.tar.gz"
# The settings reasonlift grades with: LaTeX (boxed first) and expression extraction, 6 digits, strict.
GRADER_SETTINGS = {
    "match_types": ["latex", "expr"],
    "precision": 6,
    "strict": True,
    "allow_set_relation_comp": False,
}


@dataclass(frozen=True)
class Case:
    test: str  # file::function[index]
    gold: str
    response: str
    expected: bool
    settings: dict = field(default_factory=dict)  # compare_strings keywords that differ from the grader's

    @property
    def under_grader_settings(self) -> bool:
        return not self.settings


def oracle_dir() -> Path:
    """Where test oracles are kept: outside reasonlift's own cache and outputs."""
    root = os.environ.get("REASONLIFT_ORACLES") or Path(__file__).resolve().parents[2] / ".cache" / "oracles"
    return Path(root)


def sdist_tests() -> Path:
    """The suite's tests folder, downloaded with pip on first use (PIP_CONFIG_FILE is left as the user has it)."""
    target = oracle_dir() / f"math_verify-{VERSION}"
    tests = target / "tests"
    if tests.is_dir():
        return tests
    download = oracle_dir() / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    if not (download / SDIST).exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"math-verify=={VERSION}",
                "-d",
                str(download),
            ],
            check=True,
            timeout=300,
        )
    with tarfile.open(download / SDIST) as archive:
        members = [m for m in archive.getmembers() if "/tests/" in m.name and m.name.endswith(".py")]
        archive.extractall(oracle_dir(), members=members, filter="data")
    return tests


def _call_settings(function: ast.FunctionDef, params: list[str], values: tuple) -> dict | None:
    """The keywords of the function's compare_strings call, with parametrized names filled in; None when
    the test does not go through compare_strings."""
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "compare_strings":
            settings = {}
            for keyword in node.keywords:
                if isinstance(keyword.value, ast.Name) and keyword.value.id in params:
                    settings[keyword.arg] = values[params.index(keyword.value.id)]
                else:
                    settings[keyword.arg] = ast.literal_eval(keyword.value)
            return settings
    return None


def load_cases(tests: Path) -> tuple[list[Case], list[str]]:
    """Every (gold, response, expected) case of the suite; and the tests left out, with why."""
    cases: list[Case] = []
    left_out: list[str] = []
    for path in sorted(tests.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
            marks = [
                d
                for d in function.decorator_list
                if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "parametrize"
            ]
            for mark in marks:
                params = [p.strip() for p in ast.literal_eval(mark.args[0]).split(",")]
                name = f"{path.name}::{function.name}"
                if not {"gold", "pred"} <= set(params):
                    left_out.append(f"{name}: not a gold/response comparison")
                    continue
                try:
                    rows = ast.literal_eval(mark.args[1])
                except ValueError:
                    left_out.append(f"{name}: its cases are not literals")
                    continue
                for index, row in enumerate(rows):
                    settings = _call_settings(function, params, row)
                    if settings is None:
                        left_out.append(f"{name}: does not compare through compare_strings")
                        break
                    values = dict(zip(params, row, strict=True))
                    expected = values.get("expected", values.get("result"))
                    merged = {**GRADER_SETTINGS, **settings}
                    differs = {k: v for k, v in merged.items() if GRADER_SETTINGS.get(k) != v}
                    cases.append(
                        Case(
                            f"{name}[{index}]",
                            str(values["gold"]),
                            str(values["pred"]),
                            bool(expected),
                            differs,
                        )
                    )
    return cases, left_out
