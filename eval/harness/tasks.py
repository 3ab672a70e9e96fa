"""reasonlift's lighteval task module: aime24, math_500, gpqa:diamond and the toy task.

Prompts follow DeepSeek's protocol for R1-Distill models: no system prompt; for math, the problem and
"Please reason step by step, and put your final answer within \\boxed{}."; for GPQA, the question with
four lettered options whose order is shuffled with a fixed seed per question, so every model (and
every run) sees identical prompts. The chat template is applied by the model backend.
"""

from __future__ import annotations

import hashlib
import random
from types import ModuleType

from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc

from eval.harness.metric import sampled_answer_metric
from eval.settings import TASK_VERSION, TaskRun
from recipes.protocol.prompts import LETTERS, gpqa_prompt, math_prompt


def _problem_id(line: dict, task_name: str) -> str:
    for key in ("unique_id", "id", "ID", "Record ID"):
        if line.get(key) not in (None, ""):
            return str(line[key])
    return f"{task_name}/{line['__index']}"


def math_doc(line: dict, task_name: str = "") -> Doc:
    return Doc(
        query=math_prompt(line["problem"]),
        choices=[str(line["answer"])],
        gold_index=0,
        specific={
            "problem_id": _problem_id(line, task_name),
            "statement": str(line["problem"]),  # the problem alone, for the contamination check
            "level": line.get("level"),
            "subject": line.get("subject"),
        },
    )


def gpqa_option_order(question: str) -> list[int]:
    """A fixed permutation of [correct, wrong1, wrong2, wrong3] for this question, the same on every run."""
    seed = int.from_bytes(hashlib.sha256(question.encode()).digest()[:8], "big")
    order = [0, 1, 2, 3]
    random.Random(seed).shuffle(order)
    return order


def gpqa_doc(line: dict, task_name: str = "") -> Doc:
    answers = [
        line["Correct Answer"],
        line["Incorrect Answer 1"],
        line["Incorrect Answer 2"],
        line["Incorrect Answer 3"],
    ]
    answers = [str(a).strip() for a in answers]
    order = gpqa_option_order(line["Question"])
    options = [answers[i] for i in order]
    return Doc(
        query=gpqa_prompt(line["Question"].strip(), options),
        choices=list(LETTERS),
        gold_index=order.index(0),
        specific={
            "problem_id": _problem_id(line, task_name),
            "statement": line["Question"].strip(),
            "subject": line.get("High-level domain"),
        },
    )


def task_config(run: TaskRun) -> LightevalTaskConfig:
    prompt_function = gpqa_doc if run.info.answer_kind == "letter" else math_doc
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
