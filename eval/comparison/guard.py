"""The settings guard: a difference between two evaluations means something only if they were made alike."""

from __future__ import annotations

from eval.stores.results import TaskResult

SETTINGS_LABELS = {
    "task_version": "task version (prompt and scoring)",
    "dataset": "dataset",
    "revision": "dataset revision",
    "n": "samples per problem (n)",
    "temperature": "temperature",
    "top_p": "top_p",
    "max_new_tokens": "max new tokens",
    "seed": "sampling seed",
    "chat_template": "chat template",
    "grading_unfinished": "grading of unfinished responses (eval.grading.unfinished)",
}


def settings_mismatches(baseline: TaskResult, tuned: TaskResult) -> list[str]:
    """Every way the two sides were not evaluated alike, in words."""
    problems = []
    for key in sorted(set(baseline.settings) | set(tuned.settings)):
        a, b = baseline.settings.get(key), tuned.settings.get(key)
        if a != b and key != "task":
            problems.append(
                f"{baseline.task}: {SETTINGS_LABELS.get(key, key)} differs: baseline {a!r}, tuned {b!r}"
            )
    if baseline.data_fingerprint != tuned.data_fingerprint:
        problems.append(f"{baseline.task}: the problems or gold answers differ between the two evaluations")
    base_prompts = {p.problem_id: p.prompt_hash for p in baseline.problems}
    differing = sum(
        1
        for p in tuned.problems
        if p.problem_id in base_prompts and base_prompts[p.problem_id] != p.prompt_hash
    )
    if differing:
        problems.append(f"{baseline.task}: {differing} of {len(tuned.problems)} rendered prompts differ")
    if baseline.partial != tuned.partial:
        problems.append(
            f"{baseline.task}: one side was evaluated on a subset of problems (eval.max_problems)"
        )
    return problems
