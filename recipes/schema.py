"""The recipe: one YAML file describing model, training, evaluation and logging for one experiment.

Configuration flows one way: YAML -> these validated objects -> TRL / lighteval / vLLM config objects.
TRL's own arguments are not re-declared here: `train.args` is passed through to `SFTConfig` (or the
method's config class) and checked against that dataclass's fields by `recipes.trl_args`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from recipes.protocol.checking import Unfinished
from recipes.protocol.task_catalog import TASKS
from recipes.trl_args import check_trl_args


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# The recipe keys that are paths, declared here on their fields and nowhere else: the loader makes them absolute
# (relative to the recipe's folder) and checks the ones that must exist; the recipe copy beside a model writes
# them absolute. "folder": always a path. "local_or_hub": a path when it names something local, else a hub id
# (a `revision` beside it pins a hub id). "file_or_name": a path when it looks like a file, else a name.
PathKind = Literal["folder", "local_or_hub", "file_or_name"]


def PathField(kind: PathKind, *, must_exist: bool = False, **kwargs: Any) -> Any:
    return Field(json_schema_extra={"path": kind, "must_exist": must_exist}, **kwargs)


def path_fields(model: BaseModel, prefix: str = "") -> list[tuple[str, BaseModel, str, PathKind, bool]]:
    """Every path key set in `model`: (dotted key, the object holding it, its field name, kind, must exist)."""
    found = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        extra = info.json_schema_extra
        if isinstance(extra, dict) and "path" in extra:
            if value:
                found.append((f"{prefix}{name}", model, name, extra["path"], bool(extra["must_exist"])))
        elif isinstance(value, BaseModel):
            found += path_fields(value, f"{prefix}{name}.")
    return found  # type: ignore[return-value]


class ModelSpec(StrictModel):
    name_or_path: str | None = PathField(
        "local_or_hub",
        must_exist=True,
        default=None,
        description="hub id, local folder, or builtin:tiny-qwen2",
    )
    # Start from another recipe's trained output (SFT -> GRPO); `make train` trains that recipe first if needed.
    from_recipe: str | None = PathField("folder", default=None)
    revision: str | None = None
    dtype: Literal["bfloat16", "float16", "float32", "auto"] = "bfloat16"
    # "r1": reasonlift's R1-Distill template, identical to DeepSeek's for prompts (it pre-fills "<think>\n")
    # but it keeps the reasoning in assistant turns, which DeepSeek's template strips: SFT targets need it.
    chat_template: Literal["model", "r1"] = "model"
    attn_implementation: str | None = None

    @model_validator(mode="after")
    def _has_source(self) -> ModelSpec:
        # the loader fills name_or_path from from_recipe, so both being set is normal after loading
        if self.name_or_path is None:
            raise ValueError("set name_or_path (or from_recipe)")
        return self


class DatasetSpec(StrictModel):
    path: str = PathField(
        "local_or_hub",
        must_exist=True,
        description="hub id, local .jsonl/.parquet file or folder, or builtin:toy-addition",
    )
    name: str | None = None
    revision: str | None = None
    split: str = "train"
    messages_field: str = Field(default="messages", description="SFT: the chat-format column")
    prompt_field: str = Field(default="problem", description="GRPO: the problem text column")
    answer_field: str = Field(default="answer", description="GRPO: the gold answer column")
    max_samples: int | None = Field(
        default=None, gt=0, description="a seeded random subset of this many rows"
    )
    seed: int = Field(default=0, description="the shuffle behind max_samples")
    too_long: Literal["drop", "truncate"] = Field(
        default="drop",
        description="SFT: rows longer than max_length; truncating loses the final answer and end of sequence",
    )


class LoraSpec(StrictModel):
    r: int = Field(default=16, gt=0)
    alpha: int = Field(default=32, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class RewardSpec(StrictModel):
    model_config = ConfigDict(extra="allow")  # the reward's own parameters, checked against its signature
    weight: float = 1.0


class HealthRuleSpec(StrictModel):
    threshold: float | None = None
    window: int | None = Field(default=None, gt=0)


class HealthSpec(StrictModel):
    """The training health monitor (recipes/health.py): rule thresholds, and the rules that stop the run."""

    enabled: bool = True
    rules: dict[str, HealthRuleSpec] = Field(default_factory=dict, description="rule -> {threshold, window}")
    stop_on: list[str] = Field(default_factory=list, description="rules that stop the run with a checkpoint")

    @field_validator("rules", "stop_on")
    @classmethod
    def _known_rules(cls, value):
        from recipes.health import RULES

        unknown = [name for name in value if name not in RULES]
        if unknown:
            raise ValueError(f"unknown health rule {unknown[0]!r}; expected one of {', '.join(RULES)}")
        return value


class TrainSpec(StrictModel):
    method: Literal["sft", "grpo"]
    output_dir: str = PathField("folder")
    accelerate_config: str = PathField(
        "file_or_name", must_exist=True, default="ddp", description="name in accelerate_configs/ or a path"
    )
    num_processes: int | None = Field(default=None, gt=0)
    dataset: DatasetSpec
    lora: LoraSpec | None = None
    args: dict[str, Any] = Field(default_factory=dict, description="TRL config fields, passed through")
    rewards: dict[str, RewardSpec] | None = Field(
        default=None, description="GRPO: reward name -> weight, params"
    )
    health: HealthSpec = Field(default_factory=HealthSpec)
    seeds: list[int] | None = Field(
        default=None,
        min_length=1,
        description="one training run per seed (train.args.seed), each in output_dir/seed-<seed>; the compare "
        "reports each run and the method's delta over them",
    )

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"seeds repeat: {value}; each run needs its own seed")
        return value

    @field_validator("args")
    @classmethod
    def _check_trl_args(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "method" in info.data:  # a bad method is reported on its own
            check_trl_args(info.data["method"], value)
        return value

    @field_validator("rewards")
    @classmethod
    def _check_rewards(cls, value: dict[str, RewardSpec] | None) -> dict[str, RewardSpec] | None:
        if value is not None:
            from recipes.protocol.rewards import check_reward_params

            for name, spec in value.items():
                check_reward_params(name, spec.model_extra or {})
        return value

    @model_validator(mode="after")
    def _rewards_match_method(self) -> TrainSpec:
        if self.method == "grpo" and not self.rewards:
            raise ValueError(
                "method grpo needs `rewards` (e.g. {accuracy: {weight: 1.0}, format: {weight: 0.5}})"
            )
        if self.method == "sft" and self.rewards:
            raise ValueError("`rewards` only apply to method grpo")
        from recipes.health import RULES

        named = [*self.health.rules, *self.health.stop_on]
        other = [name for name in named if self.method not in RULES[name].methods]
        if other:
            raise ValueError(
                f"health rule {other[0]!r} watches {'/'.join(RULES[other[0]].methods)} runs, not {self.method}"
            )
        return self


class TaskSpec(StrictModel):
    n: int | None = Field(default=None, gt=0, description="samples per problem; default per task")
    max_new_tokens: int | None = Field(default=None, gt=0)
    revision: str | None = None


class GenerationSpec(StrictModel):
    # DeepSeek's protocol for R1-Distill models.
    temperature: float = Field(default=0.6, ge=0)
    top_p: float = Field(default=0.95, gt=0, le=1)
    max_new_tokens: int = Field(default=32768, gt=0)
    seed: int = 1234


class VllmSpec(StrictModel):
    max_model_len: int | None = Field(default=None, gt=0)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    tensor_parallel_size: int = Field(default=1, gt=0)
    data_parallel_size: int = Field(default=1, gt=0, description="engines, each on tensor_parallel_size GPUs")
    dtype: str = "auto"
    enable_prefix_caching: bool = True
    max_num_seqs: int | None = Field(default=None, gt=0)
    max_num_batched_tokens: int | None = Field(default=None, gt=0)


class EndpointSpec(StrictModel):
    """How evaluation talks to a served model (`make eval model=http://...`, `baseline=`/`tuned=` URLs)."""

    concurrency: int = Field(
        default=256, gt=0, description="samples in flight at once (one request each), as vLLM's max_num_seqs"
    )
    timeout_s: float = Field(
        default=3600, gt=0, description="one attempt at one sample (each retry gets its own)"
    )
    max_retries: int = Field(
        default=4, ge=0, description="on connection errors, 408, 429 and 5xx, with backoff"
    )
    # vLLM's server reads its key from the same variable; an OpenAI key is never sent to an endpoint by default
    api_key_env: str = "VLLM_API_KEY"
    per_request_seed: bool | None = Field(
        default=None,
        description="send each prompt's seed; default: yes, unless the server is on this GPU-less machine "
        "(vLLM's CPU backend crashes on per-request seeds)",
    )


class JudgeSpec(StrictModel):
    """An OpenAI-compatible endpoint (e.g. `vllm serve`) asked where the correct answer first appears."""

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(default=8, gt=0)
    timeout_s: float = Field(default=60, gt=0)


class AnalysisSpec(StrictModel):
    switch_markers: list[str] | None = Field(
        default=None, description="phrases that mark a change of approach"
    )
    judge: JudgeSpec | None = None


class GradingSpec(StrictModel):
    unfinished: Unfinished = Field(
        default="no_answer",
        description="a response that never closed its thinking: no final answer (wrong), or graded whole "
        "(lenient, for comparison with harnesses that do); both sides of a compare must share it",
    )


def known_tasks(names):
    """`names` (a list or a mapping by task name) when every one is in the task catalog."""
    unknown = [name for name in names if name not in TASKS]
    if unknown:
        raise ValueError(f"unknown task {unknown[0]!r}; expected one of {', '.join(TASKS)}")
    return names


class SelectionSpec(StrictModel):
    """The tasks a checkpoint is chosen on, before the test tasks are looked at."""

    tasks: list[str] = Field(min_length=1)
    n: int | None = Field(default=None, gt=0, description="samples per problem; default per task")

    @field_validator("tasks")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return known_tasks(value)


class EvalSpec(StrictModel):
    tasks: dict[str, TaskSpec] = Field(min_length=1)
    selection: SelectionSpec | None = Field(
        default=None, description="choose the tuned checkpoint on these tasks (never on the test tasks)"
    )
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    backend: Literal["auto", "vllm", "transformers"] = "auto"
    vllm: VllmSpec = Field(default_factory=VllmSpec)
    endpoint: EndpointSpec = Field(default_factory=EndpointSpec)
    data_dir: str | None = PathField(
        "folder",
        must_exist=True,
        default=None,
        description="local copies of the benchmarks, one folder per task",
    )
    output_dir: str | None = PathField("folder", default=None)
    max_problems: int | None = Field(
        default=None, gt=0, description="debug only: evaluate the first N problems"
    )
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)
    grading: GradingSpec = Field(default_factory=GradingSpec)

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks_as_mapping(cls, value: Any) -> Any:
        # Accept the short form `tasks: [aime24, math_500]` as well as a mapping with settings.
        if isinstance(value, list):
            return {name: {} for name in value}
        if isinstance(value, dict):
            return {name: ({} if spec is None else spec) for name, spec in value.items()}
        return value

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, value: dict[str, TaskSpec]) -> dict[str, TaskSpec]:
        return known_tasks(value)

    @model_validator(mode="after")
    def _selection_apart_from_tests(self) -> EvalSpec:
        shared = [t for t in (self.selection.tasks if self.selection else []) if t in self.tasks]
        if shared:
            raise ValueError(
                f"selection.tasks includes the test task {shared[0]!r}: a checkpoint chosen on the task that "
                "reports it reports the best of several noisy scores; choose on another task"
            )
        return self


class WandbSpec(StrictModel):
    enabled: bool = True
    project: str = "reasonlift"
    entity: str | None = None
    tags: list[str] = Field(default_factory=list)


class Recipe(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    description: str | None = None
    model: ModelSpec
    train: TrainSpec | None = None
    eval: EvalSpec
    wandb: WandbSpec = Field(default_factory=WandbSpec)

    # Set by the loader: where the recipe came from, for error messages and relative paths.
    source: str | None = Field(default=None, exclude=True)
    overrides: list[str] = Field(default_factory=list, exclude=True)  # --set KEY=VALUE, applied to `source`
