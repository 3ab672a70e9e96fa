"""The reasoning-efficiency numbers of a comparison (or of one model's analysis): per task and level."""

from __future__ import annotations

from dataclasses import dataclass

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


def analyse_task(result: TaskResult, count_tokens, spec: AnalysisSpec) -> AnalysedTask:
    kind = TASKS[result.task].answer_kind
    markers = spec.switch_markers if spec.switch_markers is not None else DEFAULT_SWITCH_MARKERS
    choices = TASKS[result.task].kind.choices
    flat = [(p, s) for p in result.problems for s in p.samples]
    located = _judge_locations(flat, spec) if spec.judge else None
    by_subset: dict[str | None, list[SampleReasoning]] = {None: []}
    for i, (problem, sample) in enumerate(flat):
        locate = None
        if located is not None and not isinstance(located[i], Exception):
            index = located[i]
            locate = lambda _steps, index=index: index  # noqa: E731
        analysed = analyse_sample(
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
        by_subset[None].append(analysed)
        if problem.level not in (None, ""):
            by_subset.setdefault(f"level {problem.level}", []).append(analysed)
    if len(by_subset) == 2:  # a single level is the whole task again
        by_subset = {None: by_subset[None]}
    ordered = {None: by_subset.pop(None), **dict(sorted(by_subset.items(), key=lambda kv: str(kv[0])))}
    return AnalysedTask(task=result.task, samples=ordered)


def _judge_locations(flat, spec: AnalysisSpec):
    from eval.reasoning.judge import Judge

    try:
        judge = Judge(spec.judge)
        jobs = [(split_steps(split_reasoning(s.text)[0]), p.gold) for p, s in flat]
        results = judge.locate_all(jobs)
    except Exception as err:  # the endpoint is not usable at all
        print(f"warning: judge unavailable ({type(err).__name__}: {err}); using the judge-free method")
        return None
    if judge.failures:
        print(
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
