"""Command line for the eval stage: `compare` (baseline vs tuned) and `eval` (one model)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from eval.quiet import quiet_libraries
from recipes.cli import NoWandb, Overrides, RecipeArgument, run
from recipes.errors import UserError, exit_on_user_error
from recipes.files import strict_json
from recipes.log import info
from recipes.protocol.grader import Unfinished


def _eval_settings(
    recipe_path: str | None,
    tasks: str | None,
    default_tasks: list[str] | None = None,
    overrides: list[str] | None = None,
):
    """Evaluation settings and chat template for one-model commands: the recipe's (or the protocol
    defaults on the three benchmarks), with `tasks=` narrowing the task list."""
    from pydantic import ValidationError

    from recipes import load_recipe
    from recipes.schema import EvalSpec

    if overrides and not recipe_path:
        raise UserError("--set changes a recipe's keys: name the recipe with --recipe")
    recipe = load_recipe(recipe_path, overrides=overrides or []) if recipe_path else None
    spec = recipe.eval if recipe else EvalSpec(tasks=default_tasks or ["aime24", "math_500", "gpqa:diamond"])
    if tasks:
        try:
            spec = spec.model_copy(update={"tasks": EvalSpec(tasks=tasks.split(",")).tasks})
        except ValidationError as err:
            message = err.errors()[0]["msg"].removeprefix("Value error, ")
            raise UserError(f"tasks={tasks}: {message}") from None
    return (
        spec,
        recipe.model.chat_template if recipe else "model",
        recipe.model.name_or_path if recipe else None,
        recipe,
    )


# The subcommands, as typer reads them (each is named in pyproject.toml's reasonlift.commands): typed functions,
# their bodies importing the stage they run only when called, so `reasonlift --help` stays light.
OptionalRecipe = Annotated[str | None, typer.Option("--recipe", metavar="RECIPE")]
Model = Annotated[
    str, typer.Argument(help="hub id, folder, builtin:NAME, or a served model's URL (http://host:port/v1)")
]
ServedModel = Annotated[
    str | None, typer.Option(help="for a URL: the served model's name (default: the only one)")
]
Refresh = Annotated[bool, typer.Option(help="for a URL: forget what was saved (the served weights changed)")]
Count = Annotated[int | None, typer.Option(min=1)]


@exit_on_user_error
def compare(
    recipe_path: RecipeArgument,
    baseline: Annotated[
        str | None, typer.Option(help="override the baseline model (hub id, folder or URL)")
    ] = None,
    tuned: Annotated[
        str | None, typer.Option(help="override the tuned model (default: train.output_dir; or a URL)")
    ] = None,
    baseline_served: Annotated[
        str | None, typer.Option(help="served model name, when the baseline URL serves several")
    ] = None,
    tuned_served: Annotated[
        str | None, typer.Option(help="served model name, when the tuned URL serves several")
    ] = None,
    refresh: Annotated[
        bool, typer.Option(help="forget what was saved for URL sides (their weights changed)")
    ] = False,
    mismatch: Annotated[
        Literal["refuse", "allow"], typer.Option(help="compare despite different settings")
    ] = "refuse",
    no_wandb: NoWandb = False,
    checkpoints: Annotated[
        Literal["all"] | None, typer.Option(help="also evaluate every saved checkpoint-* (metric vs step)")
    ] = None,
    regrade: Annotated[
        bool, typer.Option(help="re-grade saved generations instead of reusing results")
    ] = False,
    cached_only: Annotated[
        bool,
        typer.Option(help="never generate: build the compare from saved results (a Slurm sweep's last job)"),
    ] = False,
    overrides: Overrides = None,
) -> None:
    """Evaluate the recipe's base model and its tuned output with identical settings; print the table."""
    quiet_libraries()
    from eval.compare.command import Served, run_compare
    from recipes import load_recipe

    run_compare(
        load_recipe(recipe_path, overrides=overrides or []),
        baseline=baseline or None,
        tuned=tuned or None,
        allow_mismatch=mismatch == "allow",
        use_wandb=False if no_wandb else None,
        checkpoints=checkpoints == "all",
        regrade=regrade,
        served=Served(baseline_served, tuned_served, refresh),
        generate=not cached_only,
    )


@exit_on_user_error
def eval(
    model: Model,
    tasks: Annotated[
        str | None, typer.Option(help="comma-separated: aime24,aime25,math_500,gpqa:diamond,toy_addition")
    ] = None,
    recipe: Annotated[
        str | None, typer.Option(help="take generation and vLLM settings from this recipe")
    ] = None,
    output_dir: Annotated[str | None, typer.Option(help="also write per-sample details here")] = None,
    served_model: ServedModel = None,
    refresh: Refresh = False,
    overrides: Overrides = None,
) -> None:
    """Evaluate one model."""
    quiet_libraries()
    from rich.console import Console
    from rich.table import Table

    from eval.evaluate import evaluate_model
    from eval.reporting.files import write_details

    spec, template, recipe_model, loaded = _eval_settings(recipe, tasks, overrides=overrides)
    evaluation = evaluate_model(
        model,
        spec,
        template,
        revision=loaded.model.revision if loaded and model == recipe_model else None,
        label=model,
        served_model=served_model,
        tokenizer_from=recipe_model,
        refresh=refresh,
    )
    table = Table(title=f"{model} ({evaluation.model.fingerprint[:12]})", title_justify="left")
    for column in ("task", "problems", "metric", "value"):
        table.add_column(column)
    for name, result in evaluation.results.items():
        for metric, value in result.metrics.items():
            table.add_row(name, str(len(result.problems)), metric, f"{100 * value:.1f}")
        if output_dir:
            write_details(result, Path(output_dir) / f"{name.replace(':', '_')}.jsonl")
    Console(width=160).print(table)


@exit_on_user_error
def analyze(
    model: Model,
    tasks: str | None = None,
    recipe: Annotated[
        str | None, typer.Option(help="the recipe whose evaluation settings produced the generations")
    ] = None,
    output: Annotated[str | None, typer.Option(help="also write the numbers as JSON here")] = None,
    overrides: Overrides = None,
) -> None:
    """Reasoning-efficiency metrics of one model's saved generations."""
    quiet_libraries()
    from eval.evaluate import evaluate_model
    from eval.models import token_counter
    from eval.reasoning.analysis import analyse_task, single_model_rows
    from eval.reporting.sections.reasoning import print_single_model

    spec, template, recipe_model, _ = _eval_settings(recipe, tasks, overrides=overrides)
    evaluation = evaluate_model(
        model, spec, template, label=model, generate=False, tokenizer_from=recipe_model
    )
    count = token_counter(evaluation.model.path)
    rows = single_model_rows(
        [
            analyse_task(r, count, spec.analysis, tokenizer_source=evaluation.model.path)
            for r in evaluation.results.values()
        ]
    )
    print_single_model(model, rows)
    if output:
        Path(output).write_text(strict_json(rows))
        info(f"wrote {output}")


@exit_on_user_error
def bench(
    recipe_path: RecipeArgument,
    output_dir: str | None = None,
    weights: Annotated[
        Literal["trained", "random"],
        typer.Option(
            help="random: the recipe model's architecture with random weights (real compute, no download)"
        ),
    ] = "trained",
    stages: Annotated[
        str | None,
        typer.Option(
            help="comma-separated subset of scoring,contamination,analysis,generation,scheduling,sft,grpo"
        ),
    ] = None,
    max_new_tokens: Annotated[
        int | None,
        typer.Option(min=1, help="generation limit (default: the recipe's; 1024 with random weights)"),
    ] = None,
    max_problems: Annotated[
        int | None, typer.Option(min=1, help="problems per task (default: all; 32 with random weights)")
    ] = None,
    prompt_tokens: Annotated[
        int | None, typer.Option(min=1, help="random weights: synthetic prompt length (default 256)")
    ] = None,
    max_length: Annotated[
        int | None, typer.Option(min=1, help="SFT sequence limit (default: the recipe's max_length)")
    ] = None,
    prefix_caching: Annotated[
        Literal["both", "on", "off"],
        typer.Option(help="vLLM generation: prefix caching off and on (default), or one"),
    ] = "both",
    sft_steps: Annotated[
        int | None, typer.Option(min=1, help="optimizer steps per SFT variant (default 30)")
    ] = None,
    grpo_steps: Annotated[int | None, typer.Option(min=1, help="GRPO steps (default 4)")] = None,
    analysis_scale: Annotated[
        float,
        typer.Option(
            min=0.001, max=1.0, help="stages=analysis: the synthetic compare's size (1 = the protocol's)"
        ),
    ] = 1.0,
    overrides: Overrides = None,
) -> None:
    """Throughput of generation, training and scoring against the hardware's bounds."""
    quiet_libraries()
    from eval.bench.run import STAGES, BenchSettings, run_bench
    from recipes import load_recipe

    chosen = tuple(s.strip() for s in stages.split(",") if s.strip()) if stages else STAGES
    unknown = [s for s in chosen if s not in STAGES]
    if unknown or not chosen:
        raise UserError(
            f"stages: unknown {', '.join(unknown) or '(none given)'}; expected some of {','.join(STAGES)}"
        )
    recipe = load_recipe(recipe_path, overrides=overrides or [])
    suffix = "-random-weights" if weights == "random" else ""
    out = Path(output_dir or Path("outputs") / "bench" / f"{recipe.name}{suffix}")
    settings = BenchSettings(
        stages=chosen,
        random_weights=weights == "random",
        max_new_tokens=max_new_tokens,
        max_problems=max_problems,
        prompt_tokens=prompt_tokens or BenchSettings.prompt_tokens,
        max_length=max_length,
        sft_steps=sft_steps or BenchSettings.sft_steps,
        grpo_steps=grpo_steps or BenchSettings.grpo_steps,
        prefix_caching=prefix_caching,
        analysis_scale=analysis_scale,
    )
    run_bench(recipe, out, settings)


@exit_on_user_error
def chat(
    model: Model,
    prompt: str,
    recipe: Annotated[
        str | None, typer.Option(help="take generation settings and chat template from this recipe")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="wrap the prompt as this task does (aime24, math_500, gpqa:diamond)")
    ] = None,
    served_model: ServedModel = None,
    max_new_tokens: Annotated[int, typer.Option(min=1)] = 2048,
    overrides: Overrides = None,
) -> None:
    """One prompt through the evaluation's chat template and sampling, streamed."""
    quiet_libraries()
    from eval.chat import chat as stream_chat

    spec, template, recipe_model, _ = _eval_settings(
        recipe, None, default_tasks=["math_500"], overrides=overrides
    )
    stream_chat(
        model,
        prompt,
        spec,
        template,
        max_new_tokens,
        task=task,
        served_model=served_model,
        tokenizer_from=recipe_model,
    )


@exit_on_user_error
def contamination(recipe_path: RecipeArgument, overrides: Overrides = None) -> None:
    """Evaluation problems that appear in the recipe's training data (8-gram overlap)."""
    quiet_libraries()
    from eval.contamination.check import check_contamination
    from eval.reporting.sections.contamination import print_contamination, write_contamination
    from recipes import load_recipe
    from recipes.runs import compare_dir

    recipe = load_recipe(recipe_path, overrides=overrides or [])
    if recipe.train is None:
        raise UserError(f"{recipe_path}: no `train` section, so no training data to check against")
    report = check_contamination(recipe)
    print_contamination(report)
    info(f"wrote {write_contamination(report, compare_dir(recipe))}")


@exit_on_user_error
def rescore(
    recipe: Annotated[
        str | None, typer.Option(help="re-grade both sides of this recipe's compare, print the table again")
    ] = None,
    file: Annotated[str | None, typer.Option(help="a JSONL of {task, response, gold} lines to grade")] = None,
    unfinished: Annotated[
        Unfinished, typer.Option(help="--file: what a response that never closed its thinking earns")
    ] = "no_answer",
    no_thinking: Annotated[
        bool, typer.Option("--no-thinking", help="--file: the prompt opens no thinking block")
    ] = False,
    no_wandb: NoWandb = False,
    overrides: Overrides = None,
) -> None:
    """Re-grade saved generations without generating again."""
    quiet_libraries()
    if file:
        from eval.rescore import rescore_jsonl

        if rescore_jsonl(Path(file), unfinished=unfinished, thinking=not no_thinking).skipped:
            raise SystemExit(1)
        return
    if not recipe:
        raise UserError("rescore needs recipe=R (re-grade a compare's saved generations) or file=F.jsonl")
    from eval.compare.command import run_compare
    from recipes import load_recipe

    run_compare(
        load_recipe(recipe, overrides=overrides or []), regrade=True, use_wandb=False if no_wandb else None
    )


@exit_on_user_error
def view(
    recipe: Annotated[str | None, typer.Option(help="the recipe whose compare to show")] = None,
    dir: Annotated[
        str | None, typer.Option(help="a compare folder (or a trained model's folder holding compare/)")
    ] = None,
    host: Annotated[str, typer.Option(help="0.0.0.0 to listen on every interface")] = "127.0.0.1",
    port: int = 8765,
    overrides: Overrides = None,
) -> None:
    """A local web app over a compare: the table, the problems, both sides' answers."""
    quiet_libraries()
    from eval.viewer.serve import compare_folder, serve

    serve(compare_folder(recipe, dir, overrides or []), host, port)


COMMANDS = {f.__name__: f for f in (compare, eval, analyze, bench, chat, contamination, rescore, view)}


def main(argv: list[str] | None = None) -> None:
    """`python -m eval.cli COMMAND ...` (the same as `reasonlift COMMAND ...`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(
            f"usage: python -m eval.cli {{{','.join(COMMANDS)}}} ... (or `reasonlift COMMAND`)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    run(COMMANDS[argv[0]], argv[1:])


if __name__ == "__main__":
    main()
