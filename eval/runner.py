"""Evaluate one model on a recipe's tasks through lighteval, reusing whatever was already computed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from eval.engines import TransformersEngine, VllmEngine, choose_backend
from eval.fingerprint import text_fingerprint
from eval.generation_store import GenerationStore
from eval.model_ref import ModelRef, resolve_model
from eval.results import (
    ProblemRecord,
    SampleRecord,
    TaskResult,
    data_fingerprint,
    load_result,
    result_cache_path,
    save_result,
)
from eval.settings import TaskRun, resolve_tasks
from recipes.errors import UserError
from recipes.paths import cache_dir
from recipes.protocol.chat_template import apply_recipe_template
from recipes.protocol.grader import grade
from recipes.schema import EvalSpec

logger = logging.getLogger(__name__)


@dataclass
class ModelEvaluation:
    model: ModelRef
    results: dict[str, TaskResult]  # by task name
    reused: list[str]  # tasks whose results came from the cache


def load_eval_tokenizer(path: str, chat_template: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    apply_recipe_template(tokenizer, chat_template)
    return tokenizer


def evaluate_model(
    model_name: str,
    spec: EvalSpec,
    chat_template: str = "model",
    revision: str | None = None,
    recipe_dir: Path | None = None,
    label: str | None = None,
    regrade: bool = False,
    generate: bool = True,
) -> ModelEvaluation:
    """Evaluate `model_name` on `spec.tasks`; cached task results (same weights, same settings) are reused.

    With `regrade`, cached results are ignored and every saved generation is graded again (after a scoring
    fix); nothing is generated, and a task without saved generations is an error.
    """
    ref = resolve_model(model_name, revision, recipe_dir)
    tokenizer = load_eval_tokenizer(ref.path, chat_template)
    template_hash = text_fingerprint(tokenizer.chat_template)[:16]
    runs = resolve_tasks(spec, recipe_dir)
    label = label or model_name

    results: dict[str, TaskResult] = {}
    cache_paths = {}
    for run in runs:
        settings = {**run.describe(), "chat_template": template_hash}
        cache_paths[run.name] = result_cache_path(ref.fingerprint, run.name, settings, spec.max_problems)
        cached = None if regrade else load_result(cache_paths[run.name])
        if cached is not None:
            results[run.name] = cached
    reused = list(results)
    for name in reused:
        print(f"{label}: {name}: reusing cached results (same weights {ref.fingerprint[:12]}, same settings)")

    todo = [run for run in runs if run.name not in results]
    if todo:
        fresh = _run_pipeline(
            ref, tokenizer, todo, spec, label, template_hash, generate=generate and not regrade
        )
        for name, result in fresh.items():
            save_result(result, cache_paths[name])
            results[name] = result
    return ModelEvaluation(model=ref, results={r.name: results[r.name] for r in runs}, reused=reused)


def _engine_factory(ref: ModelRef, spec: EvalSpec, runs: list[TaskRun]):
    backend = choose_backend(spec.backend)
    longest = max(r.sampling.max_new_tokens for r in runs)

    def make():
        print(f"starting {backend} engine for {ref.name}")
        if backend == "vllm" and spec.vllm.data_parallel_size > 1:
            from eval.data_parallel import DataParallelVllmEngine

            return DataParallelVllmEngine(ref.path, spec.vllm, longest, seed=spec.generation.seed)
        if backend == "vllm":
            return VllmEngine(ref.path, spec.vllm, longest, seed=spec.generation.seed)
        return TransformersEngine(ref.path, dtype=spec.vllm.dtype)

    return make


def _run_pipeline(
    ref: ModelRef,
    tokenizer,
    runs: list[TaskRun],
    spec: EvalSpec,
    label: str,
    template_hash: str,
    generate: bool = True,
) -> dict[str, TaskResult]:
    from lighteval.logging.evaluation_tracker import EvaluationTracker
    from lighteval.pipeline import ParallelismManager, Pipeline, PipelineParameters

    from eval.compat import only_project_tasks
    from eval.model import SampledResponse, StoredGenerationModel
    from eval.tasks import tasks_module

    by_lighteval_name = {run.info.lighteval_name: run for run in runs}
    stores = {run.info.lighteval_name: GenerationStore(ref.fingerprint, run.sampling) for run in runs}
    model = StoredGenerationModel(
        model_name=label,
        tokenizer=tokenizer,
        stores=stores,
        runs=by_lighteval_name,
        engine_factory=_engine_factory(ref, spec, runs),
        generate=generate,
    )
    params = PipelineParameters(
        launcher_type=ParallelismManager.CUSTOM,
        max_samples=spec.max_problems,
        remove_reasoning_tags=False,  # scoring handles the pre-filled <think> itself
    )
    # lighteval's tracker collects metrics and details in memory; reasonlift writes its own files, so
    # the tracker's output folder is never written (nothing calls save_and_push_results).
    tracker = EvaluationTracker(output_dir=str(cache_dir() / "lighteval"), save_details=False)
    task_list = ",".join(f"{name}|0" for name in by_lighteval_name)
    with only_project_tasks(tasks_module(runs)):
        try:
            pipeline = Pipeline(
                tasks=task_list, pipeline_parameters=params, evaluation_tracker=tracker, model=model
            )
        except UserError:
            raise
        except Exception as err:
            raise UserError(_dataset_error_message(runs, err)) from None
        try:
            pipeline.evaluate()
        finally:
            model.cleanup()
    final = pipeline.get_results()
    details = pipeline.get_details()

    results = {}
    for lighteval_name, run in by_lighteval_name.items():
        full_name = f"{lighteval_name}|0"
        problems = []
        for detail in details[full_name]:
            doc, response = detail.doc, detail.model_response
            assert isinstance(response, SampledResponse)
            gold = doc.get_golds()[0]
            choices = tuple(doc.choices) if run.info.answer_kind == "letter" else ()
            samples = []
            for sample in response.samples:
                g = grade(sample.text, gold, run.info.answer_kind, choices)
                samples.append(
                    SampleRecord(
                        text=sample.text,
                        tokens=sample.tokens,
                        finish_reason=sample.finish_reason,
                        extracted=g.extracted,
                        correct=g.correct,
                    )
                )
            specific = doc.specific or {}
            problems.append(
                ProblemRecord(
                    problem_id=str(specific.get("problem_id", doc.id)),
                    gold=gold,
                    prompt_hash=GenerationStore.prompt_key(response.input),
                    prompt=response.input,
                    samples=samples,
                    level=specific.get("level"),
                    subject=specific.get("subject"),
                )
            )
        problems.sort(key=lambda p: p.problem_id)
        metrics = {
            k: float(v)
            for k, v in final["results"][full_name.replace("|", ":")].items()
            if not k.endswith("_stderr")
        }
        results[run.name] = TaskResult(
            task=run.name,
            model=ref.name,
            model_fingerprint=ref.fingerprint,
            settings={**run.describe(), "chat_template": template_hash},
            data_fingerprint=data_fingerprint(problems),
            chat_template_hash=template_hash,
            metrics=metrics,
            problems=problems,
            partial=spec.max_problems is not None,
        )
    return results


def _dataset_error_message(runs: list[TaskRun], err: Exception) -> str:
    text = f"{type(err).__name__}: {err}"
    gated = [r for r in runs if r.info.gated and r.data_location == r.info.hf_repo]
    if gated and ("gated" in text.lower() or "401" in text or "403" in text):
        r = gated[0]
        return (
            f"{r.name}: {r.info.hf_repo} is a gated dataset: accept its terms on the Hugging Face hub page, "
            "then `hf auth login` (or set HF_TOKEN), or set eval.data_dir to a local copy"
        )
    hub = [r.info.hf_repo for r in runs if r.data_location == r.info.hf_repo]
    hint = (
        f" The tasks {', '.join(hub)} load from the Hugging Face hub: with no network, put local copies in "
        "eval.data_dir (or REASONLIFT_EVAL_DATA), one folder per task, in the hub's schema."
        if hub
        else ""
    )
    return f"could not load the evaluation data ({text.splitlines()[0][:300]}).{hint}"
