"""What a W&B dashboard of a compare shows, read back from a real offline run: native charts for the token
budget, checkpoint pass@1 on the training step axis, a bounded per-sample table."""

from __future__ import annotations

import json

import pytest

from eval.comparison.budget import task_budget
from eval.comparison.pairing import compare_task
from eval.evaluate import ModelEvaluation
from eval.models import ModelRef
from eval.reporting.sections.budget import BudgetSection
from eval.reporting.sections.samples import MAX_SAMPLE_ROWS, RESPONSE_CHARS, SAMPLE_COLUMNS, SamplesSection
from eval.reporting.sections.table import CurveSection, TableSection
from eval.reporting.wandb_run import log_compare_run
from recipes.loader import load_recipe
from tests.conftest import write_recipe
from tests.test_budget import result, sample
from tests.wandb_offline import charts, history, read_finished, step_metrics, summary


@pytest.fixture
def logged(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml"))
    long = "x" * (RESPONSE_CHARS + 500) + " so the answer is \\boxed{1}"
    baseline = result({f"p{i}": [sample(3000, i % 2 == 0), sample(8192, False, "length")] for i in range(30)})
    tuned = result({f"p{i}": [sample(900, True), sample(1200, i % 3 == 0)] for i in range(30)})
    tuned.problems[0].samples[0].text = long
    sides = [
        ModelEvaluation(ModelRef(n, n, n), {"aime24": r}, []) for n, r in (("b", baseline), ("t", tuned))
    ]
    curve = [
        {"step": step, "label": label, "tasks": {"aime24": {"pass@1": value, "se": 0.05}}}
        for step, label, value in ((0, "baseline", 0.25), (40, "checkpoint-40", 0.4), (80, "final", 0.55))
    ]
    sections = [
        TableSection([compare_task(baseline, tuned)], "t", False),
        CurveSection(curve),
        BudgetSection([task_budget(baseline, tuned)]),
        SamplesSection(*sides),
    ]
    run_dir = log_compare_run(recipe, tmp_path / "compare", sections, {}, config={})
    return read_finished(run_dir), run_dir


def test_the_token_budget_is_a_native_line_chart_per_task(logged):
    records, _ = logged
    spec = charts(records)["token_budget/aime24"]
    assert spec["panel_config"]["panelDefId"] == "wandb/lineseries/v0"
    assert spec["panel_config"]["stringSettings"]["xname"] == "token budget"
    values = summary(records)
    assert values["token_budget/aime24_table/nrows"] == 2 * 6  # both sides at each of the 6 budgets
    assert values["token_budget/aime24/8192/tuned"] == pytest.approx((30 + 10) / 60)
    assert values["completed_only/aime24/baseline"] == pytest.approx(0.5)


def test_checkpoint_evaluations_are_plotted_against_the_training_step(logged):
    records, _ = logged
    assert step_metrics(records)["eval/*"] == "train/global_step"
    points = [
        (h["train/global_step"], h["eval/aime24/pass@1"])
        for h in history(records)
        if "eval/aime24/pass@1" in h
    ]
    assert points == [(0, 0.25), (40, 0.4), (80, 0.55)]


def test_the_per_sample_table_is_bounded_and_shows_the_end_of_each_response(logged):
    records, run_dir = logged
    values = summary(records)
    assert values["samples/nrows"] == 30 * 2 * 2 <= MAX_SAMPLE_ROWS
    table = json.loads((run_dir / "files" / values["samples/path"]).read_text())
    assert table["columns"] == SAMPLE_COLUMNS
    cut = next(row for row in table["data"] if row[2] == "tuned" and row[1] == "p0" and row[3] == 0)
    assert cut[4].startswith("…") and cut[4].endswith("\\boxed{1}") and len(cut[4]) == RESPONSE_CHARS + 1
