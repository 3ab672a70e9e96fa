"""A training run, resolved once: what `make train`'s launcher, `make plan`, the Slurm renderer and every worker
read, so that none of them derives it again.

`describe(recipe)` makes it: the accelerate launch config (and its DeepSpeed file), the effective TRL arguments
(TRL's own defaults for the method, read from its config dataclass, then the recipe's `train.args`), the processes
and nodes, and the base model as a local folder once it is resolved. `train.preflight.preflight` adds the plan's
verdict for the hardware. The launcher hands the run to its workers as a file (`write`/`read`): a worker builds
TRL's config from it (`trl_config`) and loads the model from its folder.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from recipes.schema import Recipe
from train.launch_config import LaunchConfig, load_launch_config


@dataclass(frozen=True)
class Rendezvous:
    """Where the processes of a multi-node job meet (accelerate launch's own flags; the Slurm scripts set them)."""

    num_machines: int = 1
    machine_rank: int = 0
    main_process_ip: str | None = None
    main_process_port: int | None = None

    def accelerate_flags(self) -> list[str]:
        flags = []
        if self.num_machines > 1:
            flags += ["--num_machines", str(self.num_machines), "--machine_rank", str(self.machine_rank)]
            flags += ["--rdzv_backend", "c10d"]
        if self.main_process_ip:
            flags += ["--main_process_ip", self.main_process_ip]
        if self.main_process_port:
            flags += ["--main_process_port", str(self.main_process_port)]
        return flags


ONE_MACHINE = Rendezvous()


@cache
def trl_defaults(method: str) -> dict[str, Any]:
    """TRL's own defaults for the method's config (SFTConfig, GRPOConfig), from its dataclass: the one place."""
    from recipes.trl_args import config_class

    defaults = {}
    for f in dataclasses.fields(config_class(method)):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            defaults[f.name] = f.default_factory()  # type: ignore[misc]
    return defaults


def effective_args(method: str, args: dict) -> dict[str, Any]:
    """What TRL's config will hold for these `train.args`: its defaults, then the recipe's."""
    return {**trl_defaults(method), **args}


@dataclass(frozen=True)
class TrainRun:
    recipe: Recipe
    launch: LaunchConfig
    args: dict[str, Any]  # effective_args(method, train.args)
    model: str | None  # the base model as a local folder; None while unresolved (planning another machine)
    processes: int | None  # the processes to start; None: the launch config's
    rendezvous: Rendezvous = ONE_MACHINE
    plan: Any = field(
        default=None, compare=False
    )  # train.plan.build.Plan, the checks' verdict (launcher only)

    @property
    def method(self) -> str:
        assert self.recipe.train is not None
        return self.recipe.train.method

    @property
    def world_size(self) -> int:
        return self.processes or self.launch.num_processes

    def trl_config(self, config_cls: type, run_name: str, **owned: Any):
        """TRL's config for this run: `train.args` pass through; the run owns paths, logging and the device."""
        import os

        from recipes.gpus import gpu_available
        from recipes.log import notice
        from recipes.runs import output_dir

        args = {**self.recipe.train.args, **owned}
        if not gpu_available():
            if self.launch.is_deepspeed:
                # DeepSpeed's CPU accelerator keeps bf16: its bf16 module and fp32 masters are what a GPU runs
                args["use_cpu"] = True
            else:
                # TRL resolves bf16 to True by default; torch's CPU autocast is not what a GPU run does, so say so
                if args.get("bf16") or args.get("fp16"):
                    notice("no GPU found: training in float32 on the CPU (bf16/fp16 turned off)")
                args.update(use_cpu=True, bf16=False, fp16=False)
        if args.get("vllm_mode") == "server":
            # set by the Slurm script, which only learns the generation node's name and its ports when the job starts
            for variable, key, kind in (
                ("REASONLIFT_VLLM_SERVER_HOST", "vllm_server_host", str),
                ("REASONLIFT_VLLM_SERVER_PORT", "vllm_server_port", int),
                ("REASONLIFT_VLLM_GROUP_PORT", "vllm_group_port", int),
            ):
                if os.environ.get(variable):
                    args[key] = kind(os.environ[variable])
        report_to = ["wandb"] if self.recipe.wandb.enabled else []
        return config_cls(
            output_dir=str(output_dir(self.recipe)), run_name=run_name, report_to=report_to, **args
        )

    def to_json(self) -> dict:
        """What a worker needs, as the launcher resolved it (the recipe as loaded, not its file again); the
        effective arguments are derived again from the recipe, by the one rule."""
        return {
            "recipe": self.recipe.model_dump(mode="json"),
            "source": self.recipe.source,
            "overrides": list(self.recipe.overrides),
            "launch": str(self.launch.path),
            "model": self.model,
            "processes": self.processes,
            "rendezvous": dataclasses.asdict(self.rendezvous),
        }

    @classmethod
    def from_json(cls, data: dict) -> TrainRun:
        recipe = Recipe.model_validate(data["recipe"])
        recipe.source, recipe.overrides = data["source"], list(data["overrides"])
        run = describe(recipe, Rendezvous(**data["rendezvous"]), data["processes"], data["model"])
        if str(run.launch.path) != data["launch"]:
            raise ValueError(f"the launch config moved: {data['launch']} -> {run.launch.path}")
        return run

    def write(self, path: Path) -> Path:
        from recipes.files import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json()))
        return path

    @classmethod
    def read(cls, path: Path) -> TrainRun:
        return cls.from_json(json.loads(Path(path).read_text()))


def describe(
    recipe: Recipe,
    rendezvous: Rendezvous = ONE_MACHINE,
    processes: int | None = None,
    model: str | None = None,
) -> TrainRun:
    """The run `recipe` makes, without the plan: its launch config and effective TRL arguments, read here and
    nowhere else."""
    from recipes.errors import UserError

    if recipe.train is None:
        raise UserError(f"{recipe.source}: has no `train` section, so there is nothing to train")
    return TrainRun(
        recipe=recipe,
        launch=load_launch_config(recipe.train.accelerate_config),
        args=effective_args(recipe.train.method, recipe.train.args),
        model=model,
        processes=processes,
        rendezvous=rendezvous,
    )


def base_model_folder(recipe: Recipe) -> str | None:
    """The recipe's base model as a local folder (`recipes.models.model_folder`: a builtin built, a hub id at
    `model.revision` downloaded or found in the cache), which everything that loads it afterwards reads -- TRL's
    reference model and its colocated vLLM included, so all of them see the pinned revision. None while the
    recipe it comes from (`model.from_recipe`) has not trained it."""
    from recipes.models import model_folder

    if recipe.model.from_recipe and not (Path(recipe.model.name_or_path) / "config.json").exists():
        return None
    return str(model_folder(recipe.model.name_or_path, recipe.model.revision))
