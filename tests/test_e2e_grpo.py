"""End to end: `make train` with GRPO from a fresh state (its SFT base is trained first), then compare."""

import json

import numpy as np
import pytest

from tests.conftest import write_recipe
from tests.e2e import check, run_command
from tests.wandb_offline import history, read_finished

pytestmark = pytest.mark.slow


def test_smoke_grpo_trains_its_base_first_and_the_accuracy_reward_rises(tmp_path):
    # a short base (the demo trains it 15 epochs; 9 x 19 steps is about where the old 8 x 21 was): GRPO only needs a policy that sometimes answers right
    write_recipe(
        tmp_path / "sft.yaml",
        **{"train.output_dir": str(tmp_path / "sft-out"), "train.args.num_train_epochs": 9},
    )
    recipe = write_recipe(
        tmp_path / "grpo.yaml", base="grpo.yaml", **{"train.output_dir": str(tmp_path / "grpo-out")}
    )

    output = check(run_command("-m", "train.cli", str(recipe), timeout=1200))
    assert "has not been trained yet: training it first" in output
    assert (tmp_path / "sft-out" / "model.safetensors").exists()
    out = tmp_path / "grpo-out"
    assert (out / "model.safetensors").exists() and (out / "checkpoint-40").exists()
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["method"] == "grpo" and summary["global_step"] == 80
    assert summary["rewards"] == {"accuracy": 1.0, "format": 0.25}

    run_dir = sorted((out / "wandb").glob("offline-run-*"))[-1]
    rows = history(read_finished(run_dir))
    accuracy = [r["train/rewards/accuracy/mean"] for r in rows if "train/rewards/accuracy/mean" in r]
    assert len(accuracy) == 40 and any("train/rewards/format/mean" in r for r in rows)
    # the policy improves on its own reward: the second half of the run beats the first (20 logs of 64
    # completions each; on this base the rise is about 4 points, the halves' difference has a SE of about 1.5)
    assert np.mean(accuracy[20:]) > np.mean(accuracy[:20]) + 0.01, accuracy
    assert any("train/completions" in key for r in rows for key in r), "sample completions were not logged"

    compared = check(run_command("-m", "eval.cli", "compare", str(recipe), "--no-wandb"))
    payload = json.loads((out / "compare" / "compare.json").read_text())
    assert payload["baseline"]["path"] == str(tmp_path / "sft-out")
    assert payload["tasks"]["toy_addition"][0]["n_problems"] == 30
    assert "toy_addition" in compared
    # a healthy run: the monitor watched every log and fired nothing (no false alarm), and the compare says so
    health = summary["health"]["rules"]
    assert len(health) == 11 and not [name for name, v in health.items() if v["fired"]], health
    assert "training health: no rule fired (11 checked)" in compared and "training health:" not in output
