"""`make compare`: evaluate baseline and tuned model, check they were evaluated alike, report."""

from __future__ import annotations

from pathlib import Path

from eval.checkpoints import checkpoint_curve
from eval.compare import TaskComparison, compare_task
from eval.plots import curve_plot, write_plots
from eval.reasoning_report import (
    analyse_task,
    comparison_rows,
    print_reasoning_table,
    reasoning_markdown,
    reasoning_plots,
    token_counter,
)
from eval.report import HEADERS, print_table, table_rows, write_reports
from eval.results import write_details
from eval.runner import ModelEvaluation, evaluate_model
from recipes.errors import UserError
from recipes.provenance import provenance
from recipes.schema import Recipe


def default_output_dir(recipe: Recipe) -> Path:
    if recipe.eval.output_dir:
        return Path(recipe.eval.output_dir).resolve()
    if recipe.train is not None:
        return Path(recipe.train.output_dir).resolve() / "compare"
    return Path("outputs", recipe.name, "compare").resolve()


def run_compare(
    recipe: Recipe,
    baseline: str | None = None,
    tuned: str | None = None,
    allow_mismatch: bool = False,
    use_wandb: bool | None = None,
    checkpoints: bool = False,
    regrade: bool = False,
) -> dict:
    base_dir = Path(recipe.source).parent if recipe.source else Path.cwd()
    baseline_name = baseline or recipe.model.name_or_path
    if tuned is None:
        if recipe.train is None:
            raise UserError(
                f"{recipe.source}: no `train` section, so name the tuned model: `make compare ... tuned=PATH`"
            )
        tuned = recipe.train.output_dir
        if not Path(tuned).exists():
            raise UserError(
                f"the tuned model {tuned} does not exist yet: run `make train recipe={recipe.source}` first, "
                "or name another with tuned=PATH"
            )
    out_dir = default_output_dir(recipe)
    out_dir.mkdir(parents=True, exist_ok=True)

    print(f"== baseline: {baseline_name}")
    base_eval = evaluate_model(
        baseline_name,
        recipe.eval,
        recipe.model.chat_template,
        revision=recipe.model.revision if baseline is None else None,
        recipe_dir=base_dir,
        label="baseline",
        regrade=regrade,
    )
    print(f"== tuned: {tuned}")
    tuned_eval = evaluate_model(
        tuned, recipe.eval, recipe.model.chat_template, recipe_dir=base_dir, label="tuned", regrade=regrade
    )

    comparisons = [compare_task(base_eval.results[t], tuned_eval.results[t]) for t in base_eval.results]
    mismatches = [m for c in comparisons for m in c.mismatches]
    if mismatches and not allow_mismatch:
        raise UserError(
            "the two sides were not evaluated alike, so their difference would not mean much:\n  - "
            + "\n  - ".join(mismatches)
            + "\nre-run with the same settings, or add mismatch=allow to compare anyway (the table is then marked)"
        )
    if base_eval.model.fingerprint == tuned_eval.model.fingerprint:
        print("notice: baseline and tuned have identical weights: every delta below is sampling noise")

    samples = {t: base_eval.results[t].settings["n"] for t in base_eval.results}
    title = f"{recipe.name}: {baseline_name} → {tuned}"
    print_table(comparisons, samples, title, bool(mismatches))

    for side, evaluation in (("baseline", base_eval), ("tuned", tuned_eval)):
        for name, result in evaluation.results.items():
            write_details(result, out_dir / "details" / side / f"{name.replace(':', '_')}.jsonl")
    plots = write_plots(out_dir, comparisons)
    payload = _payload(recipe, base_eval, tuned_eval, comparisons, mismatches)
    if checkpoints:
        curve = checkpoint_curve(recipe, Path(tuned_eval.model.path), base_eval, tuned_eval, base_dir)
        payload["checkpoint_curve"] = curve
        plots["checkpoints"] = curve_plot(curve, out_dir / "checkpoints.png")
        _print_curve(curve)
    reasoning_rows, reasoning_pairs = _reasoning(recipe, base_eval, tuned_eval)
    payload["reasoning"] = reasoning_rows
    plots.update(reasoning_plots(out_dir, reasoning_pairs))
    paths = write_reports(out_dir, comparisons, samples, title, bool(mismatches), payload)
    with open(paths["markdown"], "a") as f:
        f.write("\n" + reasoning_markdown(reasoning_rows))
    print(f"wrote {', '.join(str(p) for p in [*paths.values(), *plots.values()])} and details/ in {out_dir}")

    wandb_enabled = recipe.wandb.enabled if use_wandb is None else use_wandb
    if wandb_enabled:
        from eval.wandb_report import log_compare_run

        log_compare_run(
            recipe,
            out_dir,
            comparisons,
            HEADERS,
            table_rows(comparisons, samples),
            plots,
            base_eval,
            tuned_eval,
            config={"baseline": baseline_name, "tuned": tuned, "settings": payload["settings"]},
            curve=payload.get("checkpoint_curve"),
            reasoning=reasoning_rows,
        )
    return payload


def _reasoning(recipe: Recipe, base_eval: ModelEvaluation, tuned_eval: ModelEvaluation):
    """The second section: how each side thinks, from the generations already scored."""
    spec = recipe.eval.analysis
    base_count, tuned_count = token_counter(base_eval.model.path), token_counter(tuned_eval.model.path)
    pairs = [
        (
            analyse_task(base_eval.results[t], base_count, spec),
            analyse_task(tuned_eval.results[t], tuned_count, spec),
        )
        for t in base_eval.results
    ]
    rows = [row for base, tuned in pairs for row in comparison_rows(base, tuned)]
    print_reasoning_table(rows)
    return rows, pairs


def _print_curve(curve: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    tasks = list(curve[0]["tasks"])
    table = Table(title="pass@1 over training", title_justify="left")
    table.add_column("step", justify="right")
    table.add_column("checkpoint")
    for task in tasks:
        table.add_column(task, justify="right")
    for point in curve:
        cells = [
            f"{100 * point['tasks'][t]['pass@1']:.1f} ± {100 * point['tasks'][t]['se']:.1f}" for t in tasks
        ]
        table.add_row(str(point["step"]), point["label"], *cells)
    Console(width=160).print(table)


def _side(evaluation: ModelEvaluation) -> dict:
    return {
        "model": evaluation.model.name,
        "path": evaluation.model.path,
        "fingerprint": evaluation.model.fingerprint,
        "reused_cached_results": evaluation.reused,
        "metrics": {name: r.metrics for name, r in evaluation.results.items()},
    }


def _payload(recipe, base_eval, tuned_eval, comparisons: list[TaskComparison], mismatches: list[str]) -> dict:
    return {
        "recipe": recipe.name,
        "recipe_path": recipe.source,
        "baseline": _side(base_eval),
        "tuned": _side(tuned_eval),
        "settings": {name: r.settings for name, r in base_eval.results.items()},
        "mismatched_settings": mismatches,
        "tasks": {c.task: [row.to_json() for row in c.rows] for c in comparisons},
        "statistics": {
            "unit": "problem",
            "interval": "95% paired percentile bootstrap, 10,000 resamples, seed 0",
            "test": "paired permutation (sign-flip), exact up to 16 non-zero differences",
        },
        "provenance": provenance(),
        "eval_spec": recipe.eval.model_dump(),
    }
