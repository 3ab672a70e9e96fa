"""End to end on the CPU: a recipe trained with three seeds and compared as a method, and a checkpoint chosen on a
selection set (or on the test task, then adjusted for it)."""

import json

import pytest

from eval.viewer.data import CompareFolder
from tests.conftest import write_recipe
from tests.e2e import check, run_command

pytestmark = pytest.mark.slow

QUICK = {
    "train.args.num_train_epochs": 1,
    "train.args.save_strategy": "no",
    "eval.backend": "transformers",
    "eval.tasks": {"toy_addition": {"n": 2}},
    "wandb.enabled": False,
}


def test_three_seeds_train_one_after_another_and_compare_as_a_method(tmp_path):
    recipe = write_recipe(tmp_path / "seeds.yaml", **{**QUICK, "train.seeds": [1, 2, 3]})
    out = tmp_path / "outputs" / "smoke-sft"
    trained = check(run_command("-m", "train.cli", str(recipe)))
    assert "seed-3 (3 of 3)" in trained
    for seed in (1, 2, 3):
        folder = out / f"seed-{seed}"
        assert (folder / "model.safetensors").exists()
        assert json.loads((folder / "train_summary.json").read_text())["global_step"] == 19
        assert f"train.args.seed={seed}" in (folder / "recipe.yaml").read_text()
    # run again: every seed is trained, none is trained again
    again = check(run_command("-m", "train.cli", str(recipe)))
    assert again.count("is trained") == 3 and "loss" not in again

    output = check(run_command("-m", "eval.cli", "compare", str(recipe), "--no-wandb"))
    assert "method (3 runs)" in output and "seed-2" in output
    assert output.count("== baseline") == 1  # the baseline is evaluated once for the three runs
    payload = json.loads((out / "compare" / "compare.json").read_text())
    method = payload["method"]["tasks"]["toy_addition"]
    assert payload["method"]["runs"] == 3 and [r["label"] for r in method["runs"]] == [
        "seed-1",
        "seed-2",
        "seed-3",
    ]
    row = method["method"]
    assert row["ci_low"] <= row["delta"] <= row["ci_high"] and row["n_runs"] == 3
    assert row["delta"] == pytest.approx(sum(r["delta"] for r in method["runs"]) / 3)
    assert payload["tasks"]["toy_addition"][0]["delta"] == pytest.approx(method["runs"][0]["delta"])
    assert "method (3 runs)" in (out / "compare" / "table.md").read_text()
    assert {"seed-2", "seed-3"} <= set(
        CompareFolder(out / "compare").sides
    )  # each seed's samples in the viewer


def test_a_checkpoint_is_chosen_on_the_selection_set_and_a_test_set_choice_is_adjusted(tmp_path):
    recipe = write_recipe(
        tmp_path / "select.yaml",
        **{
            **QUICK,
            "train.args.num_train_epochs": 2,
            "train.args.save_strategy": "steps",
            "train.args.save_steps": 10,
            "train.args.save_total_limit": None,
            "eval.selection": {"tasks": ["toy_addition_dev"], "n": 2},
        },
    )
    out = tmp_path / "outputs" / "smoke-sft"
    check(run_command("-m", "train.cli", str(recipe)))
    output = check(run_command("-m", "eval.cli", "compare", str(recipe), "--no-wandb"))
    payload = json.loads((out / "compare" / "compare.json").read_text())
    chosen = payload["selection"]["chosen_on_selection_set"]["tuned"]
    labels = [c["label"] for c in chosen["candidates"]]
    assert labels == ["checkpoint-10", "checkpoint-20", "checkpoint-30", "checkpoint-38"]  # 38: the last step
    assert chosen["chosen"]["score"] == max(c["score"] for c in chosen["candidates"])
    assert f"selection: {chosen['chosen']['label']} chosen on toy_addition_dev" in output
    assert output.index("selection: checkpoint-10") < output.index("== baseline")  # chosen before the test
    assert payload["tuned"]["path"] == chosen["chosen"]["path"]

    # the user picks a checkpoint after seeing every checkpoint's test score: the adjusted p is beside the naive
    test_pick = check(
        run_command(
            "-m",
            "eval.cli",
            "compare",
            str(recipe),
            "--tuned",
            str(out / "checkpoint-20"),
            "--checkpoints",
            "all",
            "--no-wandb",
            "--set",
            "eval.selection=null",
        )
    )
    adjusted = json.loads((out / "compare" / "compare.json").read_text())["selection"]["chosen_on_test_task"]
    assert [a["chosen"] for a in adjusted] == ["checkpoint-20"] and len(adjusted[0]["candidates"]) == 4
    assert adjusted[0]["adjusted_p"] >= adjusted[0]["naive_p"]
    assert "max-statistic permutation over the 4" in test_pick
