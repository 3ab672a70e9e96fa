"""Served models without a model server: the endpoint client against a real HTTP server that misbehaves on
purpose (errors, several models, a short context), `vllm serve` and `vllm bench serve` arguments parsed by
vLLM's own parsers, the serving cost, the chat display and prompts."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eval.endpoint import Endpoint, probe
from eval.engines.base import per_prompt, sample_seed
from eval.engines.endpoint_engine import EndpointEngine
from eval.stores.generations import SamplingSettings
from recipes.errors import UserError
from recipes.schema import EndpointSpec
from tests.e2e import closed_port

FAST = EndpointSpec(max_retries=0, timeout_s=10, concurrency=4)
SAMPLING = SamplingSettings(n=2, temperature=0.6, top_p=0.95, max_new_tokens=8, seed=1)


class FakeServer:
    """An OpenAI-compatible server on loopback that lists `models` and answers completions with two fixed
    samples, or with HTTP `fail_status` for prompts whose first token id is in `failing`."""

    def __init__(self, models: list[str], max_model_len: int = 512, failing=(), fail_status: int = 500):
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {"id": m, "object": "model", "root": f"/srv/{m}", "max_model_len": max_model_len}
                            for m in models
                        ],
                    },
                )

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                if body["prompt"][0] in failing:
                    self._send(fail_status, {"error": {"message": "engine is sad", "type": "x"}})
                    return
                choices = [
                    {"index": i, "text": f"answer {i}", "finish_reason": "stop", "token_ids": [7] * (i + 2)}
                    for i in range(body.get("n", 1))
                ]
                self._send(
                    200, {"id": "c", "object": "text_completion", "model": body["model"], "choices": choices}
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def fake():
    servers = []

    def start(*args, **kwargs):
        servers.append(FakeServer(*args, **kwargs))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_a_dead_url_is_one_line():
    with pytest.raises(UserError, match=r"cannot connect.*make serve"):
        probe(f"http://127.0.0.1:{closed_port()}/v1", None, FAST)


def test_probe_names_the_served_model(fake):
    one = fake(["tuned"])
    endpoint = probe(one.url.removesuffix("/v1"), None, FAST)  # host:port alone also works
    assert endpoint == Endpoint(url=one.url, model="tuned", root="/srv/tuned", max_model_len=512)
    two = fake(["base", "lora"])
    with pytest.raises(UserError, match=r"serves several models \(base, lora\).*served_model="):
        probe(two.url, None, FAST)
    with pytest.raises(UserError, match="does not serve 'nope'; it serves: base, lora"):
        probe(two.url, "nope", FAST)
    assert probe(two.url, "lora", FAST).model == "lora"


def test_engine_sends_the_protocol_and_reports_failed_requests(fake):
    server = fake(["m"], failing={3})
    engine = EndpointEngine(probe(server.url, None, FAST), FAST, count_tokens=len)
    finished = {}
    with pytest.raises(UserError, match=r"2 of 8 samples failed .*HTTP 500: engine is sad.*run again"):
        for index, samples in per_prompt(engine, [[1, 2], [2], [3], [4, 5]], [11, 12, 13, 14], SAMPLING):
            finished[index] = samples
    assert sorted(finished) == [0, 1, 3]  # each finished prompt was handed back before the error
    assert [s.text for s in finished[0]] == ["answer 0", "answer 0"]
    assert [s.tokens for s in finished[0]] == [2, 2]  # the server's token ids, not a re-count
    sent = [r for r in server.requests if r["prompt"] == [1, 2]]
    assert len(sent) == 2 and all(r["n"] == 1 and r["max_tokens"] == 8 for r in sent)
    assert sent[0]["temperature"] == 0.6 and sent[0]["top_p"] == 0.95


def test_seeds_go_out_unless_the_server_is_a_local_cpu_vllm(fake):
    server = fake(["m"])
    endpoint = probe(server.url, None, FAST)
    always = EndpointEngine(endpoint, FAST.model_copy(update={"per_request_seed": True}), count_tokens=len)
    list(per_prompt(always, [[1]], [42], SAMPLING))
    assert server.requests[-1]["seed"] in {sample_seed(42, 0), sample_seed(42, 1)}
    never = EndpointEngine(endpoint, FAST.model_copy(update={"per_request_seed": False}), count_tokens=len)
    list(per_prompt(never, [[1]], [42], SAMPLING))
    assert "seed" not in server.requests[-1]


def test_a_short_served_context_is_refused_before_any_request(fake):
    server = fake(["m"], max_model_len=16)
    engine = EndpointEngine(probe(server.url, None, FAST), FAST, count_tokens=len)
    with pytest.raises(UserError, match=r"context of 16 tokens.*prompt \(10\) \+ max_new_tokens \(8\).*18"):
        list(per_prompt(engine, [[1] * 10, [2]], [0, 0], SAMPLING))
    assert server.requests == []


def test_a_server_that_went_away_stops_the_run(fake):
    server = fake(["m"])
    engine = EndpointEngine(probe(server.url, None, FAST), FAST, count_tokens=len)
    server.close()
    server.httpd.server_close()
    with pytest.raises(UserError, match=r"lost the server.*run again \(without refresh=1\) to resume"):
        list(per_prompt(engine, [[1], [2]], [0, 0], SAMPLING))


def test_serve_arguments_are_what_vllm_parses(tmp_path):
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    from eval.serving.server import serve_argv
    from recipes import load_recipe
    from tests.conftest import write_recipe

    recipe = load_recipe(
        write_recipe(
            tmp_path / "r.yaml",
            **{
                "model.chat_template": "r1",
                "eval.vllm.max_num_seqs": 64,
                "eval.vllm.enable_prefix_caching": False,
            },
        )
    )
    argv = serve_argv("/models/x", "tuned", recipe, "127.0.0.1", 8123)
    assert argv[1:3] == ["-m", "eval.serving.vllm_cli"] and argv[3] == "serve"
    parser = make_arg_parser(FlexibleArgumentParser())
    args = parser.parse_args(argv[4:])
    assert args.model_tag == "/models/x" and args.served_model_name == ["tuned"]
    assert (args.host, args.port, args.max_model_len, args.max_num_seqs) == ("127.0.0.1", 8123, 512, 64)
    assert args.enable_prefix_caching is False and args.generation_config == "vllm" and args.seed == 1234
    from recipes.protocol.chat_template import R1_CHAT_TEMPLATE

    assert Path(args.chat_template).read_text() == R1_CHAT_TEMPLATE


def test_perf_arguments_are_what_vllm_bench_parses(tmp_path):
    from vllm.benchmarks.serve import add_cli_args
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    from eval.models import ModelRef
    from eval.serving.perf import Target, bench_argv
    from recipes import load_recipe
    from tests.conftest import write_recipe

    recipe = load_recipe(write_recipe(tmp_path / "r.yaml"))
    target = Target("http://127.0.0.1:8123/v1", "tuned", ModelRef("x", "/tok", "f" * 64))
    argv = bench_argv(target, recipe, tmp_path / "p.jsonl", 12, 8, tmp_path / "out" / "c8.json")
    parser = FlexibleArgumentParser()
    add_cli_args(parser)
    args = parser.parse_args(argv[5:])
    assert argv[3:5] == ["bench", "serve"]
    assert (args.base_url, args.endpoint, args.model, args.tokenizer) == (
        "http://127.0.0.1:8123",
        "/v1/completions",
        "tuned",
        "/tok",
    )
    assert (args.dataset_name, args.skip_chat_template, args.custom_output_len) == ("custom", True, -1)
    assert (args.num_prompts, args.max_concurrency, args.temperature, args.top_p) == (12, 8, 0.6, 0.95)
    assert args.percentile_metrics == "ttft,tpot,itl,e2el" and args.metric_percentiles == "10,25,50,75,90,99"
    assert args.save_result and args.result_filename == "c8.json"
    assert args.extra_body == {"add_special_tokens": False}  # the rendered prompt already holds BOS


def test_chat_display_separates_thinking_from_the_answer():
    from rich.console import Console

    from eval.chat import ThinkingDisplay

    console = Console(record=True, width=200, color_system="standard", force_terminal=True)
    display = ThinkingDisplay(console)
    for piece in ["Let me", " add.</th", "ink>", "The answer", " is 4."]:
        display.feed(piece)
    display.close()
    text = console.export_text(clear=False)
    thought, answer = text.split("--- answer ---")
    assert "Let me add.</think>" in thought and "The answer is 4." in answer
    styled = console.export_text(styles=True)
    assert "\x1b[2m" in styled.split("--- answer ---")[0]  # dim while thinking
    assert "\x1b[2m" not in styled.split("--- answer ---")[1]


def test_task_prompts_wrap_as_the_tasks_do():
    from eval.chat import chat_text
    from recipes.protocol.prompts import MATH_INSTRUCTION

    assert chat_text("What is 2+2?", None) == "What is 2+2?"
    assert chat_text("What is 2+2?", "math_500") == f"What is 2+2?\n{MATH_INSTRUCTION}"
    gpqa = chat_text("Which is a noble gas?\nA) Ne\nB) Na\nC) N\nD) Ni", "gpqa:diamond")
    assert gpqa.startswith("Answer the following multiple choice question") and "\n\nA) Ne\nB) Na" in gpqa
    with pytest.raises(UserError, match="four lines"):
        chat_text("Which is a noble gas?", "gpqa:diamond")
    with pytest.raises(UserError, match="task=nope"):
        chat_text("x", "nope")


def test_serving_cost_prices_correct_answers(isolated_cache):
    from eval.comparison.cost import serving_cost
    from eval.evaluate import ModelEvaluation
    from eval.models import ModelRef
    from eval.reporting.sections.cost import cost_rows
    from eval.stores.perf import save_perf
    from eval.stores.results import ProblemRecord, SampleRecord, TaskResult

    def evaluation(fingerprint: str, tokens: list[int], correct: list[bool]) -> ModelEvaluation:
        samples = [SampleRecord("t", n, "stop", "1", c) for n, c in zip(tokens, correct, strict=True)]
        result = TaskResult(
            "aime24", "m", fingerprint, {}, "d", "h", {}, [ProblemRecord("1", "1", "h", samples)]
        )
        return ModelEvaluation(ModelRef("m", "/m", fingerprint), {"aime24": result}, [])

    base = evaluation("a" * 64, [100, 100, 100, 100], [True, False, False, False])
    tuned = evaluation("b" * 64, [130, 130, 130, 130], [True, True, False, False])
    rows = serving_cost(base, tuned)
    assert rows[0]["baseline"]["tokens_per_correct"] == 400 and rows[0]["tuned"]["tokens_per_correct"] == 260
    assert rows[0]["ratio"]["tokens_per_answer"] == pytest.approx(1.3)
    assert rows[0]["baseline"]["seconds_per_correct"] is None  # no `make perf` yet
    level = {"output_tokens_per_s": 200.0}
    save_perf("a" * 64, {"levels": {"1": level, "8": level}})
    save_perf("b" * 64, {"levels": {"8": {"output_tokens_per_s": 100.0}}})
    rows = serving_cost(base, tuned)
    assert rows[0]["concurrency"] == 8
    assert (
        rows[0]["baseline"]["seconds_per_correct"] == 2.0 and rows[0]["tuned"]["seconds_per_correct"] == 2.6
    )
    assert cost_rows(rows)[0][5] == "×1.30"
