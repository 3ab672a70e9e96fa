"""The compare report as a list of sections, built from saved results (no engine): each output written once, and
compare.json with the keys users read."""

from __future__ import annotations

import json

from eval.comparison.budget import task_budget
from eval.comparison.cost import serving_cost
from eval.comparison.pairing import compare_task
from eval.evaluate import ModelEvaluation
from eval.models import ModelRef
from eval.reporting.files import write_reports
from eval.reporting.sections.base import Section, emit
from eval.reporting.sections.budget import BudgetSection
from eval.reporting.sections.contamination import ContaminationSection
from eval.reporting.sections.cost import CostSection
from eval.reporting.sections.details import DetailsSection
from eval.reporting.sections.method import MethodSection
from eval.reporting.sections.published import PublishedSection
from eval.reporting.sections.selection import SelectionSection
from eval.reporting.sections.table import CurveSection, TableSection
from tests.test_budget import result, sample

# compare.json's keys (README, "Reading the compare table"): the compare's own, then one per section
DOCUMENTED = {
    "tasks",
    "published_baseline",
    "contamination",
    "checkpoint_curve",
    "serving_cost",
    "token_budget",
    "method",
    "selection",
}


def test_sections_write_each_output_once_with_the_documented_keys(tmp_path, capsys):
    baseline = result({f"p{i}": [sample(3000, i % 2 == 0), sample(8192, False, "length")] for i in range(6)})
    tuned = result({f"p{i}": [sample(900, True), sample(1200, i % 3 == 0)] for i in range(6)})
    sides = [
        ModelEvaluation(ModelRef(n, n, n), {"aime24": r}, []) for n, r in (("b", baseline), ("t", tuned))
    ]
    curve = [{"step": 0, "label": "baseline", "tasks": {"aime24": {"pass@1": 0.25, "se": 0.05}}}]
    sections: list[Section] = [
        TableSection([compare_task(baseline, tuned)], "demo: b → t", False),
        PublishedSection([]),
        ContaminationSection(None),
        DetailsSection({"baseline": sides[0], "tuned": sides[1]}),
        CurveSection(curve),
        CostSection(serving_cost(*sides)),
        BudgetSection([task_budget(baseline, tuned)]),
        MethodSection(None),
        SelectionSection(),
    ]
    emitted = emit(sections, tmp_path, {"recipe": "demo"})
    paths = write_reports(tmp_path, emitted.markdown, emitted.payload)
    payload = json.loads(paths["json"].read_text())
    assert set(payload) == {"recipe", *DOCUMENTED}
    assert payload["tasks"]["aime24"][0]["n_problems"] == 6 and payload["contamination"] is None
    markdown = paths["markdown"].read_text()
    assert markdown.count("## demo: b → t") == 1 and markdown.count("## Accuracy under a token budget") == 1
    assert {"tasks", "checkpoints", "token_budget"} <= set(emitted.plots)
    assert (tmp_path / "table.csv").exists() and (tmp_path / "details" / "tuned" / "aime24.jsonl").exists()
    printed = capsys.readouterr().out
    assert printed.count("pass@1 over training") == 1 and "aime24" in printed


def test_the_method_and_selection_sections_from_saved_results(tmp_path, capsys):
    from eval.comparison.seeds import method_task
    from eval.comparison.selection import Candidate, Selection, selection_adjustments
    from eval.reporting.sections.method import ONE_RUN, MethodSection
    from eval.reporting.sections.selection import SelectionSection

    baseline = result({f"p{i}": [sample(100, i % 4 == 0), sample(100, False)] for i in range(8)})
    runs = {
        f"seed-{s}": result(
            {f"p{i}": [sample(90, (i + s) % 3 != 0), sample(90, i % 2 == 0)] for i in range(8)}
        )
        for s in (1, 2, 3)
    }
    task = method_task(baseline, runs)
    assert [r.label for r in task.runs] == ["seed-1", "seed-2", "seed-3"]
    assert task.method.delta == sum(r.delta for r in task.runs) / 3
    candidates = [Candidate("checkpoint-10", "/c10", 10, 0.4), Candidate("final", "/f", 20, 0.6)]
    selections = {"seed-1": Selection(["toy_addition_dev"], candidates[1], candidates)}
    adjusted = selection_adjustments(
        {"aime24": baseline}, {k: {"aime24": r} for k, r in runs.items()}, "seed-2"
    )
    sections: list[Section] = [MethodSection([task]), SelectionSection(selections, adjusted)]
    payload = emit(sections, tmp_path, {}).payload
    assert payload["method"]["runs"] == 3 and payload["method"]["tasks"]["aime24"]["method"]["n_runs"] == 3
    assert payload["selection"]["chosen_on_selection_set"]["seed-1"]["chosen"]["label"] == "final"
    assert payload["selection"]["chosen_on_test_task"][0]["adjusted_p"] >= adjusted[0].naive_p
    printed = capsys.readouterr().out
    assert "method (3 runs)" in printed and "final chosen on toy_addition_dev" in printed
    assert "max-statistic permutation over the 3" in printed
    # one run: a line says what its interval covers
    assert emit([MethodSection(None)], tmp_path, {}).payload["method"] == {"runs": 1, "note": ONE_RUN}
    assert "one training run at one checkpoint" in capsys.readouterr().out
