"""`make train recipe=...`: validate the recipe, build what it needs, then `accelerate launch` the trainer."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from recipes import load_recipe
from recipes.builtins import resolve
from recipes.errors import UserError, exit_on_user_error
from recipes.paths import REPO_ROOT, looks_local, resolve_path
from train.common import check_output_dir, gpu_available, recipe_dir
from train.data import load_for_method

ACCELERATE_CONFIGS = REPO_ROOT / "accelerate_configs"


def accelerate_config_path(name: str, base: Path) -> Path:
    if looks_local(name) or name.endswith(".yaml"):
        path = resolve_path(name, base)
    else:
        path = ACCELERATE_CONFIGS / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in ACCELERATE_CONFIGS.glob("*.yaml")))
        raise UserError(
            f"train.accelerate_config: no config {name!r} (known: {known}, or a path to a YAML file)"
        )
    return path


def launch_command(
    recipe_path: str, resume: bool, num_processes: int | None = None, fresh: bool = False
) -> list[str]:
    recipe = load_recipe(recipe_path)
    if recipe.train is None:
        raise UserError(f"{recipe_path}: has no `train` section, so there is nothing to train")
    config_path = accelerate_config_path(recipe.train.accelerate_config, recipe_dir(recipe))
    launch_config = yaml.safe_load(config_path.read_text()) or {}
    if not gpu_available() and not launch_config.get("use_cpu", False):
        raise UserError(
            f"train.accelerate_config: {config_path.stem!r} needs GPUs and none was found; "
            f"use `accelerate_config: cpu` to train on this machine"
        )
    # Catch user mistakes here, before accelerate starts workers (whose failures it reports as tracebacks),
    # and build builtin models and datasets once rather than racing to build them in every process.
    if not fresh:
        check_output_dir(recipe, resume)
    processes = num_processes or recipe.train.num_processes
    if recipe.train.method == "grpo":
        check_grpo_batch(recipe.train.args, processes or int(launch_config.get("num_processes", 1)))
    if not recipe.model.from_recipe:
        resolve(recipe.model.name_or_path)
    load_for_method(recipe.train.method, recipe.train.dataset, recipe_dir(recipe))
    world = processes or int(launch_config.get("num_processes", 1))
    if (
        launch_config.get("distributed_type") == "MULTI_CPU"
        and world > 1
        and not launch_config.get("mpirun_config")
    ):
        # accelerate launches multi-CPU jobs through mpirun; without MPI, torch's own launcher starts the
        # processes and accelerate inside each one picks the gloo backend from the environment.
        port = str(launch_config.get("main_process_port", 29500))
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={world}",
            f"--master_port={port}",
        ]
    else:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_path)]
        if processes:
            command += ["--num_processes", str(processes)]
    command += ["-m", "train.worker", str(Path(recipe_path).resolve())]
    if resume:
        command.append("--resume")
    return command


def check_grpo_batch(args: dict, world_size: int) -> None:
    """GRPO groups num_generations completions per prompt: the generation batch must hold whole groups."""
    import dataclasses

    from trl import GRPOConfig

    defaults = {f.name: f.default for f in dataclasses.fields(GRPOConfig)}
    generations = args.get("num_generations", defaults["num_generations"])
    per_device = args.get("per_device_train_batch_size", defaults["per_device_train_batch_size"])
    if args.get("generation_batch_size"):
        batch, source = args["generation_batch_size"], "generation_batch_size"
    else:
        steps = args.get("steps_per_generation") or args.get("gradient_accumulation_steps", 1)
        batch = per_device * world_size * steps
        source = (
            f"per_device_train_batch_size {per_device} x {world_size} processes x "
            f"{'steps_per_generation' if args.get('steps_per_generation') else 'gradient_accumulation_steps'} {steps}"
        )
    if batch % generations:
        raise UserError(
            f"train.args: the generation batch ({source} = {batch}) must be divisible by num_generations "
            f"({generations}): each prompt's {generations} completions are scored as one group"
        )


def ensure_base_model_trained(recipe_path: str) -> None:
    """With `model.from_recipe`, train that recipe first when its output does not exist yet."""
    recipe = load_recipe(recipe_path)
    parent = recipe.model.from_recipe
    if parent and not (Path(recipe.model.name_or_path) / "config.json").exists():
        print(f"the base model comes from {parent}, which has not been trained yet: training it first")
        run_launch(launch_command(parent, resume=False))


def run_launch(command: list[str]) -> None:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    )
    if "torch.distributed.run" in command:
        env["ACCELERATE_USE_CPU"] = "true"
        env.setdefault("OMP_NUM_THREADS", "1")
    result = subprocess.run(command, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def remove_previous_run(recipe_path: str) -> None:
    recipe = load_recipe(recipe_path)
    assert recipe.train is not None
    folder = Path(recipe.train.output_dir).resolve()
    if folder.exists():
        print(f"--fresh: removing the previous run in {folder}")
        shutil.rmtree(folder)


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="reasonlift-train", description=__doc__)
    parser.add_argument("recipe", help="path to a recipe YAML file")
    parser.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in the output folder"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="delete the output folder first and train from scratch"
    )
    parser.add_argument("--num-processes", type=int, default=None, help="override the number of processes")
    args = parser.parse_args(argv)
    if args.fresh and args.resume:
        raise UserError("--fresh and --resume contradict each other: pick one")
    command = launch_command(args.recipe, args.resume, args.num_processes, fresh=args.fresh)
    ensure_base_model_trained(args.recipe)
    if args.fresh:
        remove_previous_run(args.recipe)
    run_launch(command)


if __name__ == "__main__":
    main()
