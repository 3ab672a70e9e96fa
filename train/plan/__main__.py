"""`make plan recipe=R [gpus=N] [gpu=KIND] [nodes=N] [nproc=N]`: print the run, its memory and a verdict.

Exit status 0 when the plan is fine (warnings included), 2 when it refuses: each refusal is one line.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from recipes import load_recipe
from recipes.cli import Overrides, RecipeArgument, run
from recipes.errors import exit_on_user_error
from recipes.gpus import GIB, PROFILES
from recipes.log import info
from train.plan.build import Plan, build_plan, hardware_for
from train.plan.cost import assumptions
from train.preflight import preflight


def render(plan: Plan) -> str:
    hw = plan.hardware
    where = (
        f"{hw.gpus_per_node} x {hw.name}"
        + (f" x {hw.nodes} nodes" if hw.nodes > 1 else "")
        + (" (declared)" if hw.declared else " (found)")
        if hw
        else "no GPU (none found, none declared)"
    )
    lines = [f"plan: {plan.recipe.name} on {where}"]
    if hw and hw.driver:
        lines.append(f"  NVIDIA driver {hw.driver}")

    def section(title: str, rows: list[tuple[str, str]]) -> None:
        if rows:
            lines.append(title)
            width = max(len(k) for k, _ in rows)
            lines.extend(f"  {k:<{width}}  {v}" for k, v in rows)

    section("launch", plan.launch)
    section("precision", plan.precision)
    if plan.memory:
        lines.append("memory per GPU at the peak (estimate, GiB)")
        width = max(len(k) for k, _ in plan.memory)
        lines.extend(f"  {k:<{width}}  {v / GIB:8.2f}" for k, v in plan.memory)
        total = plan.peak_bytes
        share = f" of {hw.memory_bytes / GIB:.1f} ({total / hw.memory_bytes:.0%})" if hw else ""
        lines.append(f"  {'total':<{width}}  {total / GIB:8.2f}{share}")
        lines.extend(f"  ({note})" for note in plan.memory_notes)
    section("evaluation", plan.evaluation)
    if plan.cost:
        section("time and disk (estimates)", plan.cost)
        lines.append(f"  ({assumptions()})")
    lines.extend(f"warning: {w}" for w in plan.warnings)
    if plan.refusals:
        lines.extend(f"refused: {r}" for r in plan.refusals)
    else:
        lines.append("verdict: OK" + (f" ({len(plan.warnings)} warning(s))" if plan.warnings else ""))
    return "\n".join(lines)


@exit_on_user_error
def plan(
    recipe_path: RecipeArgument,
    gpus: Annotated[int | None, typer.Option(min=1, help="GPUs per node (default: the ones found)")] = None,
    gpu: Annotated[
        str | None, typer.Option(help=f"GPU kind: {', '.join(PROFILES)} (default: the one found)")
    ] = None,
    nodes: Annotated[int, typer.Option(min=1)] = 1,
    num_processes: Annotated[int | None, typer.Option(min=1, help="override the training processes")] = None,
    overrides: Overrides = None,
) -> None:
    """The run the recipe would make (launch, precision, memory per GPU, evaluation) and a verdict: exit 0 when
    fine (warnings included), 2 when it refuses."""
    recipe = load_recipe(recipe_path, check_paths=False, overrides=overrides or [])
    hardware = hardware_for(gpus, gpu, nodes)
    if recipe.train is None:
        built = build_plan(recipe, hardware, num_processes)
    else:  # the run `make train` would resolve, planned for these GPUs (its model is not downloaded to plan it)
        built = preflight(recipe, hardware, num_processes, evaluation=True, resolve=False).plan
    info(render(built))
    if built.refusals:
        sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    run(plan, argv)


if __name__ == "__main__":
    main()
