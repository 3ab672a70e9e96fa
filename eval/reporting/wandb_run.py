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


# The per-sample drill-down: bounded, so a full compare (~10,000 samples of up to 32k tokens) stays a table
# W&B shows; each response is cut to its end (where the answer is).
MAX_SAMPLE_ROWS = 2000
RESPONSE_CHARS = 1500
SAMPLE_COLUMNS = [
    "task",
    "problem_id",
    "side",
    "sample",
    "response (end)",
    "extracted",
    "gold",
    "correct",
    "tokens",
    "finish_reason",
]


def sample_rows(baseline: TaskResult, tuned: TaskResult, limit: int) -> list[list]:
    """Each sample of both sides, problem by problem (both sides of a problem together), at most `limit`."""
    tuned_by_id = {p.problem_id: p for p in tuned.problems}
    rows: list[list] = []
    for b in baseline.problems:
        t = tuned_by_id.get(b.problem_id)
        if t is None:
            continue
        for side, problem in (("baseline", b), ("tuned", t)):
            for index, s in enumerate(problem.samples):
                text = s.text if len(s.text) <= RESPONSE_CHARS else "…" + s.text[-RESPONSE_CHARS:]
                rows.append(
                    [
                        baseline.task,
                        b.problem_id,
                        side,
                        index,
                        text,
                        s.extracted,
                        b.gold,
                        s.correct,
                        s.tokens,
                        s.finish_reason,
                    ]
                )
        if len(rows) >= limit:
            break
    return rows[:limit]


def log_curve_on_training_steps(run, curve: list[dict]) -> None:
    """The checkpoint evaluations as history against `train/global_step`, the step metric TRL's training run
    logs with (transformers' W&B callback): in a W&B workspace grouped by the recipe, training loss or reward
    and benchmark pass@1 share one x-axis."""
    run.define_metric("train/global_step")
    run.define_metric("eval/*", step_metric="train/global_step")
    for point in curve:
        values = {"train/global_step": point["step"]}
        for task, figures in point["tasks"].items():
            values[f"eval/{task}/pass@1"] = figures["pass@1"]
        run.log(values)


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
    budget: list[dict] | None = None,
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
        per_task = MAX_SAMPLE_ROWS // max(len(baseline.results), 1)  # every task gets its share
        logged["samples"] = wandb.Table(
            columns=SAMPLE_COLUMNS,
            data=[
                row
                for name in baseline.results
                for row in sample_rows(baseline.results[name], tuned.results[name], per_task)
            ],
        )
        if curve:
            tasks = list(curve[0]["tasks"])
            logged["checkpoint_curve"] = wandb.Table(
                columns=["step", "checkpoint", *tasks],
                data=[[p["step"], p["label"], *(p["tasks"][t]["pass@1"] for t in tasks)] for p in curve],
            )
            log_curve_on_training_steps(run, curve)
        if cost:
            logged["serving_cost"] = wandb.Table(columns=COST_HEADERS, data=cost_rows(cost))
        for task in budget or []:
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
