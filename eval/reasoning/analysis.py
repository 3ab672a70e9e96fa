"""The reasoning-efficiency numbers of a comparison (or of one model's analysis): per task and level."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from eval.reasoning.first_correct import FirstCorrect
from eval.reasoning.metrics import (
    DEFAULT_SWITCH_MARKERS,
    ReasoningSummary,
    SampleReasoning,
    analyse_sample,
    split_reasoning,
    split_steps,
    summarise,
)
from eval.stores.results import TaskResult
from recipes.log import info
from recipes.protocol.task_catalog import TASKS
from recipes.schema import AnalysisSpec

METRICS = [
    ("accuracy", "accuracy %", 100),
    ("reasoning_tokens", "reasoning tok", 1),
    ("first_correct_tokens", "first-correct tok", 1),
    ("reflection_tokens", "reflection tok", 1),
    ("efficiency", "efficiency", 1),
    ("efficiency_all", "efficiency (EvalScope)", 1),
    ("switches", "switches", 1),
    ("self_checks", "wait", 1),
]
PAIRED = ("reasoning_tokens_correct", "first_correct_tokens", "reflection_tokens", "efficiency")


@dataclass
class AnalysedTask:
    task: str
    samples: dict[str | None, list[SampleReasoning]]  # None = whole task; "level N" = MATH-500 levels

    def summaries(self) -> dict[str | None, ReasoningSummary]:
        return {subset: summarise(s) for subset, s in self.samples.items()}


# Above this much reasoning text a task's analysis is spread over processes (below, starting them costs more).
PARALLEL_MIN_CHARS = 20_000_000
# Bump when a figure of the analysis changes: cached analyses are then computed again.
ANALYSIS_VERSION = 2


def analyse_task(
    result: TaskResult,
    count_tokens,
    spec: AnalysisSpec,
    tokenizer_source: str | None = None,
    workers: int | None = None,
    cache: bool = True,
) -> AnalysedTask:
    """How one model thinks on one task (`analyse_tasks` for several at once)."""
    return analyse_tasks([(result, count_tokens, tokenizer_source)], spec, workers, cache)[0]


def analyse_tasks(
    items: list[tuple[TaskResult, object, str | None]],
    spec: AnalysisSpec,
    workers: int | None = None,
    cache: bool = True,
) -> list[AnalysedTask]:
    """How each model thinks on each task: `items` are (result, token counter, tokenizer folder); every sample
    analysed, grouped by level.

    A result analysed before (same weights, settings, grader, analysis settings and version) is read from the
    analysis cache. The rest share one pool of `workers` processes (all cores this process may use) when there
    is enough text to make starting them worth it; within a problem, its samples share one first-correct search."""
    from eval.stores.analysis import analysis_key, load_analysis, save_analysis

    keys = [analysis_key(result, spec.model_dump(), ANALYSIS_VERSION) for result, _, _ in items]
    found: dict[int, list[SampleReasoning]] = {}
    for i, ((result, _, _), key) in enumerate(zip(items, keys, strict=True)):
        if cache and not spec.judge and (cached := _cached(result, key, load_analysis)) is not None:
            found[i] = cached
    todo = [i for i in range(len(items)) if i not in found]
    if spec.judge:
        found.update({i: _analyse_with_judge(items[i][0], items[i][1], spec) for i in todo})
    elif todo:
        found.update(_analyse(items, todo, spec, workers))
        if cache:
            for i in todo:
                save_analysis(items[i][0], keys[i], [asdict(sample) for sample in found[i]])
    return [
        AnalysedTask(task=result.task, samples=_by_subset(result, found[i]))
        for i, (result, _, _) in enumerate(items)
    ]


def _cached(result: TaskResult, key: str, load) -> list[SampleReasoning] | None:
    rows = load(result, key)
    try:
        return None if rows is None else [SampleReasoning(**row) for row in rows]
    except TypeError:  # rows of another version of the record
        return None


def _by_subset(
    result: TaskResult, analysed: list[SampleReasoning]
) -> dict[str | None, list[SampleReasoning]]:
    """The whole task (None), then each MATH level; one level alone is the whole task again."""
    by_subset: dict[str | None, list[SampleReasoning]] = {None: list(analysed)}
    flat = [p for p in result.problems for _ in p.samples]
    for problem, sample in zip(flat, analysed, strict=True):
        if problem.level not in (None, ""):
            by_subset.setdefault(f"level {problem.level}", []).append(sample)
    if len(by_subset) == 2:
        by_subset = {None: by_subset[None]}
    return {None: by_subset.pop(None), **dict(sorted(by_subset.items(), key=lambda kv: str(kv[0])))}


@dataclass(frozen=True)
class _Job:
    """One problem's samples, as a worker process receives them."""

    problem_id: str
    gold: str
    kind: str
    choices: tuple[str, ...]
    markers: tuple[str, ...]
    samples: list[tuple[str, bool, int, int | None]]  # text, correct, tokens, reasoning tokens


def _jobs(result: TaskResult, spec: AnalysisSpec) -> list[_Job]:
    info = TASKS[result.task]
    markers = tuple(spec.switch_markers if spec.switch_markers is not None else DEFAULT_SWITCH_MARKERS)
    return [
        _Job(
            p.problem_id,
            p.gold,
            info.answer_kind,
            info.kind.choices,
            markers,
            [(s.text, s.correct, s.tokens, s.reasoning_tokens) for s in p.samples],
        )
        for p in result.problems
    ]


def analyse_problem(job: _Job, count_tokens) -> list[SampleReasoning]:
    """A problem's samples, sharing one first-correct search (each distinct candidate decided once)."""
    search = FirstCorrect(job.gold, job.kind, job.choices)
    return [
        analyse_sample(
            text,
            job.gold,
            job.kind,
            correct,
            count_tokens,
            job.markers,
            job.choices,
            generated_tokens=tokens,
            reasoning_tokens=reasoning_tokens,
            problem_id=job.problem_id,
            search=search,
        )
        for text, correct, tokens, reasoning_tokens in job.samples
    ]


def _analyse(
    items: list[tuple[TaskResult, object, str | None]],
    todo: list[int],
    spec: AnalysisSpec,
    workers: int | None,
) -> dict[int, list[SampleReasoning]]:
    jobs = {i: _jobs(items[i][0], spec) for i in todo}
    chars = sum(len(s[0]) for i in todo for job in jobs[i] for s in job.samples)
    workers = workers or len(os.sched_getaffinity(0))
    sources = {items[i][2] for i in todo}
    if workers < 2 or None in sources or chars < PARALLEL_MIN_CHARS:
        return {i: [s for job in jobs[i] for s in analyse_problem(job, items[i][1])] for i in todo}
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # one pool for everything (starting one costs seconds of imports); about four batches per worker, the
    # longest problems first, so the slow ones (AIME's long traces) spread out
    flat = [(i, number, items[i][2], job) for i in todo for number, job in enumerate(jobs[i])]
    order = sorted(range(len(flat)), key=lambda k: -sum(len(s[0]) for s in flat[k][3].samples))
    batches: list[list[int]] = [[] for _ in range(min(len(flat), workers * 4))]
    for position, k in enumerate(order):
        batches[position % len(batches)].append(k)
    analysed: dict[int, list[SampleReasoning]] = {}
    context = multiprocessing.get_context("spawn")  # no forked copy of the parent's threads and engines
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(sorted(sources),)
    ) as pool:
        work = [[(flat[k][2], flat[k][3]) for k in batch] for batch in batches]
        for batch, results in zip(batches, pool.map(_analyse_batch, work), strict=True):
            analysed.update(zip(batch, results, strict=True))
    return {
        i: [s for k in range(len(flat)) if flat[k][0] == i for s in analysed[k]]  # problem order kept
        for i in todo
    }


_WORKER_COUNTS: dict[str, object] = {}


def _init_worker(sources: list[str]) -> None:
    from eval.models import token_counter

    _WORKER_COUNTS.update({source: token_counter(source) for source in sources})


def _analyse_batch(jobs: list[tuple[str, _Job]]) -> list[list[SampleReasoning]]:
    return [analyse_problem(job, _WORKER_COUNTS[source]) for source, job in jobs]


def _analyse_with_judge(result: TaskResult, count_tokens, spec: AnalysisSpec) -> list[SampleReasoning]:
    kind = TASKS[result.task].answer_kind
    markers = spec.switch_markers if spec.switch_markers is not None else DEFAULT_SWITCH_MARKERS
    choices = TASKS[result.task].kind.choices
    flat = [(p, s) for p in result.problems for s in p.samples]
    located = _judge_locations(flat, spec)
    analysed = []
    for i, (problem, sample) in enumerate(flat):
        locate = None
        if located is not None and not isinstance(located[i], Exception):
            index = located[i]
            locate = lambda _steps, index=index: index  # noqa: E731
        analysed.append(
            analyse_sample(
                sample.text,
                problem.gold,
                kind,
                sample.correct,
                count_tokens,
                markers,
                choices,
                locate=locate,
                generated_tokens=sample.tokens,
                reasoning_tokens=sample.reasoning_tokens,
                problem_id=problem.problem_id,
            )
        )
    return analysed


def _judge_locations(flat, spec: AnalysisSpec):
    from eval.reasoning.judge import Judge

    try:
        judge = Judge(spec.judge)
        jobs = [(split_steps(split_reasoning(s.text)[0]), p.gold) for p, s in flat]
        results = judge.locate_all(jobs)
    except Exception as err:  # the endpoint is not usable at all
        info(f"warning: judge unavailable ({type(err).__name__}: {err}); using the judge-free method")
        return None
    if judge.failures:
        info(
            f"warning: the judge failed on {judge.failures} of {len(jobs)} samples; those use the judge-free method"
        )
    return results


def solved_by_both(base: list[SampleReasoning], tuned: list[SampleReasoning]) -> set[str]:
    """Problems that each side answered correctly at least once: the set a paired efficiency is taken over."""

    def solved(samples: list[SampleReasoning]) -> set[str]:
        return {s.problem_id for s in samples if s.correct}

    return solved(base) & solved(tuned)


def comparison_rows(base: AnalysedTask, tuned: AnalysedTask) -> list[dict]:
    base_s, tuned_s = base.summaries(), tuned.summaries()
    rows = []
    for subset in base_s:
        if subset not in tuned_s:
            continue
        b, t = base_s[subset], tuned_s[subset]
        # each side's own averages run over its own correct samples, so over different problems; the
        # paired figures keep only the problems both sides solved
        both = solved_by_both(base.samples[subset], tuned.samples[subset])
        paired_b = summarise([s for s in base.samples[subset] if s.problem_id in both])
        paired_t = summarise([s for s in tuned.samples[subset] if s.problem_id in both])
        rows.append(
            {
                "task": base.task,
                "subset": subset,
                "baseline": b.to_json(),
                "tuned": t.to_json(),
                "delta": {key: getattr(t, key) - getattr(b, key) for key, _, _ in METRICS},
                "paired": {
                    "problems": len(both),
                    "baseline": {key: getattr(paired_b, key) for key in PAIRED},
                    "tuned": {key: getattr(paired_t, key) for key in PAIRED},
                },
            }
        )
    return rows


def single_model_rows(analysed: list[AnalysedTask]) -> list[dict]:
    """One model's summaries, a row per task and level (`make analyze`)."""
    return [
        {"task": task.task, "subset": subset, **summary.to_json()}
        for task in analysed
        for subset, summary in task.summaries().items()
    ]
