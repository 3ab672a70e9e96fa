"""The compare table: in the terminal (rich), and as Markdown, CSV and JSON files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from eval.compare import CompareRow, TaskComparison
from eval.results import atomic_write_text

HEADERS = [
    "task",
    "problems",
    "n",
    "baseline pass@1",
    "tuned pass@1",
    "delta [95% CI]",
    "p",
    "tokens (b → t)",
    "truncated (b → t)",
    "no answer (b → t)",
]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _cells(row: CompareRow, n: int) -> list[str]:
    s = row.stats
    mark = " *" if s.significant else ""
    return [
        row.label,
        str(s.n_problems),
        str(n),
        f"{_pct(s.baseline_mean)} ± {_pct(s.baseline_se)}",
        f"{_pct(s.tuned_mean)} ± {_pct(s.tuned_se)}",
        f"{100 * s.delta:+.1f} [{100 * s.ci_low:+.1f}, {100 * s.ci_high:+.1f}]{mark}",
        f"{s.p_value:.3f}" if s.p_value >= 0.001 else "<0.001",
        f"{row.baseline.mean_tokens:.0f} → {row.tuned.mean_tokens:.0f}",
        f"{_pct(row.baseline.truncation_rate)}% → {_pct(row.tuned.truncation_rate)}%",
        f"{_pct(row.baseline.no_answer_rate)}% → {_pct(row.tuned.no_answer_rate)}%",
    ]


def table_rows(comparisons: list[TaskComparison], samples: dict[str, int]) -> list[list[str]]:
    return [_cells(row, samples[c.task]) for c in comparisons for row in c.rows]


FOOTNOTE = (
    "pass@1 in %, mean over problems of the share of correct samples, ± standard error over problems. "
    "delta = tuned − baseline in points; 95% paired bootstrap interval over problems (10,000 resamples); "
    "p from a paired permutation test; * = the interval excludes zero."
)


def print_table(
    comparisons: list[TaskComparison], samples: dict[str, int], title: str, mismatched: bool
) -> None:
    table = Table(
        title=title + ("  [red](MISMATCHED SETTINGS)[/]" if mismatched else ""), title_justify="left"
    )
    for header in HEADERS:
        table.add_column(header, justify="left" if header == "task" else "right", no_wrap=True)
    for c in comparisons:
        for row in c.rows:
            cells = _cells(row, samples[c.task])
            style = None if row.subset is None else "dim"
            if row.stats.significant:
                colour = "green" if row.stats.delta > 0 else "red"
                cells[5] = f"[bold {colour}]{cells[5]}[/]"
            table.add_row(*cells, style=style)
    console = Console(width=200)
    console.print(table)
    console.print(FOOTNOTE, style="dim")


def markdown_table(
    comparisons: list[TaskComparison], samples: dict[str, int], title: str, mismatched: bool
) -> str:
    lines = [f"## {title}", ""]
    if mismatched:
        lines += ["**Warning: the two sides were evaluated with different settings (see compare.json).**", ""]
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|" + "|".join("---" if h == "task" else "---:" for h in HEADERS) + "|")
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(comparisons, samples)]
    lines += ["", FOOTNOTE, ""]
    return "\n".join(lines)


def csv_table(comparisons: list[TaskComparison]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "task",
            "subset",
            "metric",
            "problems",
            "baseline",
            "baseline_se",
            "tuned",
            "tuned_se",
            "delta",
            "ci_low",
            "ci_high",
            "p_value",
            "significant",
            "baseline_tokens",
            "tuned_tokens",
            "baseline_truncated",
            "tuned_truncated",
            "baseline_no_answer",
            "tuned_no_answer",
        ]
    )
    for c in comparisons:
        for r in c.rows:
            s = r.stats
            writer.writerow(
                [
                    r.task,
                    r.subset or "",
                    r.metric,
                    s.n_problems,
                    f"{s.baseline_mean:.6f}",
                    f"{s.baseline_se:.6f}",
                    f"{s.tuned_mean:.6f}",
                    f"{s.tuned_se:.6f}",
                    f"{s.delta:.6f}",
                    f"{s.ci_low:.6f}",
                    f"{s.ci_high:.6f}",
                    f"{s.p_value:.6f}",
                    s.significant,
                    f"{r.baseline.mean_tokens:.1f}",
                    f"{r.tuned.mean_tokens:.1f}",
                    f"{r.baseline.truncation_rate:.6f}",
                    f"{r.tuned.truncation_rate:.6f}",
                    f"{r.baseline.no_answer_rate:.6f}",
                    f"{r.tuned.no_answer_rate:.6f}",
                ]
            )
    return out.getvalue()


def write_reports(
    out_dir: Path, comparisons, samples, title: str, mismatched: bool, payload: dict
) -> dict[str, Path]:
    paths = {
        "markdown": out_dir / "table.md",
        "csv": out_dir / "table.csv",
        "json": out_dir / "compare.json",
    }
    atomic_write_text(paths["markdown"], markdown_table(comparisons, samples, title, mismatched))
    atomic_write_text(paths["csv"], csv_table(comparisons))
    atomic_write_text(paths["json"], json.dumps(payload, indent=2, default=str))
    return paths
