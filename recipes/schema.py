"""The recipe: one YAML file describing model, training, evaluation and logging for one experiment.

Configuration flows one way: YAML -> these validated objects -> TRL / lighteval / vLLM config objects.
TRL's own arguments are not re-declared here: `train.args` is passed through to `SFTConfig` (or the
method's config class) and checked against that dataclass's fields by `recipes.trl_args`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from eval.task_catalog import TASKS
from recipes.trl_args import check_trl_args


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSpec(StrictModel):
    name_or_path: str = Field(description="hub id, local folder, or builtin:tiny-qwen2")
    revision: str | None = None
    dtype: Literal["bfloat16", "float16", "float32", "auto"] = "bfloat16"
    # "r1": reasonlift's R1-Distill template, identical to DeepSeek's for prompts (it pre-fills "<think>\n")
    # but it keeps the reasoning in assistant turns, which DeepSeek's template strips: SFT targets need it.
    chat_template: Literal["model", "r1"] = "model"
    attn_implementation: str | None = None


class DatasetSpec(StrictModel):
    path: str = Field(description="hub id, local .jsonl/.parquet file or folder, or builtin:toy-addition")
    name: str | None = None
    revision: str | None = None
    split: str = "train"
    messages_field: str = "messages"
    max_samples: int | None = Field(default=None, gt=0)


class LoraSpec(StrictModel):
    r: int = Field(default=16, gt=0)
    alpha: int = Field(default=32, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class TrainSpec(StrictModel):
    method: Literal["sft"]
    output_dir: str
    accelerate_config: str = Field(default="ddp", description="name in accelerate_configs/ or a path")
    num_processes: int | None = Field(default=None, gt=0)
    dataset: DatasetSpec
    lora: LoraSpec | None = None
    args: dict[str, Any] = Field(default_factory=dict, description="TRL config fields, passed through")

    @field_validator("args")
    @classmethod
    def _check_trl_args(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "method" in info.data:  # a bad method is reported on its own
            check_trl_args(info.data["method"], value)
        return value


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
    dtype: str = "auto"
    enable_prefix_caching: bool = True
    max_num_seqs: int | None = Field(default=None, gt=0)
    max_num_batched_tokens: int | None = Field(default=None, gt=0)
    # Prompts are submitted in chunks of this many problems so that finished work is saved as it completes.
    chunk_size: int = Field(default=256, gt=0)


class EvalSpec(StrictModel):
    tasks: dict[str, TaskSpec] = Field(min_length=1)
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    backend: Literal["auto", "vllm", "transformers"] = "auto"
    vllm: VllmSpec = Field(default_factory=VllmSpec)
    data_dir: str | None = Field(
        default=None, description="local copies of the benchmarks, one folder per task"
    )
    output_dir: str | None = None
    max_problems: int | None = Field(
        default=None, gt=0, description="debug only: evaluate the first N problems"
    )

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
        unknown = [name for name in value if name not in TASKS]
        if unknown:
            raise ValueError(f"unknown task {unknown[0]!r}; expected one of {', '.join(TASKS)}")
        return value


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
