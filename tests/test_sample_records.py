"""One sample record: the details files, the viewer and W&B's sample table all read `SampleRow`; a details file
written by the release before it (tests/fixtures/details_release_1.jsonl, made by that release's writer) loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eval.reporting.files import write_details
from eval.reporting.sections.samples import SAMPLE_COLUMNS, sample_rows
from eval.stores.records import SampleRow, rows_of
from eval.stores.results import ProblemRecord, SampleRecord, TaskResult
from eval.viewer.data import CompareFolder

RELEASED = Path(__file__).parent / "fixtures" / "details_release_1.jsonl"


def _result(text: str = "<think>x</think> \\boxed{204}") -> TaskResult:
    problems = [
        ProblemRecord(
            "60", "204", "h", [SampleRecord(text, 12, "stop", "204", True, 5)], level=2, prompt="Q?"
        ),
        ProblemRecord("61", "25", "h", [SampleRecord("Réponse : 7", 9, "length", None, False)], prompt="Q2?"),
    ]
    return TaskResult("aime24", "m", "f", {}, "d", "c", {}, problems=problems)


def test_a_details_file_from_the_previous_release_loads_in_the_viewer(tmp_path):
    rows = [SampleRow.read(line) for line in RELEASED.read_text().splitlines()]
    assert [r.level for r in rows] == [None, None, "3"] and rows[0].reasoning_tokens is None
    assert rows[1].response == "<think>Réponse: 7" and rows[1].extracted is None
    (tmp_path / "details" / "baseline").mkdir(parents=True)
    (tmp_path / "compare.json").write_text("{}")
    shutil.copy(RELEASED, tmp_path / "details" / "baseline" / "aime24.jsonl")
    folder = CompareFolder(tmp_path)
    assert folder.damaged == [] and len(folder.problems) == 2
    problem = folder.problems[("aime24", "61")]
    assert problem.level == "3" and folder.prompt(problem) == "Another"
    assert folder.response("baseline", problem, 0) == "\\boxed{25}"


def test_written_rows_read_back_field_for_field_and_keep_unicode_unescaped(tmp_path):
    path = tmp_path / "aime24.jsonl"
    write_details(_result(), path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert "Réponse" in lines[1]  # a person opens this file
    assert [SampleRow.read(line) for line in lines] == list(rows_of(_result()))
    assert list(json.loads(lines[0])) == list(SampleRow.model_fields)  # the columns, in order
    assert SampleRow.read(lines[0]).reasoning_tokens == 5


def test_a_damaged_line_is_counted_not_fatal(tmp_path):
    (tmp_path / "details" / "tuned").mkdir(parents=True)
    (tmp_path / "compare.json").write_text("{}")
    good = RELEASED.read_text().splitlines()
    broken = json.dumps({**json.loads(good[0]), "tokens": "many"})
    text = "\n".join([good[0], broken, good[2][: len(good[2]) // 2]]) + "\n"
    (tmp_path / "details" / "tuned" / "aime24.jsonl").write_text(text)
    folder = CompareFolder(tmp_path)
    assert folder.damaged == ["details/tuned/aime24.jsonl line 2", "details/tuned/aime24.jsonl line 3"]
    with pytest.raises(ValueError):
        SampleRow.read(broken)


def test_the_wandb_sample_table_is_cut_from_the_same_rows():
    baseline, tuned = _result(), _result("a long answer " * 200 + "\\boxed{204}")
    rows = sample_rows(baseline, tuned, limit=10)
    assert len(rows) == 4 and all(len(r) == len(SAMPLE_COLUMNS) for r in rows)
    assert rows[0][:4] == ["aime24", "60", "baseline", 0] and rows[1][2] == "tuned"
    assert rows[1][4].startswith("…") and rows[1][4].endswith("\\boxed{204}")
