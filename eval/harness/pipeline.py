"""Run reasonlift's tasks through lighteval's Pipeline and read its details back as TaskResults.

The model handed to the Pipeline is reasonlift's adapter (generation through an engine, saved as it
finishes); the task's metric grades each sample once and leaves the grades on the response, which is
where the records below take them from.
"""

from __future__ import annotations

from collections.abc import Callable

from eval.engines.base import Engine
from eval.harness.adapter import SampledResponse, StoredGenerationModel
from eval.harness.metric import metric_names
from eval.models import render_prompt
from eval.settings import TaskRun
from eval.stores.generations import GenerationStore
from eval.stores.results import ProblemRecord, SampleRecord, TaskResult, data_fingerprint
from recipes.errors import UserError
from recipes.paths import cache_dir


def run_tasks(
    runs: list[TaskRun],
    stores: dict[str, GenerationStore],
    tokenizer,
    engine_factory: Callable[[], Engine],
    label: str,
    max_problems: int | None,
    generate: bool = True,
) -> tuple[dict, dict]:
    """lighteval's (results, details) for `runs`; generations come from `stores` or, when missing, from an
    engine built on first need. With `generate=False` a missing generation is an error."""
    from eval.harness.compat import grad_mode_kept, only_project_tasks

    with grad_mode_kept():
        from lighteval.logging.evaluation_tracker import EvaluationTracker
        from lighteval.pipeline import ParallelismManager, Pipeline, PipelineParameters

    from eval.harness.tasks import tasks_module

    by_name = {run.info.lighteval_name: run for run in runs}
    _offline_unless_reachable(runs)
    model = StoredGenerationModel(
        model_name=label,
        tokenizer=tokenizer,
        stores=stores,
        runs=by_name,
        engine_factory=engine_factory,
        generate=generate,
    )
    params = PipelineParameters(
        launcher_type=ParallelismManager.CUSTOM,
        max_samples=max_problems,
        remove_reasoning_tags=False,  # the grader finds the answer after </think> itself
    )
    # lighteval's tracker collects metrics and details in memory; reasonlift writes its own files, so
    # the tracker's output folder is never written (nothing calls save_and_push_results).
    tracker = EvaluationTracker(output_dir=str(cache_dir() / "lighteval"), save_details=False)
    task_list = ",".join(f"{name}|0" for name in by_name)
    with only_project_tasks(tasks_module(runs)):
        try:
            pipeline = Pipeline(
                tasks=task_list, pipeline_parameters=params, evaluation_tracker=tracker, model=model
            )
        except UserError:
            raise
        except Exception as err:
            raise UserError(dataset_error_message(runs, err)) from None
        try:
            pipeline.evaluate()
        finally:
            model.cleanup()
    return pipeline.get_results(), pipeline.get_details()


def problem_record(detail, run: TaskRun) -> ProblemRecord:
    """One problem's record from a lighteval detail: its samples with the grades the metric gave them."""
    doc, response = detail.doc, detail.model_response
    assert isinstance(response, SampledResponse) and len(response.grades) == len(response.samples)
    samples = [
        SampleRecord(
            text=sample.text,
            tokens=sample.tokens,
            finish_reason=sample.finish_reason,
            extracted=g.extracted,
            correct=g.correct,
            reasoning_tokens=sample.reasoning_tokens,
        )
        for sample, g in zip(response.samples, response.grades, strict=True)
    ]
    specific = doc.specific or {}
    return ProblemRecord(
        problem_id=str(specific.get("problem_id", doc.id)),
        gold=doc.get_golds()[0],
        prompt_hash=GenerationStore.prompt_key(response.input),
        prompt=response.input,
        samples=samples,
        level=specific.get("level"),
        subject=specific.get("subject"),
    )


def task_result(
    run: TaskRun,
    lighteval_results: dict,
    details: dict,
    model: str,
    fingerprint: str,
    settings: dict,
    partial: bool,
) -> TaskResult:
    full_name = f"{run.info.lighteval_name}|0"
    problems = sorted((problem_record(d, run) for d in details[full_name]), key=lambda p: p.problem_id)
    metrics = lighteval_results["results"][full_name.replace("|", ":")]
    return TaskResult(
        task=run.name,
        model=model,
        model_fingerprint=fingerprint,
        settings=settings,
        data_fingerprint=data_fingerprint(problems),
        chat_template_hash=settings["chat_template"],
        # only this task's own metrics: lighteval's average over tasks sharing the "reasonlift:" prefix
        # reads every task's metrics through a defaultdict, leaving a 0.0 in each task for every metric
        # of the others (pass@8 = 0.0 on a task sampled 4 times)
        metrics={name: float(metrics[name]) for name in metric_names(run.sampling.n)},
        problems=problems,
        partial=partial,
    )


def _from_hub(runs: list[TaskRun]) -> list[TaskRun]:
    return [r for r in runs if r.data_location == r.info.hf_repo]


def _offline_unless_reachable(runs: list[TaskRun]) -> None:
    """Tasks read from the hub: offline at once when it does not answer (the cache is then all there is)."""
    from recipes.hub import offline_unless_reachable

    if _from_hub(runs):
        offline_unless_reachable()


def dataset_error_message(runs: list[TaskRun], err: Exception) -> str:
    from recipes.hub import hub_reachable

    text = f"{type(err).__name__}: {err}"
    gated = [r for r in _from_hub(runs) if r.info.gated]
    unreachable = bool(_from_hub(runs)) and not hub_reachable()
    if gated and (unreachable or "gated" in text.lower() or "401" in text or "403" in text):
        r = gated[0]
        why = "is not in the local cache and the hub cannot be reached" if unreachable else "needs a token"
        return (
            f"{r.name}: {r.info.hf_repo} is a gated dataset and {why}: on a machine with network, accept its terms "
            "on its Hugging Face hub page, then `hf auth login` (or set HF_TOKEN) and evaluate once (it is then "
            "cached), or set eval.data_dir to a local copy"
        )
    hub = [r.info.hf_repo for r in runs if r.data_location == r.info.hf_repo]
    hint = (
        f" The tasks {', '.join(hub)} load from the Hugging Face hub: with no network, put local copies in "
        "eval.data_dir (or REASONLIFT_EVAL_DATA), one folder per task, in the hub's schema."
        if hub
        else ""
    )
    return f"could not load the evaluation data ({text.splitlines()[0][:300]}).{hint}"


def task_prompts(run: TaskRun, tokenizer, max_problems: int | None) -> list[str]:
    """The task's rendered prompts, as the evaluation renders them."""
    return [render_prompt(tokenizer, d.query) for d in task_docs(run, max_problems)]


def task_docs(run: TaskRun, max_problems: int | None) -> list:
    """The task's lighteval Docs (one per problem), loaded as the evaluation loads them."""
    from lighteval.tasks.registry import Registry

    from eval.harness.compat import only_project_tasks
    from eval.harness.tasks import tasks_module

    _offline_unless_reachable([run])
    try:
        with only_project_tasks(tasks_module([run])):
            tasks = Registry(tasks=f"{run.info.lighteval_name}|0").load_tasks()
        docs = next(iter(tasks.values())).get_docs(max_problems)
    except UserError:
        raise
    except Exception as err:  # no network, a gated dataset, a bad eval.data_dir
        raise UserError(dataset_error_message([run], err)) from None
    return docs
