import json
import subprocess
import sys

import pytest

from eval.harness.tasks import make_doc, tasks_module
from eval.settings import resolve_tasks
from recipes.protocol.answer_kinds import ANSWER_KINDS, gpqa_option_order
from recipes.protocol.prompts import MATH_INSTRUCTION
from recipes.protocol.task_catalog import TASKS
from recipes.schema import EvalSpec
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "eval_data"


def _rows(folder: str, split: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / folder / f"{split}.jsonl").read_text().splitlines()]


def test_math_prompt_follows_deepseek_protocol():
    row = _rows("math_500", "test")[1]
    doc = make_doc("math", {**row, "__index": 1}, "reasonlift:math_500")
    assert doc.query == row["problem"] + "\n" + MATH_INSTRUCTION
    assert MATH_INSTRUCTION == "Please reason step by step, and put your final answer within \\boxed{}."
    assert doc.get_golds() == ["(2,5]"]
    assert doc.specific["problem_id"] == row["unique_id"] and doc.specific["level"] == 3
    assert doc.instruction is None  # no system prompt


def test_gpqa_prompt_has_four_lettered_options_in_a_fixed_shuffled_order():
    row = {**_rows("gpqa_diamond", "train")[0], "__index": 0}
    doc = make_doc("letter", row)
    assert doc.query.startswith("Answer the following multiple choice question.")
    assert doc.query.rstrip().split("\n")[-4:][0].startswith("A) ")
    gold_letter = doc.get_golds()[0]
    assert f"{gold_letter}) {row['Correct Answer']}" in doc.query
    assert make_doc("letter", row).query == doc.query  # identical on every run
    orders = {tuple(gpqa_option_order(r["Question"])) for r in _rows("gpqa_diamond", "train")}
    assert len(orders) > 1  # not the same permutation for every question


def test_aime_fixture_in_hub_schema():
    row = _rows("aime24", "train")[0]
    assert set(row) == {"id", "problem", "solution", "answer", "url", "year"}
    doc = make_doc("math", {**row, "__index": 0}, "reasonlift:aime24")
    assert doc.specific["problem_id"] == "1" and doc.get_golds() == ["20"]


def test_aime25_is_one_declaration_read_like_aime24():
    """yentinglin/aime_2025 (what lighteval's and open-r1's aime25 read): id, problem, answer, url, year."""
    row = _rows("aime25", "train")[0]
    assert set(row) == {"id", "problem", "answer", "url", "year"}
    doc = make_doc("math", {**row, "__index": 0}, "reasonlift:aime25")
    assert doc.specific["problem_id"] == "0" and doc.get_golds() == ["7"]
    runs = {r.name: r for r in resolve_tasks(EvalSpec(tasks=["aime25"], data_dir=str(FIXTURES)))}
    assert runs["aime25"].sampling.n == 16 and runs["aime25"].data_location == str(FIXTURES / "aime25")
    hub = resolve_tasks(EvalSpec(tasks=["aime25"]))[0]
    assert hub.data_location == "yentinglin/aime_2025" and hub.info.split == "train"


def test_task_names_do_not_collide_with_lighteval_builtins():
    names = {t.lighteval_name for t in TASKS.values()}
    assert all(n.startswith("reasonlift:") for n in names)
    assert {t.name for t in TASKS.values()} >= {"aime24", "math_500", "gpqa:diamond"}


def test_task_defaults_and_local_data_dir():
    spec = EvalSpec(tasks=["aime24", "math_500", "gpqa:diamond"], data_dir=str(FIXTURES))
    runs = {r.name: r for r in resolve_tasks(spec)}
    assert {n: r.sampling.n for n, r in runs.items()} == {"aime24": 16, "math_500": 4, "gpqa:diamond": 8}
    assert runs["aime24"].sampling.temperature == 0.6 and runs["aime24"].sampling.top_p == 0.95
    assert runs["aime24"].sampling.max_new_tokens == 32768
    assert runs["gpqa:diamond"].data_location == str(FIXTURES / "gpqa_diamond")
    hub = {r.name: r for r in resolve_tasks(EvalSpec(tasks=["gpqa:diamond"]))}
    assert (
        hub["gpqa:diamond"].data_location == "Idavidrein/gpqa"
        and hub["gpqa:diamond"].hf_subset == "gpqa_diamond"
    )
    module = tasks_module(list(runs.values()))
    assert [c.name for c in module.TASKS_TABLE] == [
        "reasonlift:aime24",
        "reasonlift:math_500",
        "reasonlift:gpqa_diamond",
    ]


def test_compat_layer_loads_only_project_tasks():
    # in a fresh interpreter: no lighteval built-in task module may be imported (one downloads at import)
    code = f"""
import sys
from eval.harness.compat import only_project_tasks
from eval.settings import resolve_tasks
from eval.harness.tasks import tasks_module
from recipes.schema import EvalSpec
from lighteval.tasks.registry import Registry
runs = resolve_tasks(EvalSpec(tasks=["math_500", "aime24"], data_dir={str(FIXTURES)!r}))
with only_project_tasks(tasks_module(runs)):
    registry = Registry(tasks="reasonlift:math_500|0,reasonlift:aime24|0")
    tasks = registry.load_tasks()
builtins = [m for m in sys.modules if m.startswith("lighteval.tasks.tasks.")]
assert not builtins, builtins
assert sorted(tasks) == ["reasonlift:aime24|0", "reasonlift:math_500|0"], sorted(tasks)
docs = tasks["reasonlift:math_500|0"].get_docs()
assert len(docs) == 5 and docs[0].num_samples == 4, (len(docs), docs[0].num_samples)
assert "load_all_task_configs" in Registry.__dict__
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


def test_an_uncached_hub_model_offline_names_the_download_command(monkeypatch):
    from eval.models import resolve_model
    from recipes.errors import UserError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError) as err:
        resolve_model("reasonlift-test/not-a-model")
    assert "hf download reasonlift-test/not-a-model" in str(err.value)
    assert "{repo_id}" not in str(err.value)


def test_each_task_reports_only_its_own_metrics(isolated_cache):
    """Tasks sampled a different number of times: lighteval's average over the `reasonlift:` tasks would
    leave a 0.0 pass@4 on a task sampled once; each result holds its own pass@k and maj@n only."""
    from eval.evaluate import evaluate_model

    spec = EvalSpec(
        tasks={"aime24": {"n": 1}, "math_500": {"n": 4}},
        data_dir=str(FIXTURES),
        backend="transformers",
        generation={"max_new_tokens": 4},
        max_problems=2,
    )
    evaluation = evaluate_model("builtin:tiny-qwen2", spec)
    assert set(evaluation.results["aime24"].metrics) == {"pass@1", "maj@1"}
    assert set(evaluation.results["math_500"].metrics) == {"pass@1", "pass@2", "pass@4", "maj@4"}


def test_every_task_names_a_declared_answer_kind():
    assert {info.answer_kind for info in TASKS.values()} <= set(ANSWER_KINDS)
    assert TASKS["gpqa:diamond"].kind.choices == ("A", "B", "C", "D") and TASKS["aime25"].kind.choices == ()


def test_importing_lighteval_leaves_autograd_as_it_was():
    """lighteval 0.13's transformers backend turns autograd off for the process at import (its pipeline imports
    it): training after an evaluation in one process then failed with 'does not require grad'."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import torch\n"
        "from eval.harness.pipeline import run_tasks\n"
        "try:\n"
        "    run_tasks([], {}, None, None, 'm', None)\n"  # imports lighteval's pipeline, then has nothing to run
        "except Exception:\n"
        "    pass\n"
        "import lighteval.pipeline\n"
        "print(torch.is_grad_enabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "True", out.stderr[-2000:]
