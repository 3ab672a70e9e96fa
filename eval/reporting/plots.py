"""Compare plots: per-task pass@1 bars with confidence whiskers, and the per-level breakdown."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from eval.comparison.pairing import CompareRow, TaskComparison

BASELINE_COLOUR = "#9aa5b1"
TUNED_COLOUR = "#2f6fdf"


def tidy(ax, legend_size: int = 8, legend_loc: str = "best") -> None:
    """The house style: a frameless legend, no top and right spines."""
    ax.legend(loc=legend_loc, fontsize=legend_size, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _bars(rows: list[CompareRow], title: str, path: Path) -> Path:
    labels = [r.subset or r.task for r in rows]
    x = np.arange(len(rows))
    width = 0.38
    base = np.array([r.stats.baseline_mean for r in rows]) * 100
    tuned = np.array([r.stats.tuned_mean for r in rows]) * 100
    # whiskers: ±1.96 standard errors of each side's mean over problems
    base_err = np.nan_to_num(np.array([r.stats.baseline_se for r in rows]) * 196)
    tuned_err = np.nan_to_num(np.array([r.stats.tuned_se for r in rows]) * 196)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.6 * len(rows) + 2), 3.6), dpi=120)
    ax.bar(x - width / 2, base, width, yerr=base_err, capsize=4, label="baseline", color=BASELINE_COLOUR)
    ax.bar(x + width / 2, tuned, width, yerr=tuned_err, capsize=4, label="tuned", color=TUNED_COLOUR)
    for i, r in enumerate(rows):
        mark = "*" if r.stats.significant else ""
        top = max(base[i] + base_err[i], tuned[i] + tuned_err[i])
        ax.text(x[i], min(top + 3, 104), f"{100 * r.stats.delta:+.1f}{mark}", ha="center", fontsize=9)
    ax.set_xticks(x, labels, rotation=0 if len(rows) < 6 else 30)
    ax.set_ylabel("pass@1 (%)")
    ax.set_ylim(0, 110)
    ax.set_title(title, fontsize=10)
    tidy(ax, legend_loc="upper left")
    return save(fig, path)


def write_plots(out_dir: Path, comparisons: list[TaskComparison]) -> dict[str, Path]:
    plots = {
        "tasks": _bars(
            [c.rows[0] for c in comparisons], "pass@1 by task (95% whiskers)", out_dir / "tasks.png"
        )
    }
    for c in comparisons:
        levels = [row for row in c.rows if row.subset and row.subset.startswith("level ")]
        if levels:
            plots[f"{c.task}_levels"] = _bars(
                levels, f"{c.task}: pass@1 by level", out_dir / f"{c.task}_levels.png"
            )
    return plots


def curve_plot(points: list[dict], path: Path) -> Path:
    """pass@1 against the training step, one line per task, with 95% whiskers."""
    tasks = list(points[0]["tasks"])
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    for task in tasks:
        steps = [p["step"] for p in points]
        values = np.array([p["tasks"][task]["pass@1"] for p in points]) * 100
        errors = np.nan_to_num(np.array([p["tasks"][task]["se"] for p in points]) * 196)
        ax.errorbar(steps, values, yerr=errors, marker="o", capsize=3, label=task)
    ax.set_xlabel("training step")
    ax.set_ylabel("pass@1 (%)")
    ax.set_ylim(0, 105)
    ax.set_title("pass@1 over training (step 0 = baseline)", fontsize=10)
    tidy(ax)
    return save(fig, path)
