"""The token-budget section of the compare report: a line per task in the terminal, Markdown, a plot."""

from __future__ import annotations

from pathlib import Path

from eval.comparison.budget import Completed, TaskBudget
from eval.reporting.sections.base import Section
from recipes.log import info


def tokens(budget: int) -> str:
    return f"{budget // 1024}k" if budget >= 1024 and budget % 1024 == 0 else f"{budget:,}"


def _completed(c: Completed) -> str:
    share = f"{c.finished}/{c.samples} finished"
    return f"{'-' if c.accuracy is None else f'{c.accuracy:.1%}'} ({share})"


def budget_line(task: TaskBudget) -> str:
    """One task: pass@1 baseline → tuned at each budget, the last with its interval; completed-only accuracy."""
    cells = [f"{tokens(p.budget)} {p.baseline:.1%}→{p.tuned:.1%}" for p in task.points]
    last = task.points[-1]
    match = task.budget_to_match()
    reach = (
        f"; tuned reaches the baseline's {tokens(last.budget)} pass@1 at {tokens(match)}"
        if match is not None and match < last.budget
        else ""
    )
    return (
        f"{task.task}: {' | '.join(cells)} (Δ at {tokens(last.budget)} {last.delta * 100:+.1f} "
        f"[{last.ci_low * 100:+.1f}, {last.ci_high * 100:+.1f}]){reach}; completed-only "
        f"{_completed(task.baseline_completed)} → {_completed(task.tuned_completed)}"
    )


def print_budget(budgets: list[TaskBudget]) -> None:
    if not budgets:
        return
    info("pass@1 had generation stopped at each budget (finished, answered and correct within it):")
    for task in budgets:
        info(f"  {budget_line(task)}")


def budget_markdown(budgets: list[TaskBudget]) -> str:
    if not budgets:
        return ""
    lines = [
        "## Accuracy under a token budget",
        "",
        "pass@1 had generation stopped at B tokens: a sample counts when it finished within B tokens with a "
        "final answer and was correct. Δ is tuned − baseline with its 95% paired interval over problems. "
        "Completed-only: correct among the samples that finished at all.",
        "",
        "| task | budget | baseline | tuned | Δ (pts) | 95% CI |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for task in budgets:
        for p in task.points:
            lines.append(
                f"| {task.task} | {tokens(p.budget)} | {p.baseline:.1%} | {p.tuned:.1%} | {p.delta * 100:+.1f} "
                f"| [{p.ci_low * 100:+.1f}, {p.ci_high * 100:+.1f}] |"
            )
    lines += ["", "| task | completed-only baseline | completed-only tuned |", "| --- | ---: | ---: |"]
    for task in budgets:
        lines.append(
            f"| {task.task} | {_completed(task.baseline_completed)} | {_completed(task.tuned_completed)} |"
        )
    return "\n".join(lines) + "\n"


def budget_plot(budgets: list[TaskBudget], path: Path) -> Path:
    """pass@1 against the budget (log2 axis), both sides per task, with ±1.96 SE bands."""
    import numpy as np

    from eval.reporting.plots import BASELINE_COLOUR, TUNED_COLOUR, plt, save, tidy

    fig, axes = plt.subplots(1, len(budgets), figsize=(4.2 * len(budgets), 3.4), dpi=120, squeeze=False)
    for ax, task in zip(axes[0], budgets, strict=True):
        x = [p.budget for p in task.points]
        for side, colour in (("baseline", BASELINE_COLOUR), ("tuned", TUNED_COLOUR)):
            y = np.array([getattr(p, side) for p in task.points]) * 100
            se = np.nan_to_num(np.array([getattr(p, f"{side}_se") for p in task.points])) * 196
            ax.plot(x, y, marker="o", color=colour, label=side)
            ax.fill_between(x, y - se, y + se, color=colour, alpha=0.2)
        ax.set_xscale("log", base=2)
        ax.set_xticks(x, [tokens(b) for b in x])
        ax.set_xlabel("token budget")
        ax.set_ylabel("pass@1 (%)")
        ax.set_ylim(0, 105)
        ax.set_title(task.task, fontsize=10)
        tidy(ax)
    return save(fig, path)


def budget_summary_values(budget: list[dict]) -> dict[str, float]:
    """pass@1 at each budget and completed-only accuracy, per task and side."""
    values: dict[str, float] = {}
    for task in budget:
        for p in task["points"]:
            for side in ("baseline", "tuned", "delta"):
                values[f"token_budget/{task['task']}/{p['budget']}/{side}"] = p[side]
        for side, completed in task["completed_only"].items():
            if completed["accuracy"] is not None:
                values[f"completed_only/{task['task']}/{side}"] = completed["accuracy"]
    return values


class BudgetSection(Section):
    """pass@1 had generation stopped at each token budget, and completed-only accuracy."""

    name = "token_budget"

    def __init__(self, budgets: list[TaskBudget]):
        self.budgets = budgets

    def terminal(self, console) -> None:
        print_budget(self.budgets)

    def markdown(self) -> str:
        return budget_markdown(self.budgets)

    def to_json(self) -> list[dict]:
        return [b.to_json() for b in self.budgets]

    def plots(self, out_dir: Path) -> dict[str, Path]:
        return (
            {"token_budget": budget_plot(self.budgets, out_dir / "token_budget.png")} if self.budgets else {}
        )

    def wandb(self, run, wandb, logged: dict) -> None:
        budget = self.to_json()
        for task in budget:
            points = task["points"]
            logged[f"token_budget/{task['task']}"] = wandb.plot.line_series(
                xs=[p["budget"] for p in points],
                ys=[[p["baseline"] for p in points], [p["tuned"] for p in points]],
                keys=["baseline", "tuned"],
                title=f"{task['task']}: pass@1 under a token budget",
                xname="token budget",
            )
        if budget:
            run.summary.update(budget_summary_values(budget))
