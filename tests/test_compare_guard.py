import numpy as np
import pytest

from eval.comparison.guard import settings_mismatches
from eval.comparison.pairing import compare_task
from eval.stores.results import ProblemRecord, SampleRecord, TaskResult, data_fingerprint

SETTINGS = {
    "task": "math_500",
    "task_version": 1,
    "dataset": "HuggingFaceH4/MATH-500",
    "revision": None,
    "n": 4,
    "temperature": 0.6,
    "top_p": 0.95,
    "max_new_tokens": 32768,
    "seed": 1234,
    "chat_template": "abc",
    "grading_unfinished": "no_answer",
}


def _result(correct: list[list[bool]], settings=None, prompt="p", levels=None) -> TaskResult:
    problems = [
        ProblemRecord(
            problem_id=f"q{i}",
            gold="1",
            prompt_hash=f"{prompt}{i}",
            samples=[SampleRecord("t", 10, "stop", "1" if c else "2", c) for c in row],
            level=(levels[i] if levels else None),
        )
        for i, row in enumerate(correct)
    ]
    return TaskResult(
        task="math_500",
        model="m",
        model_fingerprint="f",
        settings=dict(settings or SETTINGS),
        data_fingerprint=data_fingerprint(problems),
        chat_template_hash="abc",
        metrics={},
        problems=problems,
    )


GRID = [[True, False, False, False], [True, True, False, False], [False] * 4]


def test_identical_settings_pass():
    assert settings_mismatches(_result(GRID), _result(GRID)) == []


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("n", 8, "samples per problem"),
        ("max_new_tokens", 4096, "max new tokens"),
        ("temperature", 0.0, "temperature"),
        ("chat_template", "other", "chat template"),
        ("task_version", 2, "task version"),
        ("grading_unfinished", "lenient", "unfinished responses"),
    ],
)
def test_each_kind_of_mismatch_is_named(key, value, words):
    problems = settings_mismatches(_result(GRID), _result(GRID, settings={**SETTINGS, key: value}))
    assert len(problems) == 1 and words in problems[0]


def test_different_prompts_are_caught():
    problems = settings_mismatches(_result(GRID), _result(GRID, prompt="other"))
    assert problems == ["math_500: 3 of 3 rendered prompts differ"]


def test_compare_task_rows_and_levels():
    base = _result(GRID, levels=[1, 1, 2])
    tuned = _result([[True] * 4, [True] * 4, [False] * 4], levels=[1, 1, 2])
    comparison = compare_task(base, tuned)
    overall, level1, level2 = comparison.rows
    assert overall.stats.baseline_mean == pytest.approx(np.mean([0.25, 0.5, 0.0]))
    assert overall.stats.tuned_mean == pytest.approx(2 / 3)
    assert level1.subset == "level 1" and level1.stats.n_problems == 2
    assert level2.stats.delta == 0


def test_data_parallel_device_groups(monkeypatch):
    from eval.engines.data_parallel import device_groups, visible_devices
    from recipes.errors import UserError

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert device_groups(4, 2, visible_devices(8)) == ["0,1", "2,3", "4,5", "6,7"]
    assert device_groups(2, 1, visible_devices(8)) == ["0", "1"]
    with pytest.raises(UserError, match="needs 6 GPUs, this process was given 4"):
        device_groups(3, 2, visible_devices(4))


def test_data_parallel_engines_stay_on_the_gpus_the_job_was_given(monkeypatch):
    """A job given GPUs 4-7 (CUDA_VISIBLE_DEVICES, or Slurm without device cgroups) starts its engines there,
    not on GPUs 0-3; UUIDs pass through as given."""
    from eval.engines.data_parallel import cpu_groups, device_groups, visible_devices
    from recipes.errors import UserError

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5,6,7")
    assert device_groups(2, 2, visible_devices(4)) == ["4,5", "6,7"]
    assert device_groups(4, 1, visible_devices(4)) == ["4", "5", "6", "7"]
    with pytest.raises(
        UserError, match=r"needs 8 GPUs, this process was given 4 \(CUDA_VISIBLE_DEVICES=4,5,6,7\)"
    ):
        device_groups(4, 2, visible_devices(4))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aaa, GPU-bbb")
    assert device_groups(2, 1, visible_devices(2)) == ["GPU-aaa", "GPU-bbb"]
    assert cpu_groups(2, 2) == ["0-0", "1-1"]
    assert cpu_groups(2, 16) == ["0-7", "8-15"]
