"""Resolved evaluation settings: recipe values with task defaults applied, everything a result depends on."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from eval.stores.generations import SamplingSettings
from recipes.protocol.task_catalog import TASKS, TaskInfo
from recipes.schema import EvalSpec

EVAL_DATA_ENV = "REASONLIFT_EVAL_DATA"
# Bump when a prompt or the scoring changes: cached results are then re-graded from the saved generations
# (which are keyed on weights, prompt and sampling, not on this), never mixed in. 2: math-verify 0.9 grader.
# 3: a result holds only its own task's metrics (no 0.0 for other tasks' pass@k).
# 4: the final answer located as a careful reader would (recipes.protocol.answers): unfinished responses have
#    none, box groups, final statements after a box, explicit GPQA choices; golds that do not parse compared as text.
# 5: Unicode math, numbers below 1 to 6 significant digits, words that turn an answer around, GPQA letters in
#    other languages, full-width letters and hedges (no single answer).
TASK_VERSION = 5


@dataclass(frozen=True)
class TaskRun:
    info: TaskInfo
    sampling: SamplingSettings
    data_location: str  # hub repo id or a local folder
    hf_subset: str
    revision: str | None
    unfinished: str = "no_answer"  # eval.grading.unfinished

    @property
    def name(self) -> str:
        return self.info.name

    def describe(self) -> dict:
        """Everything about this task run that must match between two sides of a comparison."""
        return {
            "task": self.info.name,
            "task_version": TASK_VERSION,
            "dataset": self.info.hf_repo,
            "revision": self.revision,
            "grading_unfinished": self.unfinished,
            **asdict(self.sampling),
        }


def data_dir(spec: EvalSpec) -> Path | None:
    """eval.data_dir (absolute: the loader applied the recipe path rule), else $REASONLIFT_EVAL_DATA (a shell
    value: relative to the current directory)."""
    value = spec.data_dir or os.environ.get(EVAL_DATA_ENV)
    return Path(value).expanduser().resolve() if value else None


def resolve_tasks(spec: EvalSpec) -> list[TaskRun]:
    local_root = data_dir(spec)
    runs = []
    for name, task_spec in spec.tasks.items():
        info = TASKS[name]
        if info.builtin:
            from recipes.builtins.toy_data import toy_dataset_path

            location, subset = str(toy_dataset_path() / "eval"), "default"
        elif local_root is not None and (local_root / info.local_dirname).exists():
            location, subset = str(local_root / info.local_dirname), "default"
        else:
            location, subset = info.hf_repo, info.hf_subset
        sampling = SamplingSettings(
            n=task_spec.n or info.default_n,
            temperature=spec.generation.temperature,
            top_p=spec.generation.top_p,
            max_new_tokens=task_spec.max_new_tokens or spec.generation.max_new_tokens,
            seed=spec.generation.seed,
        )
        runs.append(
            TaskRun(
                info=info,
                sampling=sampling,
                data_location=location,
                hf_subset=subset,
                revision=task_spec.revision or info.hf_revision,
                unfinished=spec.grading.unfinished,
            )
        )
    return runs
