"""The run's health where users read it: the line under the compare table (HealthSection, from a run folder's
trainer_state.json or train_summary.json) and `make view`'s training page, from a copied compare folder."""

from __future__ import annotations

import json
import shutil

from fastapi.testclient import TestClient

from eval.reporting.files import write_reports
from eval.reporting.sections.base import emit
from eval.reporting.sections.health import HealthSection
from eval.viewer.app import create_app
from eval.viewer.data import CompareFolder
from tests.test_health_rules import grpo_history


def _run(tmp_path, **series):
    run = tmp_path / "run"
    run.mkdir()
    (run / "trainer_state.json").write_text(json.dumps({"log_history": grpo_history(**series)}))
    return run


def test_the_compare_line_and_the_training_page_from_a_copied_folder(tmp_path, capsys):
    run = _run(tmp_path, **{"completions/clipped_ratio": lambda i: 0.8 if i >= 4 else 0.1})
    section = HealthSection({"tuned": str(run)}, "grpo")
    compare = tmp_path / "compare"
    (compare / "details" / "tuned").mkdir(parents=True)
    emitted = emit([section], compare, {"recipe": "provoked", "tasks": {}})
    write_reports(compare, emitted.markdown, emitted.payload)
    printed = capsys.readouterr().out
    assert "training health: 1 rule(s) fired: truncation from step 10" in printed
    assert "raise max_completion_length" in printed
    assert emitted.payload["training_health"]["tuned"]["rules"]["truncation"]["step"] == 10

    shutil.rmtree(run)  # the run is gone (a copied compare folder): the page reads the compare's own copy
    moved = shutil.copytree(compare, tmp_path / "elsewhere")
    client = TestClient(create_app(CompareFolder(moved)))
    index = client.get("/").text
    assert 'href="/training"' in index and "tuned: 1 health rule(s) fired" in index
    page = client.get("/training").text
    assert "truncation from step 10" in page and page.count("<svg") >= 8
    assert 'data-key="completions/clipped_ratio"' in page and "(truncation at step 10)" in page


def test_a_healthy_run_says_so_and_an_untrained_side_says_nothing(tmp_path, capsys):
    run = _run(tmp_path)
    (run / "train_summary.json").write_text(json.dumps({"method": "grpo"}))
    section = HealthSection({"tuned": str(run), "other": str(tmp_path / "hub-model")}, "grpo")
    assert list(section.health) == ["tuned"]
    emit([section], tmp_path, {})
    assert "training health: no rule fired (11 checked)" in capsys.readouterr().out
    assert HealthSection({"tuned": "deepseek-ai/x"}).to_json() is None
