"""The reasoning-efficiency section of a comparison (or of one model's analysis): per task and level."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table

from eval.reasoning import (
    DEFAULT_SWITCH_MARKERS,
    ReasoningSummary,
    SampleReasoning,
    analyse_sample,
    split_reasoning,
    split_steps,
    summarise,
)
from eval.results import TaskResult
from recipes.protocol.task_catalog import TASKS
from recipes.schema import AnalysisSpec

METRICS = [
    ("accuracy", "accuracy %", 100),
    ("reasoning_tokens", "reasoning tok", 1),
    ("first_correct_tokens", "first-correct tok", 1),
    ("reflection_tokens", "reflection tok", 1),
    ("efficiency", "efficiency", 1),
    ("switches", "switches", 1),
]


def token_counter(model_path: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    return lambda text: len(tokenizer(text, add_special_tokens=False).input_ids)


@dataclass
class AnalysedTask:
    task: str
    samples: dict[str | None, list[SampleReasoning]]  # None = whole task; "level N" = MATH-500 levels

    def summaries(self) -> dict[str | None, ReasoningSummary]:
        return {subset: summarise(s) for subset, s in self.samples.items()}


def analyse_task(result: TaskResult, count_tokens, spec: AnalysisSpec) -> AnalysedTask:
    kind = TASKS[result.task].answer_kind
    markers = spec.switch_markers if spec.switch_markers is not None else DEFAULT_SWITCH_MARKERS
    choices = ("A", "B", "C", "D") if kind == "letter" else ()
    flat = [(p, s) for p in result.problems for s in p.samples]
    located = _judge_locations(flat, spec) if spec.judge else None
    by_subset: dict[str | None, list[SampleReasoning]] = {None: []}
    for i, (problem, sample) in enumerate(flat):
        locate = None
        if located is not None and not isinstance(located[i], Exception):
            index = located[i]
            locate = lambda _steps, index=index: index  # noqa: E731
        analysed = analyse_sample(
            sample.text, problem.gold, kind, sample.correct, count_tokens, markers, choices, locate=locate
        )
        by_subset[None].append(analysed)
        if problem.level not in (None, ""):
            by_subset.setdefault(f"level {problem.level}", []).append(analysed)
    if len(by_subset) == 2:  # a single level is the whole task again
        by_subset = {None: by_subset[None]}
    ordered = {None: by_subset.pop(None), **dict(sorted(by_subset.items(), key=lambda kv: str(kv[0])))}
    return AnalysedTask(task=result.task, samples=ordered)


def _judge_locations(flat, spec: AnalysisSpec):
    from eval.judge import Judge

    try:
        judge = Judge(spec.judge)
        jobs = [(split_steps(split_reasoning(s.text)[0]), p.gold) for p, s in flat]
        results = judge.locate_all(jobs)
    except Exception as err:  # the endpoint is not usable at all
        print(f"warning: judge unavailable ({type(err).__name__}: {err}); using the judge-free method")
        return None
    if judge.failures:
        print(
            f"warning: the judge failed on {judge.failures} of {len(jobs)} samples; those use the judge-free method"
        )
    return results


def _fmt(value: float, scale: float) -> str:
    if value != value:  # nan
        return "–"
    return f"{value * scale:.1f}" if scale != 1 or value >= 10 else f"{value:.2f}"


def comparison_rows(base: AnalysedTask, tuned: AnalysedTask) -> list[dict]:
    base_s, tuned_s = base.summaries(), tuned.summaries()
    rows = []
    for subset in base_s:
        if subset not in tuned_s:
            continue
        b, t = base_s[subset], tuned_s[subset]
        rows.append(
            {
                "task": base.task,
                "subset": subset,
                "baseline": b.to_json(),
                "tuned": t.to_json(),
                "delta": {key: getattr(t, key) - getattr(b, key) for key, _, _ in METRICS},
            }
        )
    return rows


def print_reasoning_table(rows: list[dict]) -> None:
    table = Table(title="How the models think (baseline → tuned)", title_justify="left")
    table.add_column("task", no_wrap=True)
    for _, header, _ in METRICS:
        table.add_column(header, justify="right", no_wrap=True)
    for row in rows:
        label = f"{row['task']} · {row['subset']}" if row["subset"] else row["task"]
        cells = [
            f"{_fmt(row['baseline'][key], scale)} → {_fmt(row['tuned'][key], scale)}"
            for key, _, scale in METRICS
        ]
        table.add_row(label, *cells, style="dim" if row["subset"] else None)
    console = Console(width=200)
    console.print(table)
    console.print(FOOTNOTE, style="dim")


FOOTNOTE = (
    "reasoning tok: tokens before </think> (all of it if never closed). first-correct tok: tokens until the "
    "step that first reaches the gold answer; reflection tok: the reasoning after it (both over correct samples "
    "where that point was found). efficiency: first-correct / reasoning tokens. switches: approach changes per sample."
)


def reasoning_markdown(rows: list[dict]) -> str:
    headers = ["task", *(h for _, h, _ in METRICS)]
    lines = ["## How the models think (baseline → tuned)", "", "| " + " | ".join(headers) + " |"]
    lines.append("|---|" + "---:|" * len(METRICS))
    for row in rows:
        label = f"{row['task']} · {row['subset']}" if row["subset"] else row["task"]
        cells = [f"{_fmt(row['baseline'][k], s)} → {_fmt(row['tuned'][k], s)}" for k, _, s in METRICS]
        lines.append("| " + " | ".join([label, *cells]) + " |")
    return "\n".join([*lines, "", FOOTNOTE, ""])


def reasoning_plots(out_dir: Path, pairs: list[tuple[AnalysedTask, AnalysedTask]]) -> dict[str, Path]:
    """Accuracy against reasoning length (a point per level, or per task), and the length distributions."""
    plots = {}
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for side, colour, index in (("baseline", "#9aa5b1", 0), ("tuned", "#2f6fdf", 1)):
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
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    plots["reasoning_accuracy_vs_tokens"] = out_dir / "reasoning_accuracy_vs_tokens.png"
    fig.savefig(plots["reasoning_accuracy_vs_tokens"])
    plt.close(fig)

    fig, axes = plt.subplots(1, len(pairs), figsize=(4.5 * len(pairs), 3.4), dpi=120, squeeze=False)
    for ax, (base, tuned) in zip(axes[0], pairs, strict=True):
        for analysed, colour, side in ((base, "#9aa5b1", "baseline"), (tuned, "#2f6fdf", "tuned")):
            ax.hist(
                [s.reasoning_tokens for s in analysed.samples[None]],
                bins=30,
                alpha=0.6,
                color=colour,
                label=side,
            )
        ax.set_title(base.task, fontsize=10)
        ax.set_xlabel("reasoning tokens")
        ax.legend(fontsize=7, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    plots["reasoning_length_distribution"] = out_dir / "reasoning_length_distribution.png"
    fig.savefig(plots["reasoning_length_distribution"])
    plt.close(fig)
    return plots


def print_single_model(name: str, analysed: list[AnalysedTask]) -> list[dict]:
    table = Table(title=f"How {name} thinks", title_justify="left")
    table.add_column("task", no_wrap=True)
    for _, header, _ in METRICS:
        table.add_column(header, justify="right")
    rows = []
    for task in analysed:
        for subset, summary in task.summaries().items():
            label = f"{task.task} · {subset}" if subset else task.task
            table.add_row(
                label, *(_fmt(getattr(summary, k), s) for k, _, s in METRICS), style="dim" if subset else None
            )
            rows.append({"task": task.task, "subset": subset, **summary.to_json()})
    console = Console(width=200)
    console.print(table)
    console.print(FOOTNOTE, style="dim")
    return rows
