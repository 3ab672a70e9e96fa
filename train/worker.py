"""The process `accelerate launch` starts on every device: load the recipe and run its training method."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from recipes import load_recipe, log
from recipes.errors import UserError, exit_on_user_error
from recipes.paths import REPO_ROOT
from recipes.wandb_env import configure, offline_runs, start_run, sync_hint
from train import common
from train.failures import FAILURE_FILE_VAR, explain

_output: Path | None = None


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
    except KeyboardInterrupt:  # Ctrl-C reaches every worker: the launcher says what to do, once
        raise SystemExit(130) from None
    except UserError as err:
        _said(str(err))
        raise
    except Exception as err:
        line = explain(err, _output)
        if line is None:
            raise  # unexpected: its traceback is the information
        _said(line)
        raise UserError(line) from None


def _said(line: str) -> None:
    if os.environ.get(FAILURE_FILE_VAR):
        with open(os.environ[FAILURE_FILE_VAR], "a") as f:
            f.write(line + "\n")


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("recipe")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)

    recipe = load_recipe(args.recipe, overrides=args.overrides)
    assert recipe.train is not None
    global _output
    _output = common.output_dir(recipe)
    if args.resume and (done := common.finished_run(recipe)):  # a resubmitted or requeued finished job
        log.info(common.finished_notice(done))
        return
    wandb_dir = common.output_dir(recipe)
    if recipe.wandb.enabled:
        mode = configure(
            recipe.wandb.project,
            recipe.wandb.entity,
            group=recipe.name,
            wandb_dir=wandb_dir,
            job_type="train",
        )
        if common.is_main_process():
            # start the run here (TRL's callback reuses it), so a server that fails it cannot stop training
            mode = start_run(
                project=recipe.wandb.project,
                entity=recipe.wandb.entity,
                group=recipe.name,
                job_type="train",
                name=recipe.name,
                tags=recipe.wandb.tags,
                dir=str(wandb_dir),
            )[1]
    if recipe.train.method == "grpo":
        from train.grpo import run_grpo

        summary = run_grpo(recipe, resume=args.resume)
    else:
        from train.sft import run_sft

        summary = run_sft(recipe, resume=args.resume)
    if summary is None:  # not the main process
        return
    if summary["first_loss"] is None:  # fewer steps than logging_steps: nothing was logged
        loss = f"no loss logged (logging_steps {recipe.train.args.get('logging_steps')} > the run's steps)"
    else:
        loss = f"loss {summary['first_loss']:.3f} -> {summary['final_loss']:.3f}"
    speed = f"{summary['tokens_per_s']:.0f} tokens/s" if summary["tokens_per_s"] else "tokens/s not logged"
    print(
        f"trained {recipe.name}: {summary['global_step']} steps in {summary['runtime_s']:.0f}s, {loss}, {speed}; "
        f"saved to {summary['output_dir']}"
    )
    if recipe.wandb.enabled and mode == "offline":
        runs = offline_runs(wandb_dir)
        if runs:
            print(
                sync_hint(runs[-1].relative_to(REPO_ROOT) if runs[-1].is_relative_to(REPO_ROOT) else runs[-1])
            )


if __name__ == "__main__":
    main()
