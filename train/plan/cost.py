"""What a run will cost in time and disk, before it starts: estimates, each assumption stated beside its figure.

Time is counted in work the recipe fixes (tokens trained, tokens generated at the worst case of every completion
running to its limit) and converted to hours at stated assumptions: a model-FLOPs utilisation for training, a
fraction of the memory-bandwidth bound for vLLM's decoding, a write bandwidth for checkpoints. None of these
three was measured on a GPU here (docs/benchmarks.md lists what was); they are the plan's assumptions, printed
with every figure they produce, so that a user can scale them to their own measurements.

Disk is counted exactly from the architecture and the precision: what a checkpoint holds (the weights as saved,
fp32 master weights, the optimizer's states), how many the trainer keeps at once, the final model, and the
generation store's text.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from recipes.gpus import PROFILES, decode_bound_tokens_per_s, profile_for

# Assumptions (not measured on a GPU here): stated with every figure they produce.
ASSUMED_MFU = 0.35  # training: model FLOPs per second over the GPU's dense bf16 peak
ASSUMED_DECODE_EFFICIENCY = 0.5  # vLLM's decoding: share of the memory-bandwidth bound it reaches
ASSUMED_WRITE_BYTES_PER_S = 1.0e9  # checkpoint writes to a shared filesystem
ASSUMED_PROMPT_TOKENS = 512  # a competition problem rendered with the chat template, at most
ASSUMED_BYTES_PER_GENERATED_TOKEN = 4.0  # the generation store's JSON line per token of text
GRACE_MARGIN_S = 60  # beside a step and a save: the signal's delivery, the stop file, process exit
MIN_GRACE_S = 120


@dataclass(frozen=True)
class CheckpointSize:
    weights: int  # the model as saved (safetensors; adapters only for LoRA)
    master: int  # fp32 master weights (DeepSpeed's partitions)
    optimizer: int  # Adam's two states

    @property
    def total(self) -> int:
        return self.weights + self.master + self.optimizer

    def describe(self) -> str:
        parts = [f"weights {size(self.weights)}"]
        if self.master:
            parts.append(f"fp32 master {size(self.master)}")
        parts.append(f"Adam states {size(self.optimizer)}")
        return f"{size(self.total)} ({', '.join(parts)})"


def checkpoint_size(
    params: int, trainable: int, strategy: str, weight_bytes: int, lora: bool
) -> CheckpointSize:
    """Bytes of one `checkpoint-N` folder over all processes: the model as the trainer saves it, then what resume
    needs: DeepSpeed's fp32 master partitions and Adam states, or torch's optimizer state dict."""
    if lora:  # PEFT saves the adapters (fp32) and the optimizer holds only theirs
        return CheckpointSize(4 * trainable, 0, 8 * trainable)
    if strategy in ("zero2", "zero3"):  # the bf16 module; fp32 masters and fp32 Adam states, partitioned
        return CheckpointSize(2 * params, 4 * trainable, 8 * trainable)
    if strategy == "fsdp":  # accelerate upcasts to fp32 before sharding
        return CheckpointSize(4 * params, 0, 8 * trainable)
    return CheckpointSize(weight_bytes * params, 0, 2 * weight_bytes * trainable)


def final_model_bytes(params: int, trainable: int, strategy: str, weight_bytes: int, lora: bool) -> int:
    return checkpoint_size(params, trainable, strategy, weight_bytes, lora).weights


def training_flops_per_token(params: int, method: str, beta: float, checkpointing: bool) -> float:
    """6 per parameter (forward and backward), 2 more under gradient checkpointing (the forward again); GRPO
    adds the old policy's log-probabilities (a forward: 2) and the reference model's when beta > 0 (2)."""
    flops = 6.0 + (2.0 if checkpointing else 0.0)
    if method == "grpo":
        flops += 2.0 + (2.0 if beta > 0 else 0.0)
    return flops * params


def assumed_decode_tokens_per_s(
    params: int, kv_bytes_per_token: int, kv_tokens: int, new_tokens: int, sequences: int, bandwidth: float
) -> tuple[float, int]:
    """(tokens/s, sequences decoded together) for one engine: as many sequences as its KV cache holds at their
    average length (prompt plus half the new tokens), at ASSUMED_DECODE_EFFICIENCY of the bound."""
    context = ASSUMED_PROMPT_TOKENS + new_tokens / 2
    concurrency = max(1, min(sequences, int(kv_tokens // (ASSUMED_PROMPT_TOKENS + new_tokens)) or 1))
    bound = decode_bound_tokens_per_s(2 * params, kv_bytes_per_token, context, concurrency, bandwidth)
    return ASSUMED_DECODE_EFFICIENCY * bound, concurrency


def size(nbytes: float) -> str:
    """Decimal units, as disks are sold and `df -H` prints them."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if nbytes >= scale or unit == "MB":
            return f"{nbytes / scale:,.1f} {unit}"
    raise AssertionError


def hours(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def slurm_time(seconds: float, margin: float = 1.25, cap_hours: int = 24) -> str:
    """An sbatch --time for work estimated at `seconds`: a quarter more and half an hour, whole hours, at most
    `cap_hours` (longer runs are requeued from their checkpoints)."""
    wanted = math.ceil((seconds * margin + 1800) / 3600)
    return f"{min(wanted, cap_hours):02d}:00:00"


def free_bytes(path: Path) -> int | None:
    """Free space on the filesystem that holds `path` (its nearest existing folder), None if none is found."""
    for folder in [path, *path.parents]:
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def gpu_profile(hardware) -> tuple[float, float, str]:
    """(bf16 FLOP/s, bandwidth, name) of the plan's GPU; an H100's data sheet when it is not one we know."""
    profile = profile_for(hardware.name) or PROFILES["h100"]
    return profile.bf16_flops, profile.bandwidth, profile.name


def _fits(free: int | None) -> str:
    if free is None:
        return ""
    return f"; {size(free)} free there"


def training_cost(
    plan,
    *,
    params: int,
    kv_bytes_per_token: int,
    trainable: int,
    strategy: str,
    weight_bytes: int,
    lora: bool,
    args: dict,
    processes: int,
    rollout_kv_tokens: int | None,
) -> None:
    """Time per step and in all, checkpoint and disk, and the Slurm grace: lines in `plan.cost`; figures on
    `plan.train_seconds`, `plan.grace_seconds`, `plan.disk_bytes`."""
    recipe, hw = plan.recipe, plan.hardware
    steps = plan.steps
    step = _step_seconds(plan, params, kv_bytes_per_token, args, processes, rollout_kv_tokens) if hw else None
    if step is None:
        plan.cost.append(
            ("training time", "not estimated without a GPU (`make bench` measures this machine's throughput)")
        )
    checkpoint = checkpoint_size(params, trainable, strategy, weight_bytes, lora)
    saves = _saves(args, steps)
    limit = args.get("save_total_limit")
    kept = saves if not limit else min(saves, int(limit) + 1)  # the next is written before the oldest goes
    final = final_model_bytes(params, trainable, strategy, weight_bytes, lora)
    disk = kept * checkpoint.total + final
    plan.disk_bytes, plan.checkpoint_bytes, plan.final_bytes = disk, checkpoint.total, final
    plan.cost.append(
        (
            "checkpoint",
            f"{checkpoint.describe()}; {kept} on disk at once"
            + (
                f" (save_total_limit {limit}, plus the one being written)"
                if limit and saves > int(limit)
                else f" ({saves} saved in the run)"
            ),
        )
    )
    output = Path(recipe.train.output_dir)
    # the space here matters only for a run here: declared GPUs plan a run on another machine
    free = free_bytes(output) if not (hw and hw.declared) else None
    plan.cost.append(
        (
            "disk",
            f"{size(disk)} in {output} (checkpoints and the final model, {size(final)})" + _fits(free),
        )
    )
    if free is not None and free < disk:
        plan.warnings.append(
            f"the training output needs ~{size(disk)} and its filesystem has {size(free)} free: a "
            "save would fail with 'No space left on device'; free space, lower save_total_limit, or move train.output_dir"
        )
    write = checkpoint.total / ASSUMED_WRITE_BYTES_PER_S
    if step is None:
        return
    grace = max(MIN_GRACE_S, math.ceil((step + write + GRACE_MARGIN_S) / 30) * 30)
    plan.grace_seconds = grace
    plan.cost.append(
        (
            "slurm grace",
            f"{grace} s before the time limit: a step ({hours(step)}) + writing a checkpoint ({write:.0f} s at "
            f"{ASSUMED_WRITE_BYTES_PER_S / 1e9:.0f} GB/s) + {GRACE_MARGIN_S} s (`make slurm` uses it)",
        )
    )


def _step_seconds(
    plan, params: int, kv_bytes_per_token: int, args: dict, processes: int, rollout_kv_tokens: int | None
) -> float:
    """One optimizer step's seconds on the plan's GPUs: training at ASSUMED_MFU, GRPO's generation at
    ASSUMED_DECODE_EFFICIENCY of the bound; adds the work and time lines to `plan.cost`."""
    recipe, hw = plan.recipe, plan.hardware
    method = recipe.train.method
    peak_flops, bandwidth, gpu = gpu_profile(hw)
    micro, accumulation = int(args["per_device_train_batch_size"]), int(args["gradient_accumulation_steps"])
    global_batch = micro * processes * accumulation
    new_tokens = int(args["max_completion_length"]) if method == "grpo" else 0
    sequence = ASSUMED_PROMPT_TOKENS + new_tokens if method == "grpo" else int(args["max_length"])
    trained_tokens = global_batch * sequence
    flops = training_flops_per_token(
        params, method, float(args.get("beta") or 0), bool(args.get("gradient_checkpointing"))
    )
    train_step = flops * trained_tokens / (processes * peak_flops * ASSUMED_MFU)
    step = train_step
    notes = [f"training {hours(train_step)} at {ASSUMED_MFU:.0%} MFU of the {gpu}'s bf16 peak"]
    generated = 0
    if method == "grpo":
        generated = global_batch * new_tokens
        if args.get("use_vllm"):
            if args.get("vllm_mode") == "server":
                engines, kv_tokens, where = 1, _server_kv_tokens(hw, params, kv_bytes_per_token), "the server"
            else:
                engines, kv_tokens, where = processes, rollout_kv_tokens or 0, "each colocated engine"
            per_engine, together = assumed_decode_tokens_per_s(
                params, kv_bytes_per_token, kv_tokens, new_tokens, global_batch // engines, bandwidth
            )
            generation = generated / (engines * per_engine)
            step += generation
            notes.append(
                f"generation {hours(generation)}: {per_engine:,.0f} tokens/s on {where} ({together} sequences at "
                f"once) at {ASSUMED_DECODE_EFFICIENCY:.0%} of the memory-bandwidth bound"
            )
        else:
            notes.append("generation with transformers not estimated")
    steps = plan.steps
    plan.cost.append(
        (
            "training work",
            (f"{steps:,} steps x " if steps else "per step: ")
            + f"up to {trained_tokens:,} tokens trained"
            + (f" and {generated:,} generated (every completion at its limit)" if generated else ""),
        )
    )
    if steps:
        plan.train_seconds = steps * step
    total = f"up to {hours(steps * step)} in all, " if steps else ""
    plan.cost.append(("training time", f"{total}{hours(step)} per step ({'; '.join(notes)})"))
    return step


def _saves(args: dict, steps: int | None) -> int:
    if args.get("save_strategy") in ("no", None) or not steps:
        return 1
    if args.get("save_strategy") == "epoch":
        return max(1, math.ceil(float(args.get("num_train_epochs") or 1)))
    if args.get("save_strategy") == "steps":
        every = float(args.get("save_steps") or 500)
        every = every * steps if every < 1 else every
        return max(1, int(steps // every))
    return 1


def _server_kv_tokens(hw, params: int, kv_bytes_per_token: int) -> int:
    """`trl vllm-serve`'s KV cache on one GPU at its default 0.9 of the memory."""
    from train.plan.build import VLLM_OVERHEAD

    return int(max(0, 0.9 * hw.memory_bytes - 2 * params - VLLM_OVERHEAD) // kv_bytes_per_token)


def evaluation_cost(
    plan, *, params: int, kv_bytes_per_token: int, kv_tokens: int, engines: int, tensor_parallel: int
) -> None:
    """Generated tokens per side and task at the worst case (every sample at its limit), and the hours that
    takes on the recipe's engines; the generation store's size."""
    from recipes.protocol.task_catalog import TASKS

    ev = plan.recipe.eval
    _, bandwidth, gpu = gpu_profile(plan.hardware)
    side_seconds, side_tokens, parts = 0.0, 0, []
    for name, task in ev.tasks.items():
        info = TASKS[name]
        problems = min(info.size, ev.max_problems or info.size)
        n = task.n or info.default_n
        new = task.max_new_tokens or ev.generation.max_new_tokens
        tokens = problems * n * new
        per_engine, _ = assumed_decode_tokens_per_s(
            params,
            kv_bytes_per_token / tensor_parallel,
            kv_tokens,
            new,
            problems * n,
            bandwidth * tensor_parallel,
        )
        seconds = tokens / (engines * per_engine)
        side_seconds += seconds
        side_tokens += tokens
        parts.append(f"{name} {tokens / 1e6:,.1f} M ({hours(seconds)})")
    plan.eval_seconds = side_seconds
    plan.cost.append(
        (
            "evaluation work",
            f"per side, at most: {', '.join(parts)}; {side_tokens / 1e6:,.1f} M tokens",
        )
    )
    plan.cost.append(
        (
            "evaluation time",
            f"up to {hours(side_seconds)} per side, {hours(2 * side_seconds)} for a compare (baseline and tuned) on "
            f"{engines} engine(s) of the {gpu}, at {ASSUMED_DECODE_EFFICIENCY:.0%} of the memory-bandwidth bound",
        )
    )
    store = 2 * side_tokens * ASSUMED_BYTES_PER_GENERATED_TOKEN
    plan.cost.append(("generation store", f"up to {size(store)} for both sides (the reasonlift cache)"))


def assumptions() -> str:
    return (
        f"estimates: {ASSUMED_MFU:.0%} MFU for training, {ASSUMED_DECODE_EFFICIENCY:.0%} of the memory-bandwidth "
        f"bound for vLLM, {ASSUMED_WRITE_BYTES_PER_S / 1e9:.0f} GB/s for checkpoint writes: assumptions, not "
        "measurements (docs/benchmarks.md); the work counts are exact"
    )


def evidence_cost(plan) -> None:
    """What the evidence costs: the training runs the seeds ask for, the evaluations a compare makes (the
    baseline once, each run's model, the selection set on every checkpoint), in GPU-hours where the plan has
    estimated the time, in counts where it has not."""
    recipe = plan.recipe
    train = recipe.train
    if train is None:
        return
    runs = len(train.seeds or [None])
    # the GPUs a run holds: its training processes (a vLLM server's GPU too, when it has one)
    gpus = plan.hardware.gpus if plan.hardware else None
    if gpus and plan.processes:
        gpus = min(gpus, plan.processes + (1 if train.args.get("vllm_mode") == "server" else 0))
    parts = []
    if plan.train_seconds is not None:
        gpu_hours = f", {runs * plan.train_seconds * gpus / 3600:,.1f} GPU-hours" if gpus else ""
        parts.append(f"{runs} training run(s): up to {hours(runs * plan.train_seconds)}{gpu_hours}")
    else:
        parts.append(f"{runs} training run(s)")
    evaluations = 1 + runs
    if plan.eval_seconds is not None:
        parts.append(
            f"compare: the baseline once and {runs} tuned model(s), up to {hours(evaluations * plan.eval_seconds)}"
        )
    else:
        parts.append(f"compare: {evaluations} evaluations (the baseline once, {runs} tuned)")
    selection = recipe.eval.selection
    if selection:
        from train.run import effective_args

        args = effective_args(train.method, train.args)  # TRL's defaults: saves every 500 steps unless told
        kept = _saves(args, plan.steps)
        if args.get("save_total_limit"):
            kept = min(kept, int(args["save_total_limit"]))
        candidates = kept + 1  # the checkpoints left on disk and the final model
        parts.append(
            f"selection: up to {candidates} checkpoint(s) x {', '.join(selection.tasks)} before the test tasks"
        )
    if runs == 1:
        parts.append(
            "one run: the interval covers that run only; train.seeds: [1, 2, 3] costs 3x the training and "
            "2x the compare's evaluations"
        )
    plan.cost.append(("evidence", "; ".join(parts)))
