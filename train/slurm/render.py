"""`make slurm recipe=R kind=train|grpo|eval`: write a ready-to-submit sbatch script for a recipe."""

from __future__ import annotations

import argparse
import re
import stat
from pathlib import Path

from recipes import load_recipe
from recipes.errors import UserError, exit_on_user_error
from recipes.paths import REPO_ROOT

TEMPLATES = {"train": "train.sbatch", "grpo": "grpo-server.sbatch", "eval": "eval.sbatch"}
HERE = Path(__file__).parent


def render(
    recipe_path: str,
    kind: str,
    nodes: int = 1,
    gpus_per_node: int = 8,
    time: str = "24:00:00",
    partition: str | None = None,
    cpus_per_task: int = 64,
    vllm_tp: int = 1,
    resume: bool = True,
    repo: Path = REPO_ROOT,
) -> str:
    recipe = load_recipe(recipe_path, check_paths=False)
    if kind in ("train", "grpo") and recipe.train is None:
        raise UserError(f"{recipe_path}: no train section to run")
    if kind == "grpo":
        if recipe.train.method != "grpo" or recipe.train.args.get("vllm_mode") != "server":
            raise UserError(
                f"{recipe_path}: kind=grpo needs method grpo with `vllm_mode: server` in train.args"
            )
        if nodes < 2:
            raise UserError("kind=grpo needs nodes >= 2: one serves generations, the rest train")
        if gpus_per_node % vllm_tp:
            raise UserError(f"vllm_tp={vllm_tp} must divide gpus_per_node={gpus_per_node}")
    accelerate_config = ""
    if recipe.train is not None:
        name = recipe.train.accelerate_config
        accelerate_config = str(repo / "accelerate_configs" / f"{name}.yaml") if "/" not in name else name
    values = {
        "NAME": recipe.name,
        "NODES": str(nodes),
        "GPUS_PER_NODE": str(gpus_per_node),
        "CPUS_PER_TASK": str(cpus_per_task),
        "TIME": time,
        "LOG_DIR": str(repo / "outputs" / "slurm"),
        "PARTITION_LINE": f"#SBATCH --partition={partition}" if partition else "# (no partition set)",
        "REPO": str(repo),
        "VENV": str(repo / ".venv"),
        "PYTHON": str(repo / ".venv" / "bin" / "python"),
        "RECIPE": str(Path(recipe_path).resolve()),
        "ACCELERATE_CONFIG": accelerate_config,
        "RESUME": "--resume" if resume else "",
        "BASE_MODEL": recipe.model.name_or_path or "",
        "VLLM_TP": str(vllm_tp),
        "COMPARE_FLAGS": "",
    }
    text = (HERE / TEMPLATES[kind]).read_text()
    rendered = re.sub(r"@@([A-Z_]+)@@", lambda m: values[m.group(1)], text)
    return rendered


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.slurm.render", description=__doc__)
    parser.add_argument("recipe")
    parser.add_argument("--kind", choices=sorted(TEMPLATES), default="train")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--gpus-per-node", type=int, default=8)
    parser.add_argument("--time", default="24:00:00")
    parser.add_argument("--partition")
    parser.add_argument("--vllm-tp", type=int, default=1)
    parser.add_argument("--output", help="default: outputs/slurm/<recipe>-<kind>.sbatch")
    args = parser.parse_args(argv)
    text = render(
        args.recipe,
        args.kind,
        args.nodes,
        args.gpus_per_node,
        args.time,
        args.partition,
        vllm_tp=args.vllm_tp,
    )
    recipe = load_recipe(args.recipe, check_paths=False)
    out = Path(args.output or REPO_ROOT / "outputs" / "slurm" / f"{recipe.name}-{args.kind}.sbatch")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.chmod(out.stat().st_mode | stat.S_IXUSR)
    print(f"wrote {out}\nsubmit with: sbatch {out}")


if __name__ == "__main__":
    main()
