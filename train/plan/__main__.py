"""`make plan recipe=R [gpus=N] [gpu=KIND] [nodes=N] [nproc=N]`: print the run, its memory and a verdict.

Exit status 0 when the plan is fine (warnings included), 2 when it refuses: each refusal is one line.
"""

from __future__ import annotations

import argparse
import sys

from recipes import load_recipe
from recipes.errors import exit_on_user_error
from recipes.gpus import GIB, PROFILES
from recipes.loader import add_override_flag
from train.cli import positive_int
from train.plan.build import Plan, build_plan, hardware_for


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
    lines.extend(f"warning: {w}" for w in plan.warnings)
    if plan.refusals:
        lines.extend(f"refused: {r}" for r in plan.refusals)
    else:
        lines.append("verdict: OK" + (f" ({len(plan.warnings)} warning(s))" if plan.warnings else ""))
    return "\n".join(lines)


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.plan", description=__doc__)
    parser.add_argument("recipe")
    parser.add_argument(
        "--gpus", type=positive_int, default=None, help="GPUs per node (default: the ones found)"
    )
    parser.add_argument(
        "--gpu", default=None, help=f"GPU kind: {', '.join(PROFILES)} (default: the one found)"
    )
    parser.add_argument("--nodes", type=positive_int, default=1)
    parser.add_argument(
        "--num-processes", type=positive_int, default=None, help="override the training processes"
    )
    add_override_flag(parser, "train.args.per_device_train_batch_size=1")
    args = parser.parse_args(argv)
    recipe = load_recipe(args.recipe, check_paths=False, overrides=args.overrides)
    plan = build_plan(recipe, hardware_for(args.gpus, args.gpu, args.nodes), args.num_processes)
    print(render(plan))
    if plan.refusals:
        sys.exit(2)


if __name__ == "__main__":
    main()
