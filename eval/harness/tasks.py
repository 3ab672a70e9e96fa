"""reasonlift's lighteval task module: aime24, math_500, gpqa:diamond and the toy task.

Prompts follow DeepSeek's protocol for R1-Distill models: no system prompt; for math, the problem and
"Please reason step by step, and put your final answer within \\boxed{}."; for GPQA, the question with
four lettered options whose order is shuffled with a fixed seed per question, so every model (and
every run) sees identical prompts. The chat template is applied by the model backend.
"""

from __future__ import annotations

from functools import partial
from types import ModuleType

from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc

from eval.harness.metric import sampled_answer_metric
from eval.settings import TASK_VERSION, TaskRun
from recipes.protocol.answer_kinds import ANSWER_KINDS


def make_doc(kind: str, line: dict, task_name: str = "") -> Doc:
    """lighteval's Doc for a dataset row, as the task's answer kind builds it."""
    return Doc(**ANSWER_KINDS[kind].doc(line, task_name))


def task_config(run: TaskRun) -> LightevalTaskConfig:
    prompt_function = partial(make_doc, run.info.answer_kind)
    return LightevalTaskConfig(
        name=run.info.lighteval_name,
        prompt_function=prompt_function,
        hf_repo=run.data_location,
        hf_subset=run.hf_subset,
        hf_revision=run.revision,
        hf_avail_splits=[run.info.split],
        evaluation_splits=[run.info.split],
        few_shots_split=None,
        few_shots_select=None,
        generation_size=run.sampling.max_new_tokens,
        stop_sequence=[],
        metrics=[sampled_answer_metric(run.info.answer_kind, run.sampling.n, run.unfinished)],
        version=TASK_VERSION,
    )


def tasks_module(runs: list[TaskRun]) -> ModuleType:
    """A module object holding TASKS_TABLE, the form lighteval's registry loads custom tasks from."""
    module = ModuleType("reasonlift_tasks")
    module.TASKS_TABLE = [task_config(run) for run in runs]
    return module
