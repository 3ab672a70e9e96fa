"""TRL's importance-sampling ratio under the shipped GRPO recipes' rollout settings, with real vLLM on CPU.

TRL 1.16 asks vLLM for logprobs after top-p and recomputes them over the whole vocabulary; its default
`sequence_mask` correction scales each completion's loss by exp(sum of the differences) (TRL #6789). Measured
here with vLLM 0.31's processed logprobs and a real GRPOTrainer's recompute (tests/grpo_rollout_ratio.py): under
the recipes' rollout settings the ratio is 1; at top_p 0.95 every token's difference is the log of the mass the
nucleus kept and a 256-token completion's ratio is about 1e-6 (the test that would have caught the old recipes).
"""

from __future__ import annotations

import json

import pytest

from recipes import load_recipe
from tests.conftest import REPO
from tests.e2e import check, run_command
from train.run import effective_args

pytestmark = pytest.mark.slow

ROLLOUT_KEYS = ("temperature", "top_p", "top_k", "min_p")


def shipped_rollout_settings() -> list[dict]:
    settings = []
    for path in sorted((REPO / "recipes" / "deepseek-r1-distill-qwen-1.5b").glob("grpo-*.yaml")):
        args = effective_args("grpo", load_recipe(path, check_paths=False).train.args)
        setting = {key: args[key] for key in ROLLOUT_KEYS}
        if setting not in settings:
            settings.append(setting)
    return settings


def test_trls_sampling_ratio_is_one_under_the_shipped_rollout_settings(tmp_path):
    shipped = shipped_rollout_settings()
    truncated = {**shipped[0], "top_p": 0.95}  # what the recipes used before
    out = tmp_path / "ratios.json"
    check(run_command("tests/grpo_rollout_ratio.py", str(out), json.dumps([*shipped, truncated]), "256"))
    results = json.loads(out.read_text())

    for entry in results[:-1]:
        for row in entry["completions"]:
            assert row["tokens"] == 256
            # float32 on both sides: only rounding separates vLLM's logprobs from the trainer's
            assert abs(row["sequence_log_ratio"]) < 1e-3, entry
    for row in results[-1]["completions"]:
        # each token's difference is log(kept nucleus mass); over 256 tokens the ratio collapses
        assert row["max_token_gap_to_log_mass"] < 1e-2
        assert row["mean_token_diff"] < -0.01
        assert row["sequence_ratio"] < 1e-3, results[-1]
