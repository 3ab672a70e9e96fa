"""The compare table: one row model, rendered to the terminal (rich), Markdown, CSV and W&B.

Each column of the table is declared once below: its header and cell (terminal, Markdown, the W&B table)
and the numbers behind it (CSV columns, W&B summary values), so the four outputs cannot drift apart.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from eval.comparison.pairing import CompareRow, TaskComparison
from eval.reporting.sections.base import Section


@dataclass(frozen=True)
class Field:
    """One number behind a column: its CSV name (also the W&B summary key), how to read it, its format."""

    name: str
    value: Callable[[CompareRow], float | int | bool]
    fmt: str = ".6f"

    def text(self, row: CompareRow) -> str:
        value = self.value(row)
        return str(value) if isinstance(value, bool | int) else format(value, self.fmt)


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[CompareRow, int], str]  # (row, samples per problem) -> text
    fields: tuple[Field, ...] = ()
    highlight: bool = False  # coloured in the terminal when the interval excludes zero


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _p(row: CompareRow, _: int = 0) -> str:
    s = row.stats
    if s.p_at_floor:  # no random sign pattern was as extreme: the true p is below what R patterns can show
        text = f"≤ 1/{round(1 / s.p_floor):,}"
    else:
        text = f"{s.p_value:.3f}" if s.p_value >= 0.001 else "<0.001"
    if s.p_adjusted is not None:
        text += f" (Holm {s.p_adjusted:.3f})"
    return text


def _delta(row: CompareRow, _: int) -> str:
    s = row.stats
    mark = " *" if s.significant else ""
    return f"{100 * s.delta:+.1f} [{100 * s.ci_low:+.1f}, {100 * s.ci_high:+.1f}]{mark}"


def _sides(name: str, value: Callable, fmt: str, cell: Callable[[float, float], str], header: str) -> Column:
    """A baseline → tuned column over the two sides' summaries."""
    return Column(
        header,
        lambda r, _: cell(value(r.baseline), value(r.tuned)),
        (
            Field(f"baseline_{name}", lambda r: value(r.baseline), fmt),
            Field(f"tuned_{name}", lambda r: value(r.tuned), fmt),
        ),
    )


COLUMNS: tuple[Column, ...] = (
    Column("task", lambda r, _: r.label),
    Column(
        "problems", lambda r, _: str(r.stats.n_problems), (Field("problems", lambda r: r.stats.n_problems),)
    ),
    Column("n", lambda _, n: str(n)),
    Column(
        "baseline pass@1",
        lambda r, _: f"{_pct(r.stats.baseline_mean)} ± {_pct(r.stats.baseline_se)}",
        (
            Field("baseline", lambda r: r.stats.baseline_mean),
            Field("baseline_se", lambda r: r.stats.baseline_se),
        ),
    ),
    Column(
        "tuned pass@1",
        lambda r, _: f"{_pct(r.stats.tuned_mean)} ± {_pct(r.stats.tuned_se)}",
        (Field("tuned", lambda r: r.stats.tuned_mean), Field("tuned_se", lambda r: r.stats.tuned_se)),
    ),
    Column(
        "delta [95% CI]",
        _delta,
        (
            Field("delta", lambda r: r.stats.delta),
            Field("ci_low", lambda r: r.stats.ci_low),
            Field("ci_high", lambda r: r.stats.ci_high),
        ),
        highlight=True,
    ),
    Column(
        "p",
        _p,
        (Field("p_value", lambda r: r.stats.p_value), Field("significant", lambda r: r.stats.significant)),
    ),
    _sides("tokens", lambda s: s.mean_tokens, ".1f", lambda b, t: f"{b:.0f} → {t:.0f}", "tokens (b → t)"),
    _sides(
        "truncated",
        lambda s: s.truncation_rate,
        ".6f",
        lambda b, t: f"{_pct(b)}% → {_pct(t)}%",
        "truncated (b → t)",
    ),
    _sides(
        "no_answer",
        lambda s: s.no_answer_rate,
        ".6f",
        lambda b, t: f"{_pct(b)}% → {_pct(t)}%",
        "no answer (b → t)",
    ),
)
HEADERS = [c.header for c in COLUMNS]
# numbers in the CSV and W&B summary that are footnotes, not columns, in the rendered tables
NOTE_FIELDS = (
    Field("mde", lambda r: r.stats.mde),
    Field("seen_in_training", lambda r: r.seen_in_training),
    Field("p_at_floor", lambda r: r.stats.p_at_floor),
    Field("p_holm", lambda r: float("nan") if r.stats.p_adjusted is None else r.stats.p_adjusted),
)
FIELDS = [*(f for c in COLUMNS for f in c.fields), *NOTE_FIELDS]
FOOTNOTE = (
    "pass@1 in %, mean over problems of the share of correct samples, ± standard error over problems. "
    "delta = tuned − baseline in points; 95% paired t interval over problems; p from a paired permutation "
    "test; * = p < 0.05 (for a task's levels: Holm-adjusted across its levels)."
)


def mde_notes(comparisons: list[TaskComparison]) -> list[str]:
    """One line per task (and per clean subset): the smallest effect this compare could have detected."""
    notes = []
    for row, _ in _rows(comparisons):
        if row.subset is not None and not row.subset.startswith("clean"):
            continue
        s = row.stats
        if s.mde != s.mde:  # NaN: no spread in the per-problem differences
            detail = "cannot say how small an effect it could detect (every problem's difference is the same)"
        else:
            detail = f"could detect about ±{100 * s.mde:.1f} points"
        notes.append(f"{row.label}: on these {s.n_problems} problems this compare {detail}")
    for comparison in comparisons:  # each level has its own, larger detectable effect
        levels = [r for r in comparison.rows if r.subset and r.subset.startswith("level")]
        if levels:
            each = ", ".join(
                f"{r.subset} ±{100 * r.stats.mde:.1f}" if r.stats.mde == r.stats.mde else f"{r.subset} n/a"
                for r in levels
            )
            notes.append(f"{comparison.task} by level (points): {each}")
    if notes:
        notes.append(
            "(minimum detectable effect: 80% power, two-sided 5% level, paired t on the observed per-problem "
            "differences; a real change smaller than this is likely to look like noise)"
        )
    return notes


def _rows(comparisons: list[TaskComparison]) -> list[tuple[CompareRow, int]]:
    return [(row, c.samples) for c in comparisons for row in c.rows]


def table_rows(comparisons: list[TaskComparison]) -> list[list[str]]:
    """The table's cells, row by row (Markdown, the W&B table)."""
    return [[c.cell(row, n) for c in COLUMNS] for row, n in _rows(comparisons)]


def print_table(comparisons: list[TaskComparison], title: str, mismatched: bool) -> None:
    table = Table(
        title=title + ("  [red](MISMATCHED SETTINGS)[/]" if mismatched else ""), title_justify="left"
    )
    for header in HEADERS:
        table.add_column(header, justify="left" if header == "task" else "right", no_wrap=True)
    for row, n in _rows(comparisons):
        cells = []
        for column in COLUMNS:
            text = column.cell(row, n)
            if column.highlight and row.stats.significant:
                text = f"[bold {'green' if row.stats.delta > 0 else 'red'}]{text}[/]"
            cells.append(text)
        table.add_row(*cells, style=None if row.subset is None else "dim")
    console = Console(width=200)
    console.print(table)
    console.print(FOOTNOTE, style="dim")
    for note in mde_notes(comparisons):
        console.print(note, style="dim", highlight=False)


def markdown_table(comparisons: list[TaskComparison], title: str, mismatched: bool) -> str:
    lines = [f"## {title}", ""]
    if mismatched:
        lines += ["**Warning: the two sides were evaluated with different settings (see compare.json).**", ""]
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|" + "|".join("---" if h == "task" else "---:" for h in HEADERS) + "|")
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(comparisons)]
    lines += ["", FOOTNOTE, ""]
    lines += [f"- {note}" if not note.startswith("(") else note for note in mde_notes(comparisons)]
    lines.append("")
    return "\n".join(lines)


def csv_table(comparisons: list[TaskComparison]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["task", "subset", "metric", *(f.name for f in FIELDS)])
    for row, _ in _rows(comparisons):
        writer.writerow([row.task, row.subset or "", row.metric, *(f.text(row) for f in FIELDS)])
    return out.getvalue()


def summary_values(comparisons: list[TaskComparison]) -> dict[str, float]:
    """The table's numbers as W&B summary values: `<task>[/<subset>]/<field>`."""
    values = {}
    for row, _ in _rows(comparisons):
        key = row.task if row.subset is None else f"{row.task}/{row.subset.replace(' ', '_')}"
        values.update({f"{key}/{f.name}": f.value(row) for f in FIELDS})
    return values


def print_curve(curve: list[dict]) -> None:
    """`checkpoints=all`: pass@1 ± standard error per task at each step."""
    tasks = list(curve[0]["tasks"])
    table = Table(title="pass@1 over training", title_justify="left")
    table.add_column("step", justify="right")
    table.add_column("checkpoint")
    for task in tasks:
        table.add_column(task, justify="right")
    for point in curve:
        cells = [f"{_pct(point['tasks'][t]['pass@1'])} ± {_pct(point['tasks'][t]['se'])}" for t in tasks]
        table.add_row(str(point["step"]), point["label"], *cells)
    Console(width=160).print(table)


class TableSection(Section):
    """The before/after table: a row per task, its levels and clean subset; footnotes with the smallest effect
    the compare could detect; the bar plots; table.csv; the numbers as W&B summary values and table."""

    name = "tasks"

    def __init__(self, comparisons: list[TaskComparison], title: str, mismatched: bool):
        self.comparisons, self.title, self.mismatched = comparisons, title, mismatched

    def terminal(self, console) -> None:
        print_table(self.comparisons, self.title, self.mismatched)

    def markdown(self) -> str:
        return markdown_table(self.comparisons, self.title, self.mismatched)

    def to_json(self) -> dict:
        return {c.task: [row.to_json() for row in c.rows] for c in self.comparisons}

    def plots(self, out_dir: Path) -> dict[str, Path]:
        from eval.reporting.plots import write_plots

        return write_plots(out_dir, self.comparisons)

    def files(self, out_dir: Path) -> dict[str, Path]:
        from recipes.files import atomic_write_text

        path = out_dir / "table.csv"
        atomic_write_text(path, csv_table(self.comparisons))
        return {"csv": path}

    def wandb(self, run, wandb, logged: dict) -> None:
        run.summary.update(summary_values(self.comparisons))
        logged["compare_table"] = wandb.Table(columns=HEADERS, data=table_rows(self.comparisons))


class CurveSection(Section):
    """`checkpoints=all`: pass@1 over the training step, in a table, a plot, and on W&B's training-step axis."""

    name = "checkpoint_curve"

    def __init__(self, points: list[dict]):
        self.points = points

    def terminal(self, console) -> None:
        print_curve(self.points)

    def to_json(self) -> list[dict]:
        return self.points

    def plots(self, out_dir: Path) -> dict[str, Path]:
        from eval.reporting.plots import curve_plot

        return {"checkpoints": curve_plot(self.points, out_dir / "checkpoints.png")}

    def wandb(self, run, wandb, logged: dict) -> None:
        tasks = list(self.points[0]["tasks"])
        logged["checkpoint_curve"] = wandb.Table(
            columns=["step", "checkpoint", *tasks],
            data=[[p["step"], p["label"], *(p["tasks"][t]["pass@1"] for t in tasks)] for p in self.points],
        )
        # the checkpoint evaluations against `train/global_step`, the step metric TRL's training run logs with:
        # in a workspace grouped by the recipe, training loss or reward and pass@1 share one x-axis
        run.define_metric("train/global_step")
        run.define_metric("eval/*", step_metric="train/global_step")
        for point in self.points:
            values = {"train/global_step": point["step"]}
            for task, figures in point["tasks"].items():
                values[f"eval/{task}/pass@1"] = figures["pass@1"]
            run.log(values)
