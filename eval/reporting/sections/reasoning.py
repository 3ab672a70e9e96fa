"""The reasoning section of the report: the table (terminal and Markdown) and its plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table

from eval.reasoning.analysis import METRICS, AnalysedTask
from eval.reasoning.first_correct import MAX_CHECKS
from eval.reporting.plots import BASELINE_COLOUR, TUNED_COLOUR, save, tidy
from eval.reporting.sections.base import Section


def _fmt(value: float, scale: float) -> str:
    if value != value:  # nan
        return "–"
    return f"{value * scale:.1f}" if scale != 1 or value >= 10 else f"{value:.2f}"


def _label(row: dict) -> str:
    return f"{row['task']} · {row['subset']}" if row["subset"] else row["task"]


def _change_cells(row: dict) -> list[str]:
    return [f"{_fmt(row['baseline'][k], s)} → {_fmt(row['tuned'][k], s)}" for k, _, s in METRICS]


def print_reasoning_table(rows: list[dict]) -> None:
    table = Table(title="How the models think (baseline → tuned)", title_justify="left")
    table.add_column("task", no_wrap=True)
    for _, header, _ in METRICS:
        table.add_column(header, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(_label(row), *_change_cells(row), style="dim" if row["subset"] else None)
    console = Console(width=200)
    console.print(table)
    console.print(FOOTNOTE, style="dim")
    if cut := cut_note(rows):
        console.print(cut, style="dim", highlight=False)


def cut_note(rows: list[dict]) -> str:
    """Samples whose first-correct search stopped at its bound, per side (none: no line)."""
    whole = [r for r in rows if r["subset"] is None]
    base = sum(r["baseline"].get("search_cut", 0) for r in whole)
    tuned = sum(r["tuned"].get("search_cut", 0) for r in whole)
    if not base and not tuned:
        return ""
    return (
        f"first-correct search cut after {MAX_CHECKS} math-verify decisions in {base} baseline and {tuned} tuned "
        "sample(s) (counted as not reached; compare.json: search_cut)"
    )


FOOTNOTE = (
    "reasoning tok: generated tokens before </think> (all of them if never closed). first-correct tok: tokens "
    "until the step that first reaches the gold answer; reflection tok: the reasoning after it (both over correct "
    "samples where that point was found). efficiency: first-correct / reasoning tokens; (EvalScope): its "
    "aggregation, over all samples with 0 where no point was found. switches: EvalScope's markers per sample; "
    "wait: self-checks per sample. compare.json also holds, per row, the figures over problems both sides solved."
)


def reasoning_markdown(rows: list[dict]) -> str:
    headers = ["task", *(h for _, h, _ in METRICS)]
    lines = ["## How the models think (baseline → tuned)", "", "| " + " | ".join(headers) + " |"]
    lines.append("|---|" + "---:|" * len(METRICS))
    for row in rows:
        lines.append("| " + " | ".join([_label(row), *_change_cells(row)]) + " |")
    return "\n".join([*lines, "", FOOTNOTE, ""])


def length_histograms(ax, base: AnalysedTask, tuned: AnalysedTask, bins: int = 30):
    """Both sides' reasoning lengths over the same bins (each side's own 30 bins drew a narrow distribution as a
    sliver beside a wide one); returns the bin edges."""
    import numpy as np

    lengths = {
        side: [s.reasoning_tokens for s in analysed.samples[None]]
        for side, analysed in (("baseline", base), ("tuned", tuned))
    }
    everything = [x for values in lengths.values() for x in values]
    edges = np.histogram_bin_edges(everything or [0], bins=bins)
    for (side, values), colour in zip(lengths.items(), (BASELINE_COLOUR, TUNED_COLOUR), strict=True):
        ax.hist(values, bins=edges, alpha=0.45, color=colour, label=side)
        ax.hist(values, bins=edges, histtype="step", color=colour, linewidth=1.2)
    return edges


def reasoning_plots(out_dir: Path, pairs: list[tuple[AnalysedTask, AnalysedTask]]) -> dict[str, Path]:
    """Accuracy against reasoning length (a point per level, or per task), and the length distributions."""
    plots = {}
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for side, colour, index in (("baseline", BASELINE_COLOUR, 0), ("tuned", TUNED_COLOUR, 1)):
        for pair in pairs:
            summaries = pair[index].summaries()
            points = {k: v for k, v in summaries.items() if k is not None} or {None: summaries[None]}
            xs = [v.reasoning_tokens for v in points.values()]
            ys = [100 * v.accuracy for v in points.values()]
            ax.plot(xs, ys, marker="o", color=colour, alpha=0.9, label=f"{side} · {pair[0].task}")
            for subset, x, y in zip(points, xs, ys, strict=True):
                ax.annotate(
                    subset or pair[0].task, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points"
                )
    ax.set_xlabel("mean reasoning tokens")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("accuracy vs reasoning length", fontsize=10)
    tidy(ax, legend_size=7)
    plots["reasoning_accuracy_vs_tokens"] = save(fig, out_dir / "reasoning_accuracy_vs_tokens.png")

    fig, axes = plt.subplots(1, len(pairs), figsize=(4.5 * len(pairs), 3.4), dpi=120, squeeze=False)
    for ax, (base, tuned) in zip(axes[0], pairs, strict=True):
        length_histograms(ax, base, tuned)
        ax.set_title(base.task, fontsize=10)
        ax.set_xlabel("reasoning tokens")
        tidy(ax, legend_size=7)
    plots["reasoning_length_distribution"] = save(fig, out_dir / "reasoning_length_distribution.png")
    return plots


def print_single_model(name: str, rows: list[dict]) -> None:
    table = Table(title=f"How {name} thinks", title_justify="left")
    table.add_column("task", no_wrap=True)
    for _, header, _ in METRICS:
        table.add_column(header, justify="right")
    for row in rows:
        cells = [_fmt(row[key], scale) for key, _, scale in METRICS]
        table.add_row(_label(row), *cells, style="dim" if row["subset"] else None)
    console = Console(width=200)
    console.print(table)
    console.print(FOOTNOTE, style="dim")


def reasoning_summary_values(rows: list[dict]) -> dict[str, float]:
    values = {}
    for row in rows:
        key = row["task"] if row["subset"] is None else f"{row['task']}/{row['subset'].replace(' ', '_')}"
        for metric in row["delta"]:
            values[f"reasoning/{key}/{metric}/baseline"] = row["baseline"][metric]
            values[f"reasoning/{key}/{metric}/tuned"] = row["tuned"][metric]
            values[f"reasoning/{key}/{metric}/delta"] = row["delta"][metric]
    return values


class ReasoningSection(Section):
    """How the two models think: per task and level, baseline → tuned."""

    name = "reasoning"

    def __init__(self, rows: list[dict], pairs: list[tuple[AnalysedTask, AnalysedTask]]):
        self.rows, self.pairs = rows, pairs

    def terminal(self, console) -> None:
        print_reasoning_table(self.rows)

    def markdown(self) -> str:
        return reasoning_markdown(self.rows)

    def to_json(self) -> list[dict]:
        return self.rows

    def plots(self, out_dir: Path) -> dict[str, Path]:
        return reasoning_plots(out_dir, self.pairs)

    def wandb(self, run, wandb, logged: dict) -> None:
        run.summary.update(reasoning_summary_values(self.rows))
