"""`make slurm recipe=R kind=train|grpo|eval`: write a ready-to-submit sbatch script for a recipe."""

from __future__ import annotations

import re
import shlex
import stat
from pathlib import Path
from typing import Annotated, Literal

import typer

from recipes import load_recipe
from recipes.architectures import architecture_config, tensor_parallel_sizes
from recipes.cli import Overrides, RecipeArgument, run
from recipes.errors import UserError, exit_on_user_error
from recipes.log import info
from recipes.paths import REPO_ROOT
from recipes.runs import output_dir, saved_checkpoints
from recipes.schema import Recipe

TEMPLATES = {"train": "train.sbatch", "grpo": "grpo-server.sbatch", "eval": "eval.sbatch"}
HERE = Path(__file__).parent
# A common per-GPU share on GPU nodes (8 GPUs, 64+ cores); set cpus= for your cluster.
DEFAULT_CPUS_PER_GPU = 8
# Slurm's warning before the time limit (--signal=B:USR1@N, `grace=`): long enough to finish a step and save
# a checkpoint (a long GRPO step plus a ZeRO-3 save wants more).
SIGNAL_SECONDS = 300
DEFAULT_TIME = "24:00:00"
# Shell parts the scripts share, one copy each: the time-limit handler, waiting for a step without losing
# the signal, the requeue once training has checkpointed, and the trainer's address for vLLM's weight sync.
SNIPPETS = {
    name.upper().replace("-", "_"): (HERE / f"{name}.sh").read_text().rstrip("\n")
    for name in ("stop-handler", "wait-for-step", "requeue-if-asked", "trainer-address")
}


def fill(template: str, values: dict[str, str]) -> str:
    """The shared parts first (they hold placeholders too), then the values."""
    text = re.sub(r"@@([A-Z_]+)@@", lambda m: SNIPPETS.get(m.group(1), m.group(0)), template)
    return re.sub(r"@@([A-Z_]+)@@", lambda m: values[m.group(1)], text)


def _loaded(recipe: Recipe | str | Path) -> Recipe:
    """The recipe as `make slurm` loaded it once (a path: loaded here, as in the tests)."""
    return recipe if isinstance(recipe, Recipe) else load_recipe(recipe, check_paths=False)


def render(
    recipe: Recipe | str | Path,
    kind: str,
    nodes: int = 1,
    gpus_per_node: int = 8,
    time: str = "24:00:00",
    partition: str | None = None,
    cpus_per_task: int | None = None,
    vllm_tp: int = 1,
    resume: bool = True,
    repo: Path = REPO_ROOT,
    mem: str | None = None,
    log_dir: Path | None = None,
    grace: int = SIGNAL_SECONDS,
) -> str:
    recipe = _loaded(recipe)
    recipe_path = recipe.source
    if kind in ("train", "grpo") and recipe.train is None:
        raise UserError(f"{recipe_path}: no train section to run")
    if recipe.train is not None and recipe.train.seeds and nodes > 1:
        raise UserError(
            f"{recipe_path}: train.seeds trains its runs one after another on one node; render one job per seed "
            "(--set train.seeds=[S]) to train each on several nodes"
        )
    server_mode = recipe.train is not None and recipe.train.args.get("vllm_mode") == "server"
    needs_server = server_mode and recipe.train.args.get("use_vllm", False)
    if kind == "train" and needs_server:
        raise UserError(
            f"{recipe_path}: the recipe generates with a vLLM server (`vllm_mode: server`): use kind=grpo, "
            "which starts the server and then trains against it"
        )
    train_gpus_first = gpus_per_node
    if kind == "grpo":
        if recipe.train.method != "grpo" or not needs_server:
            raise UserError(
                f"{recipe_path}: kind=grpo needs method grpo with `use_vllm: true` and `vllm_mode: server` in train.args"
            )
        allowed = _tensor_parallel_sizes(recipe)
        if allowed and vllm_tp not in allowed:
            raise UserError(
                f"vllm_tp={vllm_tp}: vLLM cannot split this model's attention heads {vllm_tp} ways "
                f"(try {', '.join(str(d) for d in allowed if d <= gpus_per_node)})"
            )
        if vllm_tp > gpus_per_node or (nodes == 1 and vllm_tp >= gpus_per_node):
            raise UserError(
                f"vllm_tp={vllm_tp} leaves no GPU to train on with {gpus_per_node} GPU(s) per node and {nodes} node(s)"
            )
        train_gpus_first = (
            gpus_per_node - vllm_tp
        )  # the one-node branch of the script (also under sbatch --nodes=1)
    values = {
        **_job_values(
            recipe,
            repo,
            time,
            partition,
            cpus_per_task or DEFAULT_CPUS_PER_GPU * gpus_per_node,
            mem,
            log_dir,
            grace,
        ),
        "NODES": str(nodes),
        "GPUS_PER_NODE": str(gpus_per_node),
        "TRAIN_GPUS_FIRST": str(train_gpus_first),
        "VENV": str(repo / ".venv"),
        "RESUME": "--resume" if resume else "",
        "BASE_MODEL": _served_model(recipe),
        "REVISION_FLAG": f"--revision {shlex.quote(recipe.model.revision)} " if recipe.model.revision else "",
        "VLLM_TP": str(vllm_tp),
        "COMPARE_FLAGS": "",
    }
    return fill((HERE / TEMPLATES[kind]).read_text(), values)


def _served_model(recipe) -> str:
    """The model `trl vllm-serve` loads: a hub id, or a folder (made absolute by the recipe's loader)."""
    return recipe.model.name_or_path or ""


def _job_values(
    recipe: Recipe,
    repo: Path,
    time: str,
    partition: str | None,
    cpus: int,
    mem: str | None,
    log_dir: Path | None = None,
    grace: int = SIGNAL_SECONDS,
) -> dict:
    """What every rendered script fills in the same way: one source for the resources every job asks for."""
    return {
        "SET_FLAGS": "".join(f" --set {_double_quoted(item)}" for item in recipe.overrides),
        "NAME": recipe.name,
        "SIGNAL_SECONDS": str(grace),
        "CPUS_PER_TASK": str(cpus),
        "TIME": time,
        "MEM_LINE": f"#SBATCH --mem={mem}"
        if mem
        else "# (no --mem: the partition's default per CPU; set mem=)",
        "LOG_DIR": str(log_dir or repo / "outputs" / "slurm"),
        "PARTITION_LINE": f"#SBATCH --partition={partition}" if partition else "# (no partition set)",
        "REPO": str(repo),
        "PYTHON": str(repo / ".venv" / "bin" / "python"),
        "RECIPE": str(recipe.source),
    }


def _double_quoted(text: str) -> str:
    """One shell word in double quotes (the scripts run some commands inside `bash -c '...'`)."""
    return '"' + re.sub(r'(["$`\\])', r"\\\1", text) + '"'


def sweep_models(recipe) -> list[str]:
    """What a checkpoint sweep evaluates, in order: the baseline, each checkpoint with full weights, and the
    final weights (as `make compare checkpoints=all` evaluates them)."""
    if recipe.train is None:
        raise UserError(f"{recipe.source}: no train section, so no checkpoints to sweep")
    folder = output_dir(recipe)
    full = [
        c for c in saved_checkpoints(folder) if any(c.glob("*.safetensors")) and (c / "config.json").exists()
    ]
    if not full:
        raise UserError(
            f"no checkpoint-* folders with full weights in {folder} yet: train first (the array lists the "
            "checkpoints present when it is rendered; render it again after more are saved)"
        )
    if not any(folder.glob("*.safetensors")):
        raise UserError(
            f"{folder} holds no final weights yet: render the sweep once training has finished (the compare "
            "job needs the final model as its tuned side)"
        )
    return [recipe.model.name_or_path, *(str(c) for c in full), str(folder)]


def eval_gpus(recipe) -> int:
    """GPUs an evaluation job uses: the recipe's vLLM tensor x data parallel size."""
    return recipe.eval.vllm.tensor_parallel_size * recipe.eval.vllm.data_parallel_size


COMPARE_CPUS = 4  # the sweep's compare reads the cache and grades: a few cores, no GPU


def render_sweep(
    recipe: Recipe | str | Path,
    gpus_per_node: int | None = None,
    time: str = "24:00:00",
    partition: str | None = None,
    cpus_per_task: int | None = None,
    repo: Path = REPO_ROOT,
    out_dir: Path | None = None,
    mem: str | None = None,
    parallel: int = 8,
    log_dir: Path | None = None,
    grace: int = SIGNAL_SECONDS,
) -> dict[Path, str]:
    """`kind=eval checkpoints=all`: the array script, the compare script and the script that submits both."""
    recipe = _loaded(recipe)
    if recipe.train is not None and recipe.train.seeds:
        raise UserError(
            f"{recipe.source}: a checkpoint sweep evaluates one run's checkpoints: render it per seed with "
            "--set train.seeds=[S]"
        )
    models = sweep_models(recipe)
    gpus = gpus_per_node or eval_gpus(recipe)
    out_dir = out_dir or repo / "outputs" / "slurm"
    names = {k: out_dir / f"{recipe.name}-eval-{k}" for k in ("array.sbatch", "compare.sbatch", "sweep.sh")}
    values = {
        **_job_values(
            recipe, repo, time, partition, cpus_per_task or DEFAULT_CPUS_PER_GPU * gpus, mem, log_dir, grace
        ),
        "COMPARE_CPUS": str(min(cpus_per_task, COMPARE_CPUS) if cpus_per_task else COMPARE_CPUS),
        "ARRAY_PARALLEL": str(parallel),
        "LAST_INDEX": str(len(models) - 1),
        "EVAL_GPUS": str(gpus),
        "MODELS": "\n".join(f"  {shlex.quote(m)}" for m in models),
        "COUNT": str(len(models)),
        "ARRAY_SCRIPT": str(names["array.sbatch"]),
        "COMPARE_SCRIPT": str(names["compare.sbatch"]),
    }
    templates = {
        "array.sbatch": "eval-array.sbatch",
        "compare.sbatch": "eval-compare.sbatch",
        "sweep.sh": "eval-sweep.sh",
    }
    return {names[k]: fill((HERE / t).read_text(), values) for k, t in templates.items()}


def _colocated(recipe) -> bool:
    args = recipe.train.args if recipe.train else {}
    return bool(args.get("use_vllm")) and args.get("vllm_mode", "colocate") == "colocate"


def _training_gpus(recipe) -> int:
    """A whole node (8) unless the recipe fixes its processes: a colocated GRPO recipe trains in one."""
    if recipe.train is not None and recipe.train.num_processes:
        return recipe.train.num_processes
    return 8


def _check_colocated(recipe, kind: str, nodes: int, gpus: int) -> None:
    """A colocated GRPO recipe (vLLM inside the training process) runs the processes it was written for."""
    if kind != "train" or recipe.train is None or recipe.train.method != "grpo" or not _colocated(recipe):
        return
    wanted = recipe.train.num_processes or 1
    if nodes * gpus != wanted:
        raise UserError(
            f"{recipe.source}: colocated GRPO is written for {wanted} process(es) ({nodes} node(s) x {gpus} GPU(s) "
            f"asked): use gpus={wanted} nodes=1, or recipes/deepseek-r1-distill-qwen-1.5b/grpo-math-server.yaml "
            "(kind=grpo) to train on a whole node with a vLLM server"
        )


def _time_and_grace(
    recipe, kind: str, nodes: int, gpus: int, gpu: str | None, time: str | None, grace: int | None
) -> tuple[str, int]:
    """sbatch --time and the time-limit warning, from the plan for the job's GPUs unless given; each said."""
    from train.plan.build import build_plan, hardware_for
    from train.plan.cost import hours, slurm_time

    training = kind in ("train", "grpo")
    try:
        plan = build_plan(
            recipe, hardware_for(gpus, gpu or "h100", nodes), train=training, evaluation=not training
        )
    except UserError:
        plan = None  # an architecture the plan cannot see offline: the defaults, said below
    estimate = (
        (plan.train_seconds if training else plan.eval_seconds and 2 * plan.eval_seconds) if plan else None
    )
    what = "training" if training else "the compare's generation"
    if time is None:
        time = slurm_time(estimate) if estimate else DEFAULT_TIME
        info(
            f"time {time}: "
            + (
                f"the plan estimates {what} at up to {hours(estimate)} on {gpus} x {gpu or 'h100'} per node"
                if estimate
                else "no estimate (the plan cannot see the model's architecture)"
            )
            + ("; the job requeues from its last checkpoint at the limit" if training else "")
        )
    planned = plan.grace_seconds if plan and training else None
    if grace is None:
        grace = planned or SIGNAL_SECONDS
        if planned:
            reason = dict(plan.cost).get("slurm grace", "")
            info(f"grace {grace} s before the time limit ({reason.split(': ', 1)[-1].split(' (`make')[0]})")
    elif planned and grace < planned:
        info(
            f"warning: grace={grace} s is shorter than the plan's {planned} s (a step plus writing a checkpoint): "
            "the job may be killed before its checkpoint is whole, and Slurm does not requeue a TIMEOUT"
        )
    return time, grace


def _tensor_parallel_sizes(recipe) -> list[int]:
    try:
        return tensor_parallel_sizes(architecture_config(recipe.model.name_or_path, recipe.model.revision))
    except (UserError, KeyError, TypeError, ValueError):
        return []  # an architecture reasonlift cannot see offline: vLLM checks it when the server starts


@exit_on_user_error
def slurm(
    recipe_path: RecipeArgument,
    kind: Literal["train", "grpo", "eval"] = "train",
    nodes: Annotated[int, typer.Option(min=1)] = 1,
    gpus_per_node: Annotated[
        int | None, typer.Option(min=1, help="default 8 (a sweep: the eval's TP x DP)")
    ] = None,
    time: Annotated[
        str | None,
        typer.Option(help="sbatch --time (default: the plan's estimate with a margin, at most 24 h)"),
    ] = None,
    partition: str | None = None,
    vllm_tp: Annotated[int, typer.Option(min=1)] = 1,
    gpu: Annotated[
        str | None, typer.Option(help="the cluster's GPU kind, for the plan's time and grace (default: h100)")
    ] = None,
    cpus_per_task: Annotated[
        int | None, typer.Option(min=1, help=f"default: {DEFAULT_CPUS_PER_GPU} per GPU")
    ] = None,
    checkpoints: Annotated[
        Literal["all"] | None,
        typer.Option(
            help="kind=eval: a job array over the baseline and every checkpoint, then the compare and curve",
        ),
    ] = None,
    mem: Annotated[
        str | None, typer.Option(help="memory per node, as sbatch --mem takes it (e.g. 200G)")
    ] = None,
    parallel: Annotated[
        int, typer.Option(min=1, help="a sweep: array tasks running at once (sbatch --array=...%N)")
    ] = 8,
    grace: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="seconds before the time limit at which a job checkpoints and requeues itself (default: the "
            "plan's step plus checkpoint write)",
        ),
    ] = None,
    output: Annotated[str | None, typer.Option(help="default: outputs/slurm/<recipe>-<kind>.sbatch")] = None,
    overrides: Overrides = None,
) -> None:
    """Write a ready-to-submit sbatch script for a recipe (kind=train|grpo|eval), or a checkpoint sweep."""
    recipe = load_recipe(recipe_path, check_paths=False, overrides=overrides or [])
    if checkpoints:
        if kind != "eval":
            raise UserError("checkpoints=all goes with kind=eval (a checkpoint sweep)")
        files = render_sweep(
            recipe,
            gpus_per_node,
            time or DEFAULT_TIME,
            partition,
            cpus_per_task,
            mem=mem,
            parallel=parallel,
            grace=grace or SIGNAL_SECONDS,
        )
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
        *scripts, submit = files
        info(f"wrote {', '.join(str(p) for p in scripts)}\nsubmit with: bash {submit}")
        return
    # an evaluation asks for the GPUs its vLLM engines use; training for a whole node unless told, or the one
    # process a colocated GRPO recipe is written for
    gpus = gpus_per_node or (eval_gpus(recipe) if kind == "eval" else _training_gpus(recipe))
    _check_colocated(recipe, kind, nodes, gpus)
    time, grace = _time_and_grace(recipe, kind, nodes, gpus, gpu, time, grace)
    text = render(
        recipe,
        kind,
        nodes,
        gpus,
        time,
        partition,
        cpus_per_task=cpus_per_task,
        vllm_tp=vllm_tp,
        mem=mem,
        grace=grace,
    )
    wanted = recipe.train.num_processes if recipe.train else None
    if kind == "train" and wanted and wanted != nodes * gpus:
        info(
            f"warning: the recipe sets train.num_processes {wanted}; the script starts one process per GPU "
            f"({nodes} x {gpus}): set gpus= to match, or expect a different global batch"
        )
    out = Path(output or REPO_ROOT / "outputs" / "slurm" / f"{recipe.name}-{kind}.sbatch")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.chmod(out.stat().st_mode | stat.S_IXUSR)
    info(f"wrote {out}\nsubmit with: sbatch {out}")


def main(argv: list[str] | None = None) -> None:
    run(slurm, argv)


if __name__ == "__main__":
    main()
