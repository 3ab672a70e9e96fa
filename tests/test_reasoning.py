import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from eval.reasoning.metrics import (
    analyse_sample,
    count_switches,
    split_reasoning,
    split_steps,
    step_candidates,
    summarise,
)
from recipes.schema import JudgeSpec


def words(text: str) -> int:
    """A transparent token counter for exact expectations: whitespace-separated words."""
    return len(text.split())


REACHED_TWICE = (
    "We need 6 times 7.\n\n"  # step 1: 5 words, no answer
    "6 * 7 = 42.\n\n"  # step 2: 5 words, reaches 42
    "But wait, let me verify: 7 * 6 = 42.\n\n"  # step 3: 10 words, reaches it again
    "Alternatively, 6 * 7 = 6 * 5 + 6 * 2 = 42.\n"  # step 4: 14 words
    "</think>\n\nThe answer is \\boxed{42}."
)


def test_answer_reached_several_times_counts_the_first():
    s = analyse_sample(REACHED_TWICE, "42", "math", True, words)
    assert s.reasoning_tokens == 5 + 5 + 10 + 14
    assert s.first_correct_tokens == 5 + 5
    assert s.reflection_tokens == 10 + 14
    assert s.efficiency == pytest.approx(10 / 34)
    assert s.switches == 2  # "But wait", "Alternatively"
    assert s.closed_thinking


def test_no_think_close_means_the_whole_response_is_reasoning():
    response = "Compute 2 + 2.\n\nSo 2 + 2 = 4.\n\nHmm, let me double check the sum"
    reasoning, closed = split_reasoning(response)
    assert reasoning == response and not closed
    s = analyse_sample(response, "4", "math", False, words)
    assert s.reasoning_tokens == words(response) == 4 + 6 + 7
    assert s.first_correct_tokens == 4 + 6
    assert s.reflection_tokens == 7
    assert not s.closed_thinking


def test_answer_never_reached():
    response = "Try 3.\n\n3 * 3 = 9, not it.\n\nMaybe 5 + 5 = 10.\n</think>\n\n\\boxed{10}"
    s = analyse_sample(response, "12", "math", False, words)
    assert s.first_correct_tokens is None and s.reflection_tokens is None and s.efficiency is None
    assert s.reasoning_tokens == 2 + 7 + 6


def test_answer_after_think_only_is_not_a_reasoning_step():
    response = "Some thinking without numbers.\n</think>\n\n\\boxed{7}"
    s = analyse_sample(response, "7", "math", True, words)
    assert s.first_correct_tokens is None and s.reasoning_tokens == 4


def test_equivalent_forms_are_recognised_by_the_checker():
    response = "Half of it.\n\nSo x = \\frac{1}{2}.\n</think>\n\\boxed{0.5}"
    s = analyse_sample(response, "0.5", "math", True, words)
    assert s.first_correct_tokens == 3 + 4 and s.reflection_tokens == 0


def test_gpqa_letters():
    response = "Option A is wrong.\n\nThe answer is (C).\n</think>\n\nAnswer: C"
    s = analyse_sample(response, "C", "letter", True, words, choices=("A", "B", "C", "D"))
    assert s.first_correct_tokens == 4 + 4


def test_steps_and_candidates():
    assert split_steps("a\n\nb\n\n\nc") == ["a\n\n", "b\n\n\n", "c"]
    assert step_candidates("so y = 3, and the answer is \\boxed{\\frac{3}{4}}") == [
        "\\frac{3}{4}",
        "\\boxed{\\frac{3}{4}}",
        "3",
    ]


def test_switch_markers_are_configurable_and_not_double_counted():
    text = "But wait, no. Wait, yes. Another approach: hmm. Let me reconsider."
    assert count_switches(text) == 4
    assert count_switches(text, ["hmm"]) == 1
    assert count_switches(text, []) == 0


def test_summary():
    correct = analyse_sample(REACHED_TWICE, "42", "math", True, words)
    wrong = analyse_sample("1 + 1 = 3\n</think>\\boxed{3}", "2", "math", False, words)
    summary = summarise([correct, wrong])
    assert summary.accuracy == 0.5
    assert summary.reasoning_tokens == (34 + 5) / 2
    assert summary.reasoning_tokens_correct == 34
    assert summary.first_correct_tokens == 10 and summary.reflection_tokens == 24
    assert summary.efficiency == pytest.approx(10 / 34)
    assert summary.switches == 1.0
    assert summary.reached_rate == 0.5


class _FakeJudge(BaseHTTPRequestHandler):
    reply = "3"

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        request = json.loads(self.rfile.read(length))
        assert "[1] We need 6 times 7." in request["messages"][0]["content"]
        body = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": request["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": self.reply},
                    }
                ],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_server():
    server = HTTPServer(("127.0.0.1", 0), _FakeJudge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_judge_locates_the_step_and_failures_fall_back(judge_server, tmp_path):
    from eval.reasoning.judge import Judge

    judge = Judge(JudgeSpec(base_url=judge_server, model="judge", concurrency=2, timeout_s=10))
    steps = split_steps(split_reasoning(REACHED_TWICE)[0])
    assert judge.first_step(steps, "42") == 2  # the judge said step 3 (1-based)
    s = analyse_sample(REACHED_TWICE, "42", "math", True, words, locate=lambda st: judge.first_step(st, "42"))
    assert s.first_correct_tokens == 5 + 5 + 10

    _FakeJudge.reply = "no idea"
    try:
        results = judge.locate_all([(steps, "42"), (steps, "42")])
    finally:
        _FakeJudge.reply = "3"
    assert judge.failures == 2 and all(isinstance(r, Exception) for r in results)

    unreachable = Judge(JudgeSpec(base_url="http://127.0.0.1:9/v1", model="judge", timeout_s=2))
    assert isinstance(unreachable.locate_all([(steps, "42")])[0], Exception)
