"""`make bench` on the tiny model: every stage measured, every figure beside its bound."""

import json

import pytest

from eval.hardware import decode_bound_tokens_per_s, model_sizes
from tests.conftest import REPO
from tests.e2e import check, run_command


def test_decode_bound_arithmetic():
    # 1 GB of weights, 1 MB of KV per token, 1000 tokens of context, 10 sequences, 1 TB/s:
    # each step reads 1 GB + 10 x 1 GB = 11 GB and yields 10 tokens -> 10 / 0.011 s
    assert decode_bound_tokens_per_s(1e9, 1e6, 1000, 10, 1e12) == pytest.approx(10 / 0.011)


def test_model_sizes_of_the_real_architecture():
    from transformers import Qwen2Config

    # DeepSeek-R1-Distill-Qwen-1.5B's published config (Qwen2.5-Math-1.5B shape)
    config = Qwen2Config(
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=False,
    )
    params, weight_bytes, kv = model_sizes(config, 2)
    assert 1.77e9 < params < 1.79e9  # published as 1.78B
    assert weight_bytes == 2 * params
    assert kv == 2 * 28 * 2 * 128 * 2  # K and V, 28 layers, 2 KV heads of 128, bf16


@pytest.mark.slow
def test_bench_runs_and_reports_bounds(tmp_path):
    output = check(
        run_command(
            "-m",
            "eval.cli",
            "bench",
            str(REPO / "recipes" / "smoke" / "sft.yaml"),
            "--output-dir",
            str(tmp_path),
            "--sft-steps",
            "6",
            "--grpo-steps",
            "2",
        )
    )
    assert "reasonlift bench" in output and "MFU" in output
    results = json.loads((tmp_path / "bench.json").read_text())
    variants = {row["variant"] for row in results["generation"]}
    assert variants == {"prefix caching off", "prefix caching on (default)"}
    for row in results["generation"]:
        assert row["tokens_per_s"] > 0 and row["bound_tokens_per_s"] > 0 and row["ratio"] > 0
    assert [row["settings"]["packing"] for row in results["sft"]] == [False, True]
    assert all(0 < row["mfu"] < 1 and row["peak_memory_gb"] > 0 for row in results["sft"])
    grpo = results["grpo"]
    assert grpo["generation_s"] > 0 and grpo["scoring_s"] > 0 and grpo["optimisation_s"] > 0
    assert results["scoring"]["answers_per_s"] > 0
    assert results["hardware"]["bandwidth"] > 0 and results["hardware"]["peak_flops"] > 0
