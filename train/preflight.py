"""`preflight`: a recipe's training run resolved once, with the plan's verdict for the hardware it runs on."""

from __future__ import annotations

import dataclasses

from recipes.schema import Recipe
from train.plan.build import Hardware, build_plan, hardware_for
from train.run import ONE_MACHINE, Rendezvous, TrainRun, base_model_folder, describe


def preflight(
    recipe: Recipe,
    hardware: Hardware | None = None,
    num_processes: int | None = None,
    force: bool = False,
    rendezvous: Rendezvous = ONE_MACHINE,
    evaluation: bool = False,
    resolve: bool = True,
) -> TrainRun:
    """The run `recipe` makes on `hardware` (with `resolve`, the GPUs found here when None): its launch config,
    effective TRL arguments, processes and plan, and with `resolve` its base model as a local folder (built or
    downloaded here, once). The plan's refusals are on `run.plan.refusals`: the caller decides what they mean."""
    if hardware is None and resolve:
        hardware = hardware_for(None, None, nodes=rendezvous.num_machines)
    run = describe(recipe, rendezvous)
    plan = build_plan(recipe, hardware, num_processes, evaluation=evaluation, force=force, run=run)
    model = base_model_folder(recipe) if resolve else None
    return dataclasses.replace(run, processes=plan.processes, model=model, plan=plan)
