"""Command line for the eval stage: `compare` (baseline vs tuned) and `eval` (one model)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import get_args

from eval.quiet import quiet_libraries
from recipes.errors import UserError, exit_on_user_error
from recipes.files import strict_json
from recipes.protocol.grader import Unfinished


def _compare(args: argparse.Namespace) -> None:
    from eval.compare.command import Served, run_compare
    from recipes import load_recipe

    recipe = load_recipe(args.recipe, overrides=args.overrides)
    run_compare(
        recipe,
        baseline=args.baseline or None,
        tuned=args.tuned or None,
        allow_mismatch=args.mismatch == "allow",
        use_wandb=False if args.no_wandb else None,
        checkpoints=args.checkpoints == "all",
        regrade=args.regrade,
        served=Served(args.baseline_served, args.tuned_served, args.refresh),
        generate=not args.cached_only,
    )


def _eval_settings(recipe_path: str | None, tasks: str | None, default_tasks: list[str] | None = None):
    """Evaluation settings and chat template for one-model commands: the recipe's (or the protocol
    defaults on the three benchmarks), with `tasks=` narrowing the task list."""
    from pydantic import ValidationError

    from recipes import load_recipe
    from recipes.schema import EvalSpec

    recipe = load_recipe(recipe_path) if recipe_path else None
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


def _eval(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    from eval.evaluate import evaluate_model
    from eval.reporting.files import write_details

    spec, template, recipe_model, recipe = _eval_settings(args.recipe, args.tasks)
    evaluation = evaluate_model(
        args.model,
        spec,
        template,
        revision=recipe.model.revision if recipe and args.model == recipe_model else None,
        label=args.model,
        served_model=args.served_model,
        tokenizer_from=recipe_model,
        refresh=args.refresh,
    )
    table = Table(title=f"{args.model} ({evaluation.model.fingerprint[:12]})", title_justify="left")
    for column in ("task", "problems", "metric", "value"):
        table.add_column(column)
    for name, result in evaluation.results.items():
        for metric, value in result.metrics.items():
            table.add_row(name, str(len(result.problems)), metric, f"{100 * value:.1f}")
        if args.output_dir:
            write_details(result, Path(args.output_dir) / f"{name.replace(':', '_')}.jsonl")
    Console(width=160).print(table)


def _analyze(args: argparse.Namespace) -> None:

    from eval.evaluate import evaluate_model
    from eval.models import token_counter
    from eval.reasoning.analysis import analyse_task, single_model_rows
    from eval.reporting.reasoning import print_single_model

    spec, template, recipe_model, _ = _eval_settings(args.recipe, args.tasks)
    evaluation = evaluate_model(
        args.model,
        spec,
        template,
        label=args.model,
        generate=False,
        tokenizer_from=recipe_model,
    )
    count = token_counter(evaluation.model.path)
    rows = single_model_rows([analyse_task(r, count, spec.analysis) for r in evaluation.results.values()])
    print_single_model(args.model, rows)
    if args.output:
        Path(args.output).write_text(strict_json(rows))
        print(f"wrote {args.output}")


def _bench(args: argparse.Namespace) -> None:
    from eval.bench.run import STAGES, BenchSettings, run_bench
    from recipes import load_recipe

    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip()) if args.stages else STAGES
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        raise UserError(
            f"stages: unknown {', '.join(unknown) or '(none given)'}; expected some of {','.join(STAGES)}"
        )
    for flag in ("max_new_tokens", "max_problems", "prompt_tokens", "max_length", "sft_steps", "grpo_steps"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    recipe = load_recipe(args.recipe)
    suffix = "-random-weights" if args.weights == "random" else ""
    out = Path(args.output_dir or Path("outputs") / "bench" / f"{recipe.name}{suffix}")
    settings = BenchSettings(
        stages=stages,
        random_weights=args.weights == "random",
        max_new_tokens=args.max_new_tokens,
        max_problems=args.max_problems,
        prompt_tokens=args.prompt_tokens or BenchSettings.prompt_tokens,
        max_length=args.max_length,
        sft_steps=args.sft_steps or BenchSettings.sft_steps,
        grpo_steps=args.grpo_steps or BenchSettings.grpo_steps,
        prefix_caching=args.prefix_caching,
    )
    run_bench(recipe, out, settings)


def _chat(args: argparse.Namespace) -> None:
    from eval.chat import chat

    spec, template, recipe_model, _ = _eval_settings(args.recipe, None, default_tasks=["math_500"])
    chat(
        args.model,
        args.prompt,
        spec,
        template,
        args.max_new_tokens,
        task=args.task,
        served_model=args.served_model,
        tokenizer_from=recipe_model,
    )


def _contamination(args: argparse.Namespace) -> None:
    from eval.contamination.check import check_contamination
    from eval.reporting.contamination import print_contamination, write_contamination
    from recipes import load_recipe
    from recipes.runs import compare_dir

    recipe = load_recipe(args.recipe)
    if recipe.train is None:
        raise UserError(f"{args.recipe}: no `train` section, so no training data to check against")
    report = check_contamination(recipe)
    print_contamination(report)
    print(f"wrote {write_contamination(report, compare_dir(recipe))}")


def _rescore(args: argparse.Namespace) -> None:
    if args.file:
        from eval.rescore import rescore_jsonl

        if rescore_jsonl(Path(args.file), unfinished=args.unfinished, thinking=not args.no_thinking).skipped:
            raise SystemExit(1)
        return
    if not args.recipe:
        raise UserError("rescore needs recipe=R (re-grade a compare's saved generations) or file=F.jsonl")
    from eval.compare.command import run_compare
    from recipes import load_recipe

    recipe = load_recipe(args.recipe, overrides=args.overrides)
    run_compare(recipe, regrade=True, use_wandb=False if args.no_wandb else None)


def _view(args: argparse.Namespace) -> None:
    from eval.viewer.serve import compare_folder, serve

    serve(compare_folder(args.recipe, args.dir, args.overrides), args.host, args.port)


def _set_flag(parser: argparse.ArgumentParser) -> None:
    from recipes.loader import add_override_flag

    add_override_flag(parser, "eval.generation.max_new_tokens=8192")


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="reasonlift-eval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "compare", help="evaluate the recipe's base model and its tuned output; print the table"
    )
    p.add_argument("recipe")
    p.add_argument("--baseline", help="override the baseline model (hub id, folder or http://host:port/v1)")
    p.add_argument(
        "--tuned", help="override the tuned model (default: the recipe's train.output_dir; or a URL)"
    )
    p.add_argument("--baseline-served", help="served model name, when the baseline URL serves several")
    p.add_argument("--tuned-served", help="served model name, when the tuned URL serves several")
    p.add_argument(
        "--refresh", action="store_true", help="forget what was saved for URL sides (their weights changed)"
    )
    p.add_argument(
        "--mismatch", choices=["refuse", "allow"], default="refuse", help="compare despite different settings"
    )
    p.add_argument("--no-wandb", action="store_true")
    p.add_argument(
        "--checkpoints", choices=["all"], help="also evaluate every saved checkpoint-* (metric vs step)"
    )
    p.add_argument(
        "--regrade", action="store_true", help="re-grade saved generations instead of reusing results"
    )
    p.add_argument(
        "--cached-only",
        action="store_true",
        help="never generate: build the compare from saved results and generations (a Slurm sweep's last job)",
    )
    _set_flag(p)
    p.set_defaults(func=_compare)
    p = sub.add_parser("eval", help="evaluate one model")
    p.add_argument(
        "model", help="hub id, folder, builtin:NAME, or a served model's URL (http://host:port/v1)"
    )
    p.add_argument("--tasks", help="comma-separated: aime24,math_500,gpqa:diamond,toy_addition")
    p.add_argument("--recipe", help="take generation and vLLM settings from this recipe")
    p.add_argument("--output-dir", help="also write per-sample details here")
    p.add_argument("--served-model", help="for a URL: the served model's name (default: the only one)")
    p.add_argument(
        "--refresh", action="store_true", help="for a URL: forget what was saved (the served weights changed)"
    )
    p.set_defaults(func=_eval)
    p = sub.add_parser("analyze", help="reasoning-efficiency metrics of one model's saved generations")
    p.add_argument("model")
    p.add_argument("--tasks")
    p.add_argument("--recipe", help="the recipe whose evaluation settings produced the generations")
    p.add_argument("--output", help="also write the numbers as JSON here")
    p.set_defaults(func=_analyze)
    p = sub.add_parser("bench", help="throughput of generation, training and scoring against hardware bounds")
    p.add_argument("recipe")
    p.add_argument("--output-dir")
    p.add_argument(
        "--weights",
        choices=["trained", "random"],
        default="trained",
        help="random: the recipe model's architecture with random weights (real compute, no download)",
    )
    p.add_argument("--stages", help="comma-separated subset of scoring,generation,sft,grpo (default: all)")
    p.add_argument(
        "--max-new-tokens",
        type=int,
        help="generation limit (default: the recipe's; 1024 with random weights)",
    )
    p.add_argument(
        "--max-problems", type=int, help="problems per task (default: all; 32 with random weights)"
    )
    p.add_argument("--prompt-tokens", type=int, help="random weights: synthetic prompt length (default 256)")
    p.add_argument("--max-length", type=int, help="SFT sequence limit (default: the recipe's max_length)")
    p.add_argument(
        "--prefix-caching",
        choices=["both", "on", "off"],
        default="both",
        help="vLLM generation: measure with prefix caching off and on (default), or only one",
    )
    p.add_argument("--sft-steps", type=int, help="optimizer steps per SFT variant (default 30)")
    p.add_argument("--grpo-steps", type=int, help="GRPO steps (default 4)")
    p.set_defaults(func=_bench)
    p = sub.add_parser(
        "chat", help="one prompt through the evaluation's chat template and sampling, streamed"
    )
    p.add_argument("model", help="hub id, folder, builtin:NAME, or a served model's URL")
    p.add_argument("prompt")
    p.add_argument("--recipe", help="take generation settings and chat template from this recipe")
    p.add_argument("--task", help="wrap the prompt as this task does (aime24, math_500, gpqa:diamond)")
    p.add_argument("--served-model", help="for a URL: the served model's name (default: the only one)")
    p.add_argument("--max-new-tokens", type=int, default=2048)
    p.set_defaults(func=_chat)
    p = sub.add_parser(
        "contamination", help="evaluation problems that appear in the recipe's training data (8-gram overlap)"
    )
    p.add_argument("recipe")
    p.set_defaults(func=_contamination)
    p = sub.add_parser("rescore", help="re-grade saved generations without generating again")
    p.add_argument("--recipe", help="re-grade both sides of this recipe's compare and print the table again")
    p.add_argument("--file", help="a JSONL of {task, response, gold} lines to grade")
    p.add_argument(
        "--unfinished",
        choices=list(get_args(Unfinished)),
        default="no_answer",
        help="--file: what a response that never closed its thinking earns (as eval.grading.unfinished)",
    )
    p.add_argument(
        "--no-thinking",
        action="store_true",
        help="--file: the responses come from a model whose prompt opens no thinking block",
    )
    p.add_argument("--no-wandb", action="store_true")
    _set_flag(p)
    p.set_defaults(func=_rescore)
    p = sub.add_parser(
        "view", help="a local web app over a compare: the table, the problems, both sides' answers"
    )
    p.add_argument("--recipe", help="the recipe whose compare to show")
    p.add_argument("--dir", help="a compare folder (or a trained model's folder holding compare/)")
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to listen on every interface")
    p.add_argument("--port", type=int, default=8765)
    _set_flag(p)
    p.set_defaults(func=_view)
    args = parser.parse_args(argv)
    quiet_libraries()
    args.func(args)


if __name__ == "__main__":
    main()
