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
from eval.reporting.sections.published import PublishedSection
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
