"""`make bench` on the tiny model with random weights (every stage measured, every figure beside its bound) and on
the 1.5B architecture; the bounds' arithmetic."""

import json
import os

import pytest

from recipes.gpus import decode_bound_tokens_per_s
from tests.conftest import REPO
from tests.e2e import check, run_command


def bench(recipe: str, out, *flags: str, timeout: int = 900) -> tuple[str, dict]:
    """`make bench` on a recipe under recipes/, as a user runs it: (printed output, bench.json)."""
    command = ["-m", "eval.cli", "bench", str(REPO / "recipes" / recipe), "--output-dir", str(out), *flags]
    output = check(run_command(*command, timeout=timeout))
    return output, json.loads((out / "bench.json").read_text())


def test_decode_bound_arithmetic():
    # 1 GB of weights, 1 MB of KV per token, 1000 tokens of context, 10 sequences, 1 TB/s:
    # each step reads 1 GB + 10 x 1 GB = 11 GB and yields 10 tokens -> 10 / 0.011 s
    assert decode_bound_tokens_per_s(1e9, 1e6, 1000, 10, 1e12) == pytest.approx(10 / 0.011)


@pytest.mark.slow
def test_bench_on_the_recipes_own_weights_reads_its_model_and_data(tmp_path):
    """The default `make bench`: the recipe's model and training rows (the random-weights run below covers the
    other stages and both prefix-caching variants)."""
    output, results = bench(
        "smoke/sft.yaml",
        tmp_path,
        *("--stages", "generation,sft", "--prefix-caching", "on", "--max-problems", "4", "--sft-steps", "2"),
    )
    assert results["settings"]["random_weights"] is False and "MFU" in output
    for row in results["generation"]:
        assert row["weights"] != "random" and row["problems"] == 4 and row["tokens_per_s"] > 0
    assert all(row["mfu"] > 0 and row["tokens_per_s"] > 0 for row in results["sft"])


@pytest.mark.slow
def test_bench_with_random_weights_runs_every_stage_on_synthetic_work(tmp_path):
    output, results = bench(
        "smoke/sft.yaml",
        tmp_path,
        *("--weights", "random", "--max-new-tokens", "24", "--max-problems", "6", "--max-length", "96"),
        *("--sft-steps", "3", "--grpo-steps", "1", "--analysis-scale", "0.005"),
    )
    assert "reasonlift bench" in output and "random weights" in output and "MFU" in output
    assert results["settings"]["random_weights"] is True
    assert {row["variant"] for row in results["generation"]} == {
        "prefix caching off",
        "prefix caching on (default)",
    }
    for row in results["generation"]:
        # synthetic prompts, and every sample decoded to the limit: no chance stops
        assert row["weights"] == "random" and row["problems"] == 6 and row["samples"] == 8
        assert row["output_tokens"] == 6 * 8 * 24 and row["mean_output_tokens"] == 24
        assert row["ratio"] > 0
    assert [row["settings"]["packing"] for row in results["sft"]] == [False, True]
    assert all(
        row["max_length"] == 96 and 0 < row["mfu"] < 1 and row["peak_memory_gb"] > 0 for row in results["sft"]
    )
    grpo = results["grpo"]
    assert grpo["max_completion_length"] == 24 and grpo["step_s"] > 0
    assert grpo["generation_s"] > 0 and grpo["scoring_s"] > 0 and grpo["optimisation_s"] > 0
    assert results["scoring"]["answers_per_s"] > 0
    assert results["hardware"]["bandwidth"] > 0 and results["hardware"]["peak_flops"] > 0
    scheduling = results["scheduling"]  # random weights, so every request runs exactly to its drawn limit
    assert scheduling["samples"] == 6 * 8 and scheduling["all_at_once_s"] > 0
    assert scheduling["ideal_over_all_at_once"] > 0 and scheduling["engine_path_over_llm_generate"] > 0
    assert results["contamination"]["planted_found"] == results["contamination"]["planted"] == 5
    assert "eval scheduling" in output and "contamination" in output
    # the engine path against LLM.generate: alternating passes on one engine, each pass's ratio kept
    assert scheduling["passes"] == 3 and len(scheduling["engine_path_over_llm_generate_per_pass"]) == 3
    low, high = scheduling["engine_path_over_llm_generate_spread"]
    assert 0 < low <= scheduling["engine_path_over_llm_generate"] * 1.5 and low <= high
    # the post-generation side on a (small) synthetic compare: both sides graded and analysed, then all cached
    analysis = results["analysis"]
    assert analysis["samples"] > 0 and analysis["grading_s"] > 0 and analysis["analysis_s"] > 0
    assert analysis["second_stages_s"]["thinking analysis"] < analysis["analysis_s"]
    assert "post-generation" in output


@pytest.mark.slow
@pytest.mark.skipif(
    os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") < 12e9,
    reason="the 1.5B architecture needs ~6 GB for weights and KV cache on a CPU",
)
def test_bench_generates_with_the_real_architecture_without_its_weights(tmp_path):
    """DeepSeek-R1-Distill-Qwen-1.5B's published architecture through vLLM's dummy loader: nothing downloaded."""
    _, results = bench(
        "deepseek-r1-distill-qwen-1.5b/sft-openr1-math.yaml",
        tmp_path,
        *(
            "--weights",
            "random",
            "--stages",
            "generation",
            "--prefix-caching",
            "on",
        ),  # one 1.5B engine, not two
        *("--max-new-tokens", "4", "--max-problems", "1", "--prompt-tokens", "16"),
        timeout=1800,
    )
    assert set(results) >= {"generation"} and "sft" not in results and "scoring" not in results
    rows = {(row["task"], row["variant"]) for row in results["generation"]}
    assert {task for task, _ in rows} == {"aime24", "math_500", "gpqa:diamond"}
    assert {variant for _, variant in rows} == {"prefix caching on (default)"}
    for row in results["generation"]:
        assert row["output_tokens"] == row["samples"] * 4
        # 1.5B parameters in bf16 read once per step: the bound must reflect a 3.55 GB model
        assert row["bound_tokens_per_s"] < row["concurrency"] * results["hardware"]["bandwidth"] / 3.5e9


def test_decode_compute_bound_arithmetic():
    from eval.bench.hardware import decode_compute_bound_tokens_per_s

    # 1e9 parameters, 10 layers of width 1000 at 500 tokens of context, 1 TFLOP/s:
    # 2e9 + 4 x 10 x 1000 x 500 = 2.02e9 FLOPs per token
    assert decode_compute_bound_tokens_per_s(1e9, 10, 1000, 500, 1e12) == pytest.approx(1e12 / 2.02e9)
    # and with one prompt token prefilled per two generated: + 2e9 x 0.5 FLOPs per generated token
    assert decode_compute_bound_tokens_per_s(1e9, 10, 1000, 500, 1e12, 0.5) == pytest.approx(1e12 / 3.02e9)


def test_random_weights_are_sized_to_the_recipes_context_before_any_engine_starts():
    """`make bench weights=random stages=scheduling` on the demo recipe crashed after two minutes: its
    max_model_len 512 cannot hold a 256-token prompt and 1,024 new tokens."""
    from eval.bench.run import BenchSettings, fit_context
    from recipes import load_recipe
    from recipes.errors import UserError

    recipe = load_recipe(REPO / "recipes" / "smoke" / "sft.yaml")
    sized = fit_context(recipe, BenchSettings(stages=("scheduling",), random_weights=True).resolved())
    assert sized.prompt_tokens + sized.max_new_tokens == recipe.eval.vllm.max_model_len == 512
    asked = BenchSettings(stages=("generation",), random_weights=True, max_new_tokens=600).resolved()
    with pytest.raises(UserError, match=r"do not fit eval\.vllm\.max_model_len 512"):
        fit_context(recipe, asked)
