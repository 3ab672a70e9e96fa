"""`make view`: the compare folder as the viewer reads it, and its pages (FastAPI's test client, no browser).

The compare here is written by the compare's own writers (write_details, compare_task, task_budget) from
invented results; the browser test (test_e2e_eval) opens a real compare in headless Chromium.
"""

from __future__ import annotations

import json
import socket

import pytest
from fastapi.testclient import TestClient

from eval.comparison.budget import task_budget
from eval.comparison.pairing import compare_task
from eval.reporting.files import write_details
from eval.stores.results import ProblemRecord, SampleRecord, TaskResult
from eval.viewer.app import THINKING_PAGE_CHARS, create_app
from eval.viewer.data import CompareFolder
from eval.viewer.serve import check_port, compare_folder
from recipes.errors import UserError

THINK = "<think>\n"
PROMPT = "<｜User｜>What is 2+3?<｜Assistant｜><think>\n"


def _sample(answer: str, correct: bool, thinking: str = "Let me add. ", finish: str = "stop") -> SampleRecord:
    text = f"{thinking}</think>\n\nSo the answer is \\boxed{{{answer}}}." if finish == "stop" else thinking
    return SampleRecord(
        text=text, tokens=len(text) // 4, finish_reason=finish, extracted=answer, correct=correct
    )


def _result(problems: dict[str, list[SampleRecord]]) -> TaskResult:
    records = [
        ProblemRecord(
            problem_id=k, gold="5", prompt_hash="", samples=v, prompt=PROMPT, level=1 if k < "p2" else 2
        )
        for k, v in problems.items()
    ]
    settings = {"n": 2, "max_new_tokens": 4096, "grading_unfinished": "no_answer"}
    return TaskResult("math_500", "m", "f", settings, "d", "c", {}, records)


@pytest.fixture
def folder(tmp_path):
    long_thinking = "hmm " * (THINKING_PAGE_CHARS // 2)
    baseline = _result(
        {
            "p0": [_sample("5", True), _sample("6", False)],  # fixed below
            "p1": [_sample("5", True), _sample("5", True)],  # broken below
            "p2": [_sample("4", False), _sample(None, False, long_thinking, "length")],  # unchanged, cut off
        }
    )
    baseline.problems[2].samples[1].extracted = None
    tuned = _result(
        {
            "p0": [_sample("5", True), _sample("5", True)],
            "p1": [_sample("7", False), _sample("5", True)],
            "p2": [_sample("4", False), _sample("3", False)],
        }
    )
    out = tmp_path / "compare"
    for side, result in (("baseline", baseline), ("tuned", tuned)):
        write_details(result, out / "details" / side / "math_500.jsonl")
    payload = {
        "recipe": "demo",
        "settings": {"math_500": baseline.settings},
        "tasks": {"math_500": [row.to_json() for row in compare_task(baseline, tuned).rows]},
        "token_budget": [task_budget(baseline, tuned).to_json()],
    }
    (out / "compare.json").write_text(json.dumps(payload))
    return out


def test_the_problem_list_filters_and_sorts_by_change(folder):
    client = TestClient(create_app(CompareFolder(folder)))
    page = client.get("/").text
    assert 'id="compare-table"' in page and "Accuracy under a token budget" in page
    assert page.index(">p1<") < page.index(">p2<") < page.index(">p0<")  # broken first, then unchanged, fixed
    fixed = client.get("/", params={"change": "fixed"}).text
    assert ">p0<" in fixed and ">p1<" not in fixed and "1 problem(s)" in fixed
    cut = client.get("/", params={"truncated": "true"}).text
    assert ">p2<" in cut and ">p0<" not in cut
    assert ">p2<" in client.get("/", params={"no_answer": "true"}).text
    level = client.get("/", params={"level": "2"}).text
    assert ">p2<" in level and ">p0<" not in level
    assert client.get("/", params={"change": "sideways"}).status_code == 400
    assert client.get("/", params={"a": "checkpoint-9"}).status_code == 404


def test_a_problem_shows_both_sides_with_the_answer_marked_where_the_grader_read_it(folder):
    client = TestClient(create_app(CompareFolder(folder)))
    page = client.get("/problem", params={"task": "math_500", "id": "p1"}).text
    base, tuned = page.index('id="side-baseline"'), page.index('id="side-tuned"')
    assert base < tuned
    # the answer drawn as math (MathML, its LaTeX kept as a tooltip), marked where the grader read it
    assert '<mark><span class="math boxed" title="\\boxed{7}"><math' in page[tuned:]
    assert '<mark><span class="math boxed" title="\\boxed{5}"><math' in page[base:tuned]
    assert page[tuned:].count(">wrong<") == 1 and page[base:tuned].count(">correct<") == 2
    assert "thinking (" in page and "Let me add." not in page  # the thinking is collapsed, loaded on demand
    assert client.get("/problem", params={"task": "math_500", "id": "p9"}).status_code == 404


def test_long_thinking_is_loaded_a_page_at_a_time(folder):
    client = TestClient(create_app(CompareFolder(folder)))
    query = {"task": "math_500", "id": "p2", "side": "baseline", "sample": 1}
    first = client.get("/thinking", params=query).json()
    assert first["pages"] == 2 and len(first["text"]) == THINKING_PAGE_CHARS
    second = client.get("/thinking", params={**query, "page": 1}).json()
    assert first["text"] + second["text"] == "hmm " * (THINKING_PAGE_CHARS // 2)
    page = client.get("/problem", params={"task": "math_500", "id": "p2"}).text
    assert "finish: length" in page and ">none<" in page  # cut off: no answer read


def test_only_plots_of_the_folder_are_served(folder):
    (folder / "tasks.png").write_bytes(b"\x89PNG\r\n")
    client = TestClient(create_app(CompareFolder(folder)))
    assert client.get("/files/tasks.png").status_code == 200
    assert client.get("/files/compare.json").status_code == 404
    (folder / "escape.png").symlink_to("/etc/passwd")  # a name that looks like a plot but leads outside
    assert client.get("/files/escape.png").status_code == 404


def test_clear_errors_for_a_folder_without_a_compare_and_a_port_in_use(tmp_path, folder):
    with pytest.raises(UserError, match="no compare here"):
        CompareFolder(tmp_path)
    assert compare_folder(None, str(folder.parent)) == folder  # a model folder holding compare/
    with pytest.raises(UserError, match="no such folder"):
        compare_folder(None, str(tmp_path / "missing"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(UserError, match=f"port {busy.getsockname()[1]} on 127.0.0.1 is in use"):
            check_port("127.0.0.1", busy.getsockname()[1])


def test_make_view_on_a_folder_without_a_compare_is_one_line(tmp_path, capsys):
    from eval.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["view", "--dir", str(tmp_path)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "no compare here" in err and "Traceback" not in err


def test_the_thinking_ends_where_the_grader_says_it_does():
    from eval.viewer.data import thinking_end

    twice = "first </think> wait, more thinking </think>\n\\boxed{5}"
    assert twice[thinking_end(twice, True) :] == "\n\\boxed{5}"  # the last close, as answer_region
    assert thinking_end("still thinking", True) == len("still thinking")  # unfinished: all thinking
    assert thinking_end("no thinking block \\boxed{5}", False) == 0


def test_a_damaged_details_line_is_reported_and_the_rest_shown(folder, capsys):
    """A truncated write leaves half a line: it killed the viewer with a JSONDecodeError traceback."""
    details = folder / "details" / "tuned" / "math_500.jsonl"
    lines = details.read_text().splitlines(keepends=True)
    details.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2] + "\n" + "".join(lines[4:]))
    compare = CompareFolder(folder)
    assert compare.damaged == ["details/tuned/math_500.jsonl line 4"]
    page = TestClient(create_app(compare)).get("/").text
    assert 'id="damaged"' in page and "math_500.jsonl line 4" in page and ">p0<" in page


def test_math_is_rendered_as_mathml_and_what_cannot_be_read_stays_as_written():
    from eval.viewer.math import rendered

    text = "so $x^2 = \\frac{1}{2}$ and \\boxed{\\sqrt{3}}, costing \\$5"
    box = text.index("\\boxed")
    html = str(rendered(text, span=(box, text.index(", costing"))))
    assert html.count("<math") == 2 and "<msqrt>" in html and "<mfrac>" in html
    assert html.count("<mark>") == 1 and 'class="math boxed"' in html.split("<mark>")[1]
    assert "costing \\$5" in html  # an escaped dollar is money, not math
    broken = str(rendered("$\\frac{1}{$ stays"))
    assert "<math" not in broken and "\\frac{1}{" in broken


def test_the_filter_form_lands_on_the_problem_list(folder):
    page = TestClient(create_app(CompareFolder(folder))).get("/").text
    assert 'action="/#problems-heading"' in page and 'id="problems-heading"' in page


def test_both_sides_reasoning_lengths_share_their_bins():
    """A narrow distribution beside a wide one drew as a sliver with its own 30 bins."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eval.reasoning.analysis import AnalysedTask
    from eval.reporting.sections.reasoning import length_histograms

    def side(lengths):
        samples = [type("S", (), {"reasoning_tokens": n})() for n in lengths]
        return AnalysedTask("math_500", {None: samples})

    fig, ax = plt.subplots()
    edges = length_histograms(ax, side(range(0, 30_000, 100)), side([2000, 2010, 2020, 2030]))
    from matplotlib.patches import Rectangle

    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_height() > 0]
    widths = {round(p.get_width(), 6) for p in bars}
    assert len(widths) == 1 and abs(widths.pop() - (edges[1] - edges[0])) < 1e-6  # one set of bins for both
    narrow = [p for p in bars if p.get_height() == 4]
    assert narrow  # the tuned side's four samples stand in one bar of the shared bins
    plt.close(fig)
