"""`make train recipe=...`: validate the recipe, build what it needs, then `accelerate launch` the trainer."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from recipes import load_recipe, log
from recipes.cli import Overrides, RecipeArgument, run
from recipes.errors import UserError, exit_on_user_error
from recipes.gpus import gpu_available
from recipes.hub import hub_reachable
from recipes.locks import FileLock
from recipes.log import info
from recipes.paths import REPO_ROOT
from recipes.runs import last_checkpoint, output_dir, seed_label, seed_runs
from recipes.schema import Recipe
from recipes.wandb_env import REASON_VAR, choose_mode, keep_unsynced_runs
from train.checkpoints import set_aside_incomplete
from train.common import check_output_dir, check_resume_matches, copy_recipe, finished_notice, finished_run
from train.data import load_for_method
from train.preflight import preflight
from train.run import ONE_MACHINE, Rendezvous, TrainRun, base_model_folder

NOTHING_TO_TRAIN = 10  # `--prepare --resume` on a finished run: the Slurm scripts then start nothing


def prepare_run(
    recipe: Recipe,
    resume: bool,
    num_processes: int | None = None,
    fresh: bool = False,
    force: bool = False,
    rendezvous: Rendezvous = ONE_MACHINE,
) -> TrainRun:
    """The run `recipe` makes here (`train.preflight`), after the checks that catch user mistakes before accelerate
    starts workers (whose failures it reports as tracebacks): the plan's refusals on the GPUs found here, TRL's own
    validation of the arguments, the dataset loading, the output folder writable with room for a checkpoint. A
    builtin model and dataset are built and a hub model downloaded here, once, rather than raced for by every
    process."""
    if not fresh:
        check_output_dir(recipe, resume)
    run = preflight(recipe, num_processes=num_processes, force=force, rendezvous=rendezvous)
    for warning in run.plan.warnings:
        log.warning(warning)
    if run.plan.refusals:
        raise UserError("\n".join(run.plan.refusals) + "\n(`make plan recipe=...` shows the whole plan)")
    check_with_trl(run)
    load_for_method(run.method, recipe.train.dataset)
    if rendezvous.machine_rank == 0:  # the folder is shared: one node checks it
        check_output_writable(recipe, run.plan, force)
    return run


def launch_command(run: TrainRun, run_file: Path, resume: bool) -> list[str]:
    """The command that trains `run` (written to `run_file`, which each worker reads)."""
    launch, rendezvous = run.launch, run.rendezvous
    if launch.use_cpu and run.world_size > 1 and not launch.raw.get("mpirun_config"):
        # accelerate launches multi-CPU jobs through mpirun; without MPI, torch's own launcher starts the
        # processes and accelerate inside each one picks the gloo backend from the environment.
        port = str(rendezvous.main_process_port or launch.raw.get("main_process_port", 29500))
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={run.world_size}",
            f"--master_port={port}",
        ]
    else:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(launch.path)]
        if (
            launch.deepspeed_file
        ):  # resolved from the launch config's folder, not accelerate's current directory
            command += ["--deepspeed_config_file", str(launch.deepspeed_file)]
        if run.processes:
            command += ["--num_processes", str(run.processes)]
        command += rendezvous.accelerate_flags()
    command += ["-m", "train.worker", str(run_file)]
    if resume:
        command.append("--resume")
    return command


def check_with_trl(run: TrainRun) -> None:
    """Build the method's TRL config from `train.args` here, before any worker starts, and let its own
    `__post_init__` refuse what it refuses (GRPO's whole groups per generation batch, among others). The
    launcher is one process: the per-device batches are scaled by `world_size` so that TRL's arithmetic over
    the global batch is the arithmetic of the run. Precision and device are the plan's business: CPU here."""
    import tempfile
    import warnings

    from recipes.trl_args import config_class

    cls = config_class(run.method)
    args, world_size = dict(run.recipe.train.args), run.world_size
    for key in ("per_device_train_batch_size", "per_device_eval_batch_size"):
        args[key] = run.args[key] * world_size
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings(), _single_process():
        warnings.simplefilter("ignore")
        try:
            cls(output_dir=scratch, report_to=[], **{**args, "use_cpu": True, "bf16": False, "fp16": False})
        except ValueError as err:
            over = f" over {world_size} processes" if world_size > 1 else ""
            raise UserError(f"train.args: TRL's {cls.__name__} refuses them{over}: {err}") from None


# what makes accelerate's state think it is one of many processes (torchrun, an srun step under MPI/PMI)
DISTRIBUTED_VARS = (
    "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "PMI_SIZE", "PMI_RANK",
    "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK",
)  # fmt: skip


@contextlib.contextmanager
def _single_process():
    """Building a TrainingArguments sets up accelerate's process state: here, in the launcher, it must be one
    process on its own (no rendezvous, no process group), and it must leave nothing behind: the environment
    the workers inherit is put back as it was, and the state is forgotten."""
    from accelerate.state import AcceleratorState

    saved = dict(os.environ)
    for name in DISTRIBUTED_VARS:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        AcceleratorState._reset_state(reset_partial_state=True)


def check_output_writable(recipe: Recipe, plan, force: bool) -> None:
    """The output folder can be written, and its filesystem has room for what the run saves (the plan's
    checkpoint and final-model sizes): refused here, in one line, rather than by a worker mid-save."""
    import tempfile

    folder = output_dir(recipe)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise UserError(
            f"train.output_dir {folder}: cannot write there ({err.strerror}); choose a writable folder"
        ) from None
    free = shutil.disk_usage(folder).free
    need_once = plan.checkpoint_bytes + plan.final_bytes if plan.checkpoint_bytes else 0
    if need_once and free < need_once:
        message = (
            f"train.output_dir {folder}: {free / 1e9:,.1f} GB free, and one checkpoint plus the final model take "
            f"~{need_once / 1e9:,.1f} GB (`make plan` has the sizes): the first save would fail"
        )
        if not force:
            raise UserError(message + "; free space or choose another folder (force=1 tries anyway)")
        info(f"warning: {message} (force=1: going ahead)")


def base_model_ready(recipe: Recipe) -> bool:
    return not recipe.model.from_recipe or (Path(recipe.model.name_or_path) / "config.json").exists()


def ensure_base_model_trained(recipe: Recipe) -> None:
    """With `model.from_recipe`, train that recipe first when its output does not exist yet (as its own file
    says: overrides apply to this recipe, not to its parent)."""
    parent = recipe.model.from_recipe
    if not base_model_ready(recipe):
        info(f"the base model comes from {parent}, which has not been trained yet: training it first")
        # resumed: a Slurm job stopped at its time limit while training the parent left checkpoints to go on from
        run_launch(prepare_run(load_recipe(parent), resume=True), resume=True)


def launch_env(command: list[str]) -> dict[str, str]:
    """The environment `command` (from `launch_command`) runs in."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    )
    if "torch.distributed.run" in command:
        env["ACCELERATE_USE_CPU"] = "true"
        env.setdefault("OMP_NUM_THREADS", "1")
    if not gpu_available():
        env.setdefault("DS_ACCELERATOR", "cpu")  # DeepSpeed would guess the same, with a warning per process
    if hub_reachable.cache_info().currsize and not hub_reachable():
        env.setdefault("HF_HUB_OFFLINE", "1")  # found out here: no worker waits on the hub again
    return env


def run_launch(run: TrainRun, resume: bool) -> None:
    """Launch the workers on `run`; a worker that failed for a reason it could say in one line has said it, and
    accelerate's traceback about the failed worker is left out (train.failures)."""
    import tempfile

    from train.failures import FAILURE_FILE_VAR, QuietTracebacks

    with (
        tempfile.TemporaryDirectory(prefix="reasonlift-launch-") as scratch,
        tempfile.NamedTemporaryFile(prefix="reasonlift-failure-", suffix=".txt") as failure,
    ):
        command = launch_command(run, run.write(Path(scratch) / "run.json"), resume)
        env = {**launch_env(command), FAILURE_FILE_VAR: failure.name}
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
        errors = QuietTracebacks(process.stderr)
        try:
            returncode = process.wait()
        except KeyboardInterrupt:  # the workers got the same Ctrl-C: let them stop before saying so
            process.wait()
            errors.finish(show=False)
            raise
        said = Path(failure.name).read_text().strip()
        errors.finish(show=returncode != 0 and not said)
    if returncode != 0:
        raise SystemExit(2 if said else returncode)


def start_run(recipe: Recipe, resume: bool, force: bool) -> None:
    """Before the workers start: a resume sets aside checkpoints that were not written whole and refuses a recipe
    that trains something else than the run it continues; the recipe copy beside the model is this run's."""
    folder = output_dir(recipe)
    if resume:
        set_aside_incomplete(folder)
        check_resume_matches(recipe, force)
    folder.mkdir(parents=True, exist_ok=True)
    copy_recipe(recipe)


def remove_previous_run(recipe: Recipe) -> None:
    assert recipe.train is not None
    folder = output_dir(recipe)
    if folder.exists():
        keep_unsynced_runs(folder)  # the tool told the user to sync them: they outlive the folder
        info(f"--fresh: removing the previous run in {folder}")
        shutil.rmtree(folder)


@exit_on_user_error
def train(
    recipe_path: RecipeArgument,
    resume: Annotated[
        bool, typer.Option(help="continue from the last checkpoint in the output folder")
    ] = False,
    fresh: Annotated[
        bool, typer.Option(help="delete the output folder first and train from scratch")
    ] = False,
    num_processes: Annotated[int | None, typer.Option(min=1, help="override the number of processes")] = None,
    force: Annotated[
        bool, typer.Option(help="train even when the memory estimate is over the GPU's memory")
    ] = False,
    overrides: Overrides = None,
    prepare: Annotated[
        bool,
        typer.Option(
            help="run the checks and build what training needs (a builtin model, a from_recipe base), then "
            f"exit: 0 when there is training to do, {NOTHING_TO_TRAIN} when --resume finds the run finished"
        ),
    ] = False,
    num_machines: Annotated[
        int, typer.Option("--num_machines", min=1, help="multi-node (set by the Slurm scripts)")
    ] = 1,
    machine_rank: Annotated[int, typer.Option("--machine_rank", min=0)] = 0,
    main_process_ip: Annotated[str | None, typer.Option("--main_process_ip")] = None,
    main_process_port: Annotated[int | None, typer.Option("--main_process_port", min=1)] = None,
) -> None:
    """Validate the recipe, build what it needs, then `accelerate launch` its trainer (SFT or GRPO); with
    `train.seeds`, one run per seed, one after another (a finished seed is kept, an interrupted one resumed)."""
    overrides = overrides or []
    if fresh and resume:
        raise UserError("--fresh and --resume contradict each other: pick one")
    recipe = load_recipe(recipe_path, overrides=overrides)
    runs = seed_runs(recipe)
    if len(runs) > 1 and num_machines > 1:
        raise UserError(
            f"{recipe_path}: train.seeds trains its runs one after another on one machine; a run over several "
            "machines trains one seed: pick it with --set train.seeds=[S]"
        )
    rendezvous = Rendezvous(num_machines, machine_rank, main_process_ip, main_process_port)
    # once, here: every training process inherits the mode instead of each waiting on the server
    if recipe.wandb.enabled and choose_mode() == "offline":
        info(f"W&B: logging offline ({os.environ.get(REASON_VAR)})")
    try:
        for number, one in enumerate(runs, start=1):
            if len(runs) > 1:
                info(f"== {seed_label(one)} ({number} of {len(runs)}): {output_dir(one)}")
                if not fresh and (done := finished_run(one)):
                    # a kept run must be this recipe's: a method row over two recipes would mean nothing
                    check_resume_matches(one, force)
                    info(f"{seed_label(one)} is trained ({done['global_step']} steps): kept")
                    continue
                resume_this = resume and last_checkpoint(output_dir(one)) is not None
            else:
                resume_this = resume
            _train_run(one, recipe_path, resume_this, fresh, num_processes, force, prepare, rendezvous)
    except KeyboardInterrupt:
        print(
            f"interrupted: the checkpoints saved so far are kept; resume with `make train recipe={recipe_path} "
            "resume=1" + (f' set="{" ".join(overrides)}"' if overrides else "") + "`",
            file=sys.stderr,
        )
        raise SystemExit(130) from None


def _train_run(
    recipe: Recipe,
    recipe_path: str,
    resume: bool,
    fresh: bool,
    num_processes: int | None,
    force: bool,
    prepare: bool,
    rendezvous: Rendezvous,
) -> None:
    """One training run: checks, the base model, the folder held, the workers launched."""
    if resume and (done := finished_run(recipe)):
        info(finished_notice(done))
        if prepare:
            raise SystemExit(NOTHING_TO_TRAIN)
        return
    run = prepare_run(recipe, resume, num_processes, fresh, force, rendezvous)
    if rendezvous.num_machines == 1 or prepare:  # the job's one --prepare step trains it on its node
        ensure_base_model_trained(recipe)
        run = dataclasses.replace(run, model=base_model_folder(recipe))  # trained just now, or before
    elif not base_model_ready(recipe):  # every node would: the --prepare step does
        raise UserError(
            f"{recipe_path}: its base model comes from {recipe.model.from_recipe}, "
            "which is not trained yet: run `reasonlift train RECIPE --prepare` first (the Slurm script does)"
        )
    if prepare:
        info(f"ready to train {recipe_path}")
        return
    if fresh:
        remove_previous_run(recipe)
    if rendezvous.machine_rank == 0:  # one launcher per run holds the folder; the other nodes' join its job
        with FileLock(output_dir(recipe) / ".train.lock", "training into it").hold(refuse=True):
            start_run(recipe, resume, force)
            run_launch(run, resume)
    else:
        run_launch(run, resume)


def main(argv: list[str] | None = None) -> None:
    run(train, argv)


if __name__ == "__main__":
    main()
