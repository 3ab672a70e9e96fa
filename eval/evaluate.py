"""Evaluate one model on a recipe's tasks: reuse what was computed, run lighteval for the rest, save it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eval.engines.base import Engine, choose_backend
from eval.engines.registry import make_engine
from eval.models import ModelRef, load_tokenizer, resolve_model, token_counter
from eval.settings import TaskRun, resolve_tasks
from eval.stores.fingerprint import text_fingerprint
from eval.stores.generations import GenerationStore, SamplingSettings, forget_generations
from eval.stores.perf import forget_perf
from eval.stores.results import TaskResult, forget_results, load_result, result_cache_path, save_result
from recipes.log import info
from recipes.protocol.markup import think_close_id
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
    label: str | None = None,
    regrade: bool = False,
    generate: bool = True,
    served_model: str | None = None,
    tokenizer_from: str | None = None,
    refresh: bool = False,
) -> ModelEvaluation:
    """Evaluate `model_name` on `spec.tasks`; cached task results (same weights, same settings) are reused.

    With `regrade`, cached results are ignored and every saved generation is graded again (after a scoring
    fix); nothing is generated, and a task without saved generations is an error. A URL is a served model
    (`served_model` names it when the server has several; `tokenizer_from` renders its prompts when the
    server's own folder is not here); `refresh` forgets what was saved for it (the served weights changed).
    """
    ref = resolve_model(model_name, revision, None, served_model, tokenizer_from, spec.endpoint)
    if refresh:
        _forget(ref, label or model_name)
    tokenizer = load_tokenizer(ref.path, chat_template)
    template_hash = text_fingerprint(tokenizer.chat_template)[:16]
    runs = resolve_tasks(spec)
    label = label or model_name
    settings = {run.name: {**run.describe(), "chat_template": template_hash} for run in runs}
    cache_paths = {
        run.name: result_cache_path(ref.fingerprint, run.name, settings[run.name], spec.max_problems)
        for run in runs
    }

    results = {} if regrade else _cached_results(cache_paths)
    for name in results:
        info(f"{label}: {name}: reusing cached results (same weights {ref.fingerprint[:12]}, same settings)")
    reused = list(results)
    todo = [run for run in runs if run.name not in results]
    if todo:
        fresh = _evaluate_runs(ref, tokenizer, todo, spec, label, settings, generate=generate and not regrade)
        for name, result in fresh.items():
            save_result(result, cache_paths[name])
        results.update(fresh)
    for run in runs:
        report_unparsed_golds(results[run.name], label)
    return ModelEvaluation(model=ref, results={r.name: results[r.name] for r in runs}, reused=reused)


def report_unparsed_golds(result: TaskResult, label: str) -> None:
    unparsed = result.unparsed_golds()
    if unparsed:
        info(
            f"{label}: {result.task}: {len(unparsed)} of {len(result.problems)} gold answers cannot be parsed by "
            f"math-verify and are compared as text only (e.g. {unparsed[0]})"
        )


def engine_for(ref: ModelRef, tokenizer, spec: EvalSpec, backend: str) -> Engine:
    """The engine for a resolved model: its server when it is a URL, else `backend` on its folder."""
    if ref.endpoint is not None:
        return make_engine(
            "endpoint",
            ref.path,
            spec,
            endpoint=ref.endpoint,
            count_tokens=token_counter(tokenizer),
            close_id=think_close_id(tokenizer),
        )
    return make_engine(backend, ref.path, spec)


def _forget(ref: ModelRef, label: str) -> None:
    if ref.endpoint is None:
        info(f"{label}: refresh is for served models; local weights are fingerprinted, nothing to forget")
        return
    removed = (
        forget_generations(ref.fingerprint) + forget_results(ref.fingerprint) + forget_perf(ref.fingerprint)
    )
    load_tokenizer.cache_clear()  # the server's tokenizer folder may have changed with its weights
    info(f"{label}: refresh: forgot {removed} saved file(s) of {ref.endpoint.model!r} at {ref.endpoint.url}")


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

    # tasks with the same sampling settings share a store file, and so one store object: what one task
    # generates, the other sees
    shared: dict[SamplingSettings, GenerationStore] = {}
    for run in runs:
        if run.sampling not in shared:
            shared[run.sampling] = GenerationStore(ref.fingerprint, run.sampling)
    stores = {run.info.lighteval_name: shared[run.sampling] for run in runs}
    backend = "endpoint" if ref.endpoint is not None else choose_backend(spec.backend)

    def engine():
        if ref.endpoint is not None:
            info(f"generating through {ref.endpoint.url} ({ref.endpoint.model})")
        else:
            info(f"starting {backend} engine for {ref.name}")
        return engine_for(ref, tokenizer, spec, backend)

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
