"""Evaluate one model on a recipe's tasks: reuse what was computed, run lighteval for the rest, save it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eval.engines.base import choose_backend, make_engine
from eval.models import ModelRef, load_tokenizer, resolve_model
from eval.settings import TaskRun, resolve_tasks
from eval.stores.fingerprint import text_fingerprint
from eval.stores.generations import GenerationStore
from eval.stores.results import TaskResult, load_result, result_cache_path, save_result
from recipes.schema import EvalSpec


@dataclass
class ModelEvaluation:
    model: ModelRef
    results: dict[str, TaskResult]  # by task name
    reused: list[str]  # tasks whose results came from the cache


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
    tokenizer = load_tokenizer(ref.path, chat_template)
    template_hash = text_fingerprint(tokenizer.chat_template)[:16]
    runs = resolve_tasks(spec, recipe_dir)
    label = label or model_name
    settings = {run.name: {**run.describe(), "chat_template": template_hash} for run in runs}
    cache_paths = {
        run.name: result_cache_path(ref.fingerprint, run.name, settings[run.name], spec.max_problems)
        for run in runs
    }

    results = {} if regrade else _cached_results(cache_paths)
    for name in results:
        print(f"{label}: {name}: reusing cached results (same weights {ref.fingerprint[:12]}, same settings)")
    reused = list(results)
    todo = [run for run in runs if run.name not in results]
    if todo:
        fresh = _evaluate_runs(ref, tokenizer, todo, spec, label, settings, generate=generate and not regrade)
        for name, result in fresh.items():
            save_result(result, cache_paths[name])
        results.update(fresh)
    return ModelEvaluation(model=ref, results={r.name: results[r.name] for r in runs}, reused=reused)


def _cached_results(cache_paths: dict[str, Path]) -> dict[str, TaskResult]:
    found = {name: load_result(path) for name, path in cache_paths.items()}
    return {name: result for name, result in found.items() if result is not None}


def _evaluate_runs(
    ref: ModelRef,
    tokenizer,
    runs: list[TaskRun],
    spec: EvalSpec,
    label: str,
    settings: dict[str, dict],
    generate: bool,
) -> dict[str, TaskResult]:
    from eval.harness.pipeline import run_tasks, task_result

    stores = {run.info.lighteval_name: GenerationStore(ref.fingerprint, run.sampling) for run in runs}
    backend = choose_backend(spec.backend)

    def engine():
        print(f"starting {backend} engine for {ref.name}")
        return make_engine(backend, ref.path, spec)

    lighteval_results, details = run_tasks(
        runs, stores, tokenizer, engine, label, spec.max_problems, generate=generate
    )
    partial = spec.max_problems is not None
    return {
        run.name: task_result(
            run, lighteval_results, details, ref.name, ref.fingerprint, settings[run.name], partial
        )
        for run in runs
    }
