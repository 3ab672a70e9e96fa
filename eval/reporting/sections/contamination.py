"""The contamination check's report: terminal, Markdown (a section of the compare's table.md) and JSON."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from eval.contamination.check import ContaminationReport
from eval.reporting.sections.base import Section
from recipes.files import atomic_write_text, strict_json

NOTE = (
    "a problem counts as seen when one of its {n}-grams of normalised words (lower case, LaTeX layout and "
    "spacing removed; all its words when it is shorter) appears in a training problem statement"
)


def _summary(report: ContaminationReport) -> str:
    return (
        f"training data: {report.training}, {report.training_rows:,} rows; matched in {report.seconds:.1f} s"
    )


def print_contamination(report: ContaminationReport) -> None:
    table = Table(title="Evaluation problems seen in training", title_justify="left")
    for header in ("task", "problems", "seen in training", "examples (problem id: overlap, training row)"):
        table.add_column(header, justify="left" if header in ("task", "examples") else "right")
    for task in report.tasks.values():
        examples = ", ".join(f"{h.problem_id}: {h.overlap:.0%}, row {h.training_row}" for h in task.hits[:3])
        more = f" (+{len(task.hits) - 3} more)" if len(task.hits) > 3 else ""
        style = "bold red" if task.hits else None
        table.add_row(task.task, str(task.problems), str(len(task.hits)), examples + more, style=style)
    console = Console(width=200)
    console.print(table)
    console.print(_summary(report) + "; " + NOTE.format(n=report.ngram), style="dim", highlight=False)


def contamination_markdown(report: ContaminationReport) -> str:
    lines = [
        "## Evaluation problems seen in training",
        "",
        "| task | problems | seen in training |",
        "|---|---:|---:|",
    ]
    lines += [f"| {t.task} | {t.problems} | {len(t.hits)} |" for t in report.tasks.values()]
    lines += ["", _summary(report) + "; " + NOTE.format(n=report.ngram) + ".", ""]
    for task in report.tasks.values():
        lines += [
            f"- {task.task} `{h.problem_id}` ({h.overlap:.0%} of its n-grams, training row {h.training_row}): "
            f"{h.statement}"
            for h in task.hits
        ]
    lines.append("")
    return "\n".join(lines)


def write_contamination(report: ContaminationReport, folder: Path) -> Path:
    path = folder / "contamination.json"
    atomic_write_text(path, strict_json(report.to_json()) + "\n")
    return path


class ContaminationSection(Section):
    """Evaluation problems that appear in the recipe's training data (None: it trains on none, or unread)."""

    name = "contamination"

    def __init__(self, report: ContaminationReport | None):
        self.report = report

    def terminal(self, console) -> None:
        if self.report is not None:
            print_contamination(self.report)

    def markdown(self) -> str:
        return contamination_markdown(self.report) if self.report is not None else ""

    def to_json(self) -> dict | None:
        return self.report.to_json() if self.report is not None else None
