"""The compare run on Weights & Biases: summary values, the table, the plots, a per-problem drill-down.

A W&B failure never costs the local results: they are written before this runs, and errors here are
reported as a warning.
"""

from __future__ import annotations

from pathlib import Path

from eval.compare.pairing import TaskComparison
from eval.evaluate import ModelEvaluation
from eval.reporting.table import HEADERS, summary_values, table_rows
from eval.stores.results import TaskResult
from recipes.paths import REPO_ROOT
from recipes.schema import Recipe
from recipes.wandb_env import configure, start_run, sync_hint


def reasoning_summary_values(rows: list[dict]) -> dict[str, float]:
    values = {}
    for row in rows:
        key = row["task"] if row["subset"] is None else f"{row['task']}/{row['subset'].replace(' ', '_')}"
        for metric in row["delta"]:
            values[f"reasoning/{key}/{metric}/baseline"] = row["baseline"][metric]
            values[f"reasoning/{key}/{metric}/tuned"] = row["tuned"][metric]
            values[f"reasoning/{key}/{metric}/delta"] = row["delta"][metric]
    return values


def drilldown_rows(baseline: TaskResult, tuned: TaskResult) -> list[list]:
    """One row per problem: what each side answered (its majority answer) and how often it was right."""
    tuned_by_id = {p.problem_id: p for p in tuned.problems}
    return [
        [
            baseline.task,
            b.problem_id,
            b.gold,
            b.majority_answer,
            round(b.pass1, 4),
            round(b.mean_tokens, 1),
            t.majority_answer,
            round(t.pass1, 4),
            round(t.mean_tokens, 1),
            round(t.pass1 - b.pass1, 4),
        ]
        for b in baseline.problems
        if (t := tuned_by_id.get(b.problem_id)) is not None
    ]


DRILLDOWN_COLUMNS = [
    "task",
    "problem_id",
    "gold",
    "baseline_answer",
    "baseline_pass1",
    "baseline_tokens",
    "tuned_answer",
    "tuned_pass1",
    "tuned_tokens",
    "change",
]


def log_compare_run(
    recipe: Recipe,
    out_dir: Path,
    comparisons: list[TaskComparison],
    plots: dict[str, Path],
    baseline: ModelEvaluation,
    tuned: ModelEvaluation,
    config: dict,
    curve: list[dict] | None = None,
    reasoning: list[dict] | None = None,
) -> Path | None:
    """Log the comparison as one W&B run (job type `compare`, grouped with the recipe's training run)."""
    try:
        mode = configure(recipe.wandb.project, recipe.wandb.entity, group=recipe.name, wandb_dir=out_dir)
        import wandb

        init_args = dict(
            project=recipe.wandb.project,
            entity=recipe.wandb.entity,
            group=recipe.name,
            job_type="compare",
            name=f"{recipe.name}-compare",
            tags=recipe.wandb.tags,
            dir=str(out_dir),
            config=config,
            reinit="finish_previous",
        )
        run, mode = start_run(**init_args)
        run.summary.update(summary_values(comparisons))
        run.summary.update(reasoning_summary_values(reasoning or []))
        logged = {"compare_table": wandb.Table(columns=HEADERS, data=table_rows(comparisons))}
        drill = [
            row
            for name in baseline.results
            for row in drilldown_rows(baseline.results[name], tuned.results[name])
        ]
        logged["per_problem"] = wandb.Table(columns=DRILLDOWN_COLUMNS, data=drill)
        if curve:
            tasks = list(curve[0]["tasks"])
            logged["checkpoint_curve"] = wandb.Table(
                columns=["step", "checkpoint", *tasks],
                data=[[p["step"], p["label"], *(p["tasks"][t]["pass@1"] for t in tasks)] for p in curve],
            )
        for name, path in plots.items():
            logged[f"plots/{name}"] = wandb.Image(str(path))
        run.log(logged)
        run_dir = Path(run.dir).parent
        run.finish()
    except Exception as err:  # never lose the local results to a logging problem
        print(
            f"warning: W&B logging failed ({type(err).__name__}: {err}); local results are complete in {out_dir}"
        )
        return None
    if mode == "offline":
        shown = run_dir.relative_to(REPO_ROOT) if run_dir.is_relative_to(REPO_ROOT) else run_dir
        print(sync_hint(shown))
    return run_dir
