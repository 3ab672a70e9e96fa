"""The compare's files: table.md (every section, written once), table.csv, compare.json, per-sample details."""

from __future__ import annotations

import json
from pathlib import Path

from eval.compare.pairing import TaskComparison
from eval.reporting.table import csv_table
from eval.stores.results import TaskResult
from recipes.files import atomic_write_lines, atomic_write_text, strict_json


def write_reports(
    out_dir: Path, comparisons: list[TaskComparison], markdown_sections: list[str], payload: dict
) -> dict[str, Path]:
    paths = {
        "markdown": out_dir / "table.md",
        "csv": out_dir / "table.csv",
        "json": out_dir / "compare.json",
    }
    atomic_write_text(paths["markdown"], "\n".join(markdown_sections))
    atomic_write_text(paths["csv"], csv_table(comparisons))
    atomic_write_text(paths["json"], strict_json(payload))
    return paths


def write_details(result: TaskResult, path: Path) -> None:
    """One JSON line per sample, for a person to open: the problem, the answer read, right or wrong. Written line
    by line (a full AIME file is ~110 MB)."""

    def lines():
        for p in result.problems:
            for i, s in enumerate(p.samples):
                yield json.dumps(
                    {
                        "task": result.task,
                        "problem_id": p.problem_id,
                        "sample": i,
                        "prompt": p.prompt,
                        "gold": p.gold,
                        "extracted": s.extracted,
                        "correct": s.correct,
                        "tokens": s.tokens,
                        "finish_reason": s.finish_reason,
                        "level": p.level,
                        "subject": p.subject,
                        "response": s.text,
                    },
                    ensure_ascii=False,
                )

    atomic_write_lines(path, lines())
