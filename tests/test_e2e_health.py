"""The health monitor on real runs of the tiny model on the CPU, provoked: a GRPO run with no learning signal whose
completions are all cut (an untrained model, a tiny max_completion_length), the same run stopped by `stop_on`, an
SFT run at a learning rate that blows up its loss (30: from 6 to 34,000 in one step); the healthy smoke runs fire nothing (tests/test_e2e_grpo.py,
test_e2e_train.py)."""

import json

import pytest

from tests.conftest import DELETE, write_recipe
from tests.e2e import check, run_command

pytestmark = pytest.mark.slow

PROVOKED_GRPO = {
    "model.from_recipe": DELETE,
    "model.name_or_path": "builtin:tiny-qwen2",  # untrained: never right, never closes its answer
    "train.args.max_steps": 6,
    "train.args.max_completion_length": 6,  # every completion is cut
    "train.args.per_device_train_batch_size": 16,
    "train.args.logging_steps": 1,
    "train.args.save_strategy": "no",
    "train.args.log_completions": False,
    "wandb.enabled": False,
}


def _summary(out):
    return json.loads((out / "train_summary.json").read_text())


def test_no_signal_and_truncation_fire_with_one_line_each_and_stop_on_stops_with_a_checkpoint(tmp_path):
    recipe = write_recipe(tmp_path / "grpo.yaml", base="grpo.yaml", **PROVOKED_GRPO)
    out = tmp_path / "outputs" / "smoke-grpo"
    output = check(run_command("-m", "train.cli", str(recipe)))
    rules = _summary(out)["health"]["rules"]
    assert {name for name, v in rules.items() if v["fired"]} == {"no_signal", "truncation"}
    assert rules["no_signal"]["step"] == 1 and rules["truncation"]["step"] == 1
    assert output.count("training health: no_signal from step 1") == 1  # one line, not one per log
    assert output.count("training health: truncation from step 1") == 1
    assert (out / "trainer_state.json").exists()

    # the compare says it under the table, and keeps the log for `make view`'s training page
    compared = check(
        run_command(
            "-m",
            "eval.cli",
            "compare",
            str(recipe),
            "--no-wandb",
            "--set",
            "eval.backend=transformers",
            "--set",
            "eval.tasks={toy_addition: {n: 1}}",
        )
    )
    assert "training health: 2 rule(s) fired: no_signal from step 1; truncation from step 1" in compared
    assert (out / "compare" / "training" / "tuned.json").exists()

    stopped_out = tmp_path / "stopped"
    stopped = check(
        run_command(
            "-m",
            "train.cli",
            str(recipe),
            "--set",
            f"train.output_dir={stopped_out}",
            "--set",
            "train.health.stop_on=[no_signal]",
            "--set",
            "train.args.save_strategy=steps",
            "--set",
            "train.args.save_steps=100",
        )
    )
    summary = _summary(stopped_out)
    assert summary["health"]["stopped_by"] == {"rule": "no_signal", "from_step": 1, "stopped_at": 3}
    assert summary["global_step"] == 3 and (stopped_out / "checkpoint-3").is_dir()
    assert "stopped by the health monitor after step 3 (no_signal, from step 1)" in stopped


def test_an_sft_run_at_a_learning_rate_that_blows_up_fires_its_rule(tmp_path):
    recipe = write_recipe(
        tmp_path / "sft.yaml",
        **{
            "train.args.num_train_epochs": DELETE,
            "train.args.max_steps": 12,
            "train.args.learning_rate": 30.0,
            "train.args.warmup_steps": 0,
            "train.args.logging_steps": 1,
            "train.args.save_strategy": "no",
            "wandb.enabled": False,
        },
    )
    output = check(run_command("-m", "train.cli", str(recipe)))
    rules = _summary(tmp_path / "outputs" / "smoke-sft")["health"]["rules"]
    fired = {name for name, v in rules.items() if v["fired"]}
    assert "loss_divergence" in fired and rules["loss_divergence"]["step"] == 2, rules
    assert all(output.count(f"training health: {name} from step") == 1 for name in fired)
