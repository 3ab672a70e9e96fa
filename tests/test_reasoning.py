import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from eval.reasoning.metrics import (
    analyse_sample,
    count_self_checks,
    count_switches,
    split_reasoning,
    split_steps,
    summarise,
)
from recipes.protocol.answer_kinds import step_candidates
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


def test_switch_markers_are_evalscopes_and_wait_is_its_own_column():
    text = "But wait, no. Wait, yes. Another approach: hmm. Let me reconsider. Alternatively, another angle."
    # EvalScope's markers: but wait, another approach, let me reconsider, alternatively, another angle
    assert count_switches(text) == 5
    assert count_self_checks(text) == 2  # "wait" as a word, both of them
    assert count_self_checks("awaiting the result") == 0
    assert count_switches(text, ["hmm"]) == 1
    assert count_switches(text, []) == 0


def test_token_counts_never_exceed_what_was_generated():
    """Re-tokenised text can be longer than the ids that produced it (the demo's untrained baseline wrote
    63.5 'reasoning tokens' of a 45-token generation); counts come from the ids, or are capped by them."""
    response = "step one\n\nwe get x = 42\n\nchecking again"  # never closed: all reasoning
    words_x3 = lambda text: 3 * len(text.split())  # noqa: E731 - a tokenizer that inflates
    capped = analyse_sample(response, "42", "math", False, words_x3, generated_tokens=10)
    assert capped.reasoning_tokens == 10 and capped.first_correct_tokens <= 10
    exact = analyse_sample(
        response + "</think>\boxed{42}",
        "42",
        "math",
        True,
        words_x3,
        generated_tokens=20,
        reasoning_tokens=12,
    )
    assert exact.reasoning_tokens == 12
    # the first correct point is where the re-tokenised text puts it, scaled to the 12 real tokens
    assert (
        exact.first_correct_tokens == round(12 * 7 / 9)
        and exact.reflection_tokens == 12 - exact.first_correct_tokens
    )


def test_evalscope_aggregation_and_the_paired_figures():
    from eval.reasoning.analysis import AnalysedTask, comparison_rows

    found = analyse_sample("1 + 1 = 2\n\nok</think>\\boxed{2}", "2", "math", True, words, problem_id="p1")
    missed = analyse_sample("1 + 1 = 3\n\nhmm</think>\\boxed{3}", "2", "math", False, words, problem_id="p2")
    summary = summarise([found, missed])
    # reasonlift's: over correct samples where the point was found; EvalScope's: over all, 0 where not found
    assert summary.efficiency == pytest.approx(found.efficiency)
    assert summary.efficiency_all == pytest.approx(found.efficiency / 2)
    assert summary.first_correct_tokens_all == pytest.approx(found.first_correct_tokens / 2)
    assert summary.reflection_tokens_all == pytest.approx(
        (found.reflection_tokens + missed.reasoning_tokens) / 2
    )
    base = AnalysedTask("aime24", {None: [found, missed]})
    tuned_found = analyse_sample(
        "1 + 1 = 2\n\nchecking it twice more</think>\\boxed{2}", "2", "math", True, words, problem_id="p1"
    )
    tuned_p2 = analyse_sample("1 + 1 = 2</think>\\boxed{2}", "2", "math", True, words, problem_id="p2")
    [row] = comparison_rows(base, AnalysedTask("aime24", {None: [tuned_found, tuned_p2]}))
    # only p1 was solved by both: the paired figures leave the tuned side's p2 out
    assert row["paired"]["problems"] == 1
    assert row["paired"]["tuned"]["efficiency"] == pytest.approx(tuned_found.efficiency)
    assert row["tuned"]["efficiency"] != row["paired"]["tuned"]["efficiency"]


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
