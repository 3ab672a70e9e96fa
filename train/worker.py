"""The process `accelerate launch` starts on every device: read the run the launcher resolved and train it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from recipes import log
from recipes.cli import run
from recipes.errors import UserError, exit_on_user_error
from recipes.log import info
from recipes.paths import REPO_ROOT
from recipes.runs import run_name
from recipes.wandb_env import configure, offline_runs, start_run, sync_hint
from train import common
from train.failures import FAILURE_FILE_VAR, explain
from train.run import TrainRun

_output: Path | None = None


RunFile = Annotated[
    Path, typer.Argument(help="the run `reasonlift train` resolved (train.run.TrainRun.write)")
]
Resume = Annotated[bool, typer.Option(help="continue from the last complete checkpoint")]


@exit_on_user_error
def worker(run_file: RunFile, resume: Resume = False) -> None:
    """Train the run in RUN_FILE on this process's device (started by `accelerate launch`, not by hand)."""
    try:
        train_run(TrainRun.read(run_file), resume)
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


def train_run(run: TrainRun, resume: bool) -> None:
    recipe = run.recipe
    assert recipe.train is not None
    global _output
    _output = common.output_dir(recipe)
    if resume and (done := common.finished_run(recipe)):  # a resubmitted or requeued finished job
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
                name=run_name(recipe),
                tags=recipe.wandb.tags,
                dir=str(wandb_dir),
            )[1]
    if recipe.train.method == "grpo":
        from train.grpo import run_grpo

        summary = run_grpo(run, resume=resume)
    else:
        from train.sft import run_sft

        summary = run_sft(run, resume=resume)
    if summary is None:  # not the main process
        return
    if summary["first_loss"] is None:  # fewer steps than logging_steps: nothing was logged
        loss = f"no loss logged (logging_steps {recipe.train.args.get('logging_steps')} > the run's steps)"
    else:
        loss = f"loss {summary['first_loss']:.3f} -> {summary['final_loss']:.3f}"
    speed = f"{summary['tokens_per_s']:.0f} tokens/s" if summary["tokens_per_s"] else "tokens/s not logged"
    info(
        f"trained {recipe.name}: {summary['global_step']} steps in {summary['runtime_s']:.0f}s, {loss}, {speed}; "
        f"saved to {summary['output_dir']}"
    )
    if recipe.wandb.enabled and mode == "offline":
        runs = offline_runs(wandb_dir)
        if runs:
            info(
                sync_hint(runs[-1].relative_to(REPO_ROOT) if runs[-1].is_relative_to(REPO_ROOT) else runs[-1])
            )


def main(argv: list[str] | None = None) -> None:
    run(worker, argv)


if __name__ == "__main__":
    main()
