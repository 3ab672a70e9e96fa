"""Runs on Weights & Biases: the compare (what its sections add) and `make perf`.

A W&B failure never costs the local results: they are written before this runs, and errors here are
reported as a warning.
"""

from __future__ import annotations

from pathlib import Path

from eval.reporting.sections.base import Section, log_sections
from recipes.log import info
from recipes.paths import REPO_ROOT
from recipes.schema import Recipe
from recipes.wandb_env import configure, start_run, sync_hint


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
        info(
            f"warning: W&B logging failed ({type(err).__name__}: {err}); local results are complete in {out_dir}"
        )
        return None
    if mode == "offline":
        shown = run_dir.relative_to(REPO_ROOT) if run_dir.is_relative_to(REPO_ROOT) else run_dir
        info(sync_hint(shown))
    return run_dir


def log_compare_run(
    recipe: Recipe, out_dir: Path, sections: list[Section], plots: dict[str, Path], config: dict
) -> Path | None:
    """Log the comparison as one W&B run (job type `compare`, grouped with the recipe's training run): what each
    section adds (summary values, tables, charts) and the plots."""
    return _logged_run(
        recipe, out_dir, "compare", config, lambda run, wandb: log_sections(sections, run, wandb, plots)
    )


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
