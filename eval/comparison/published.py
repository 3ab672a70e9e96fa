"""The baseline against its published figure: does our DeepSeek-R1-Distill-Qwen-1.5B reproduce DeepSeek's?

The most repeated complaint about reproducing R1-Distill is an AIME baseline that does not match the paper.
When the baseline is that model, each task's measured pass@1 is set beside DeepSeek's published figure
(TaskInfo.reference_pass1: 28.9 AIME 2024, 83.9 MATH-500, 33.8 GPQA-Diamond) with its 95% interval, and a
figure outside the interval comes with the settings that depart from DeepSeek's protocol, the usual cause.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from eval.stores.results import TaskResult
from recipes.protocol.task_catalog import TASKS

PUBLISHED_MODEL = "DeepSeek-R1-Distill-Qwen-1.5B"
# DeepSeek's protocol for its distilled models (DeepSeek-R1 report): sampling at temperature 0.6 and top-p
# 0.95, up to 32,768 new tokens, pass@1 averaged over many samples (64 in the report).
PROTOCOL = {"temperature": 0.6, "top_p": 0.95, "max_new_tokens": 32_768}
FEW_SAMPLES = 16  # below this, AIME's pass@1 moves several points between runs
PUBLISHED_SAMPLES = 64  # samples per problem behind DeepSeek's pass@1


@dataclass(frozen=True)
class PublishedCheck:
    task: str
    measured: float
    low: float
    high: float
    published: float
    within: bool
    departures: list[str]  # settings of this evaluation that differ from DeepSeek's protocol

    def to_json(self) -> dict:
        return asdict(self)


def is_published_model(name: str) -> bool:
    """A hub id or a local folder of DeepSeek-R1-Distill-Qwen-1.5B (a checkpoint of it is not the model)."""
    return name.rstrip("/").split("/")[-1].lower() == PUBLISHED_MODEL.lower()


def departures(settings: dict) -> list[str]:
    found = []
    for key, value in PROTOCOL.items():
        if key in settings and settings[key] != value:
            found.append(f"{key} {settings[key]} (DeepSeek: {value})")
    if settings.get("n", FEW_SAMPLES) < FEW_SAMPLES:
        found.append(f"n {settings['n']} samples per problem (DeepSeek averaged 64)")
    if settings.get("grading_unfinished") == "no_answer":
        found.append(
            "unfinished responses earn nothing (eval.grading.unfinished: no_answer; lenient grades them whole)"
        )
    return found


def reproduction_margin(result: TaskResult) -> float:
    """Half the 95% interval for "the same model on the same problems": DeepSeek's figure is on these very
    problems, so only the sampling noise of each problem's pass@1 counts, ours (n samples) and theirs
    (PUBLISHED_SAMPLES), not the luck of which problems were set (that is the compare's interval)."""
    total = 0.0
    for problem in result.problems:
        n = len(problem.samples)
        p = problem.pass1
        if n > 1:  # the unbiased variance of one sample's correctness, scaled to each side's n
            total += p * (1 - p) * n / (n - 1) * (1 / n + 1 / PUBLISHED_SAMPLES)
    return float(stats.norm.ppf(0.975) * np.sqrt(total) / len(result.problems))


def check_baseline(model_name: str, results: dict[str, TaskResult]) -> list[PublishedCheck]:
    """One check per task with a published figure, when `model_name` is the published model; else none."""
    if not is_published_model(model_name):
        return []
    checks = []
    for name, result in results.items():
        published = TASKS[name].reference_pass1 if name in TASKS else None
        if published is None or not result.problems or result.partial:
            continue
        mean, half = float(np.mean([p.pass1 for p in result.problems])), reproduction_margin(result)
        low, high = mean - half, mean + half
        checks.append(
            PublishedCheck(
                task=name,
                measured=mean,
                low=low,
                high=high,
                published=published,
                within=low <= published <= high,
                departures=departures(result.settings),
            )
        )
    return checks


def check_lines(checks: list[PublishedCheck]) -> list[str]:
    """The terminal's and table.md's lines: the figure, and for one outside its interval, a warning."""
    lines = []
    for c in checks:
        figure = (
            f"{c.task}: baseline {100 * c.measured:.1f} [{100 * c.low:.1f}, {100 * c.high:.1f}] vs "
            f"DeepSeek's published {100 * c.published:.1f}"
        )
        if c.within:
            lines.append(f"{figure}: reproduced (within the 95% sampling interval)")
            continue
        why = (
            "; ".join(c.departures)
            if c.departures
            else "none of its settings differ from DeepSeek's protocol"
        )
        lines.append(
            f"warning: {figure}: outside the 95% sampling interval. Settings that usually explain it: the token limit, "
            f"n, the chat template (it must pre-fill <think>), the unfinished-answer rule. Here: {why}"
        )
    return lines
