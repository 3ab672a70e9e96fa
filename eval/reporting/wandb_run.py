"""The compare run on Weights & Biases: summary values, the table, the plots, a per-problem drill-down.

A W&B failure never costs the local results: they are written before this runs, and errors here are
reported as a warning.
"""

from __future__ import annotations

from pathlib import Path

from eval.compare.pairing import TaskComparison
from eval.evaluate import ModelEvaluation
from eval.reporting.cost import COST_HEADERS, cost_rows, cost_summary_values
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


def _logged_run(recipe: Recipe, out_dir: Path, job_type: str, config: dict, log) -> Path | None:
    """One W&B run of `job_type` grouped with the recipe's training run; `log(run, wandb)` fills it. A W&B
    failure is a warning: the local files are written before this runs."""
    try:
        mode = configure(recipe.wandb.project, recipe.wandb.entity, group=recipe.name, wandb_dir=out_dir)
        import wandb

        run, mode = start_run(
            project=recipe.wandb.project,
            entity=recipe.wandb.entity,
            group=recipe.name,
            job_type=job_type,
            name=f"{recipe.name}-{job_type}",
            tags=recipe.wandb.tags,
            dir=str(out_dir),
            config=config,
            reinit="finish_previous",
        )
        log(run, wandb)
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
    cost: list[dict] | None = None,
) -> Path | None:
    """Log the comparison as one W&B run (job type `compare`, grouped with the recipe's training run)."""

    def log(run, wandb) -> None:
        run.summary.update(summary_values(comparisons))
        run.summary.update(reasoning_summary_values(reasoning or []))
        run.summary.update(cost_summary_values(cost or []))
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
        if cost:
            logged["serving_cost"] = wandb.Table(columns=COST_HEADERS, data=cost_rows(cost))
        for name, path in plots.items():
            logged[f"plots/{name}"] = wandb.Image(str(path))
        run.log(logged)

    return _logged_run(recipe, out_dir, "compare", config, log)


def log_perf_run(recipe: Recipe, out_dir: Path, payload: dict) -> Path | None:
    """`make perf` as a W&B run (job type `perf`): per concurrency level, throughput and latency percentiles."""
    levels = list(payload["levels"].values())

    def log(run, wandb) -> None:
        metrics = [k for k in levels[0] if k.endswith("_ms")]
        stats = list(levels[0][metrics[0]])
        summary = {}
        rows = []
        for level in levels:
            prefix = f"perf/c{level['concurrency']}"
            for key in ("requests_per_s", "output_tokens_per_s", "completed", "failed"):
                summary[f"{prefix}/{key}"] = level[key]
            for metric in metrics:
                for stat in stats:
                    summary[f"{prefix}/{metric}/{stat}"] = level[metric][stat]
                rows.append([level["concurrency"], metric, *(level[metric][stat] for stat in stats)])
        run.summary.update(summary)
        run.log({"perf_latency": wandb.Table(columns=["concurrency", "metric", *stats], data=rows)})

    config = {k: payload[k] for k in ("model", "tool", "settings")}
    return _logged_run(recipe, out_dir, "perf", config, log)
