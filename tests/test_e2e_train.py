"""End to end: `make train` on the tiny model, on the CPU, through accelerate launch and TRL."""

import json
import time
from pathlib import Path

import pytest

from tests.conftest import write_recipe
from tests.e2e import check, run_command, wandb_unreachable
from tests.wandb_offline import history, read_finished, run_info

pytestmark = pytest.mark.slow

SFT_RULES = ("loss_divergence", "loss_not_finite", "gradient_vanished", "gradient_spike")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sft")
    recipe = write_recipe(
        folder / "recipe.yaml",
        **{
            "train.output_dir": str(folder / "out"),
            "train.args.num_train_epochs": 2,
            "train.args.save_strategy": "steps",
            "train.args.save_steps": 15,
            "train.args.logging_steps": 5,
            "train.args.save_total_limit": 3,
            "eval.backend": "transformers",
            "eval.tasks": {"toy_addition": {"n": 2}},
        },
    )
    # as on a cluster's compute node: W&B credentials, but no server answers
    started = time.monotonic()
    output = check(run_command("-m", "train.cli", str(recipe), env=wandb_unreachable()))
    return recipe, folder / "out", output, time.monotonic() - started


def test_sft_saves_model_summary_and_recipe(trained):
    recipe, out, output, _ = trained
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    assert (out / "recipe.yaml").read_text() == recipe.read_text()
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["base_model"] == "builtin:tiny-qwen2"
    assert summary["global_step"] == 38  # 300 examples / batch 16 = 19 steps per epoch, 2 epochs
    assert summary["final_loss"] < summary["first_loss"]
    assert summary["tokens"] > 0 and summary["tokens_per_s"] > 0
    assert summary["packages"]["trl"] == "1.16.0"
    assert "git_commit" in summary
    assert "trained smoke-sft: 38 steps" in output
    # the health monitor watched the run and found it healthy: no line, every SFT rule checked, none fired
    assert summary["health"] == {
        "rules": {n: {"fired": False, "step": None, "value": None} for n in SFT_RULES}
    }
    assert "training health" not in output


def test_sft_logs_to_an_offline_wandb_run(trained):
    _, out, output, seconds = trained
    # credentials but an unreachable server: offline at once, no traceback, the run kept, the sync command told
    assert "W&B: logging offline" in output and "did not answer within 3 s" in output
    assert "Traceback" not in output and "CommError" not in output
    assert seconds < 150, f"training took {seconds:.0f} s"
    runs = sorted((out / "wandb").glob("offline-run-*"))
    assert runs, "no offline W&B run folder"
    assert f"wandb sync {runs[-1]}" in output  # the command that uploads this very run
    records = read_finished(runs[-1])
    info = run_info(records)
    assert info.job_type == "train" and info.run_group == "smoke-sft" and info.project == "reasonlift-demo"
    losses = [row["train/loss"] for row in history(records) if "train/loss" in row]
    assert len(losses) >= 5 and losses[-1] < losses[0]


def test_retraining_into_a_used_folder_needs_resume(trained):
    recipe, out, *_ = trained
    result = run_command("-m", "train.cli", str(recipe))
    assert result.returncode == 2 and "resume=1" in result.stderr and "Traceback" not in result.stderr
    assert any(Path(out).glob("checkpoint-*"))
    runs_before = sorted((Path(out) / "wandb").glob("*run-*"))
    resumed = check(run_command("-m", "train.cli", str(recipe), "--resume"))
    # the run had finished: resuming it trains nothing, starts no W&B run and keeps its summary
    assert "already holds this recipe's trained model" in resumed and "resuming from" not in resumed
    assert sorted((Path(out) / "wandb").glob("*run-*")) == runs_before


def test_checkpoint_curve_and_regrade(trained):
    recipe, out, *_ = trained
    output = check(
        run_command("-m", "eval.cli", "compare", str(recipe), "--checkpoints", "all", "--no-wandb")
    )
    payload = json.loads((out / "compare" / "compare.json").read_text())
    curve = payload["checkpoint_curve"]
    # the last step (38) is the final model
    assert [p["step"] for p in curve] == [0, 15, 30, 38]
    assert [p["label"] for p in curve][:3] == ["baseline", "checkpoint-15", "checkpoint-30"]
    assert curve[0]["tasks"]["toy_addition"]["pass@1"] == payload["tasks"]["toy_addition"][0]["baseline_mean"]
    assert (out / "compare" / "checkpoints.png").exists()
    assert "pass@1 over training" in output
    # each checkpoint's samples are in the compare folder too: `make view` pairs any two of them
    from eval.viewer.data import CompareFolder

    view = CompareFolder(out / "compare")
    assert view.sides == [
        "baseline",
        "tuned",
        *(p["label"] for p in curve if p["label"].startswith("checkpoint-")),
    ]
    assert len(view.pair("checkpoint-15", "checkpoint-30")) == 30

    # re-grading reads the saved generations: no engine starts, and the numbers are the same
    regraded = check(run_command("-m", "eval.cli", "rescore", "--recipe", str(recipe), "--no-wandb"))
    assert "starting" not in regraded and "reusing cached results" not in regraded
    again = json.loads((out / "compare" / "compare.json").read_text())
    assert again["tasks"] == payload["tasks"]

    # a sweep's compare job re-grades only; a checkpoint saved after its array was rendered (other weights,
    # nothing cached) is left out with a notice, not an error
    import shutil

    from safetensors.torch import load_file, save_file

    late = out / "checkpoint-60"
    shutil.copytree(out / "checkpoint-30", late)
    weights = load_file(late / "model.safetensors")
    first = next(iter(weights))
    weights[first] = weights[first] + 0.01
    save_file(weights, late / "model.safetensors", metadata={"format": "pt"})
    try:
        cached = check(
            run_command(
                "-m",
                "eval.cli",
                "compare",
                str(recipe),
                "--checkpoints",
                "all",
                "--cached-only",
                "--no-wandb",
            )
        )
    finally:
        shutil.rmtree(late)
    assert "checkpoint-60 was never evaluated" in cached and "starting" not in cached
    regraded_curve = json.loads((out / "compare" / "compare.json").read_text())["checkpoint_curve"]
    assert [p["step"] for p in regraded_curve] == [0, 15, 30, 38]


def test_lora_sft_saves_adapter_and_merged_model(tmp_path):
    recipe = write_recipe(
        tmp_path / "lora.yaml",
        **{
            "train.output_dir": str(tmp_path / "out"),
            "train.lora": {"r": 8, "alpha": 16},
            "train.args.num_train_epochs": 1,
        },
    )
    check(run_command("-m", "train.cli", str(recipe)))
    out = tmp_path / "out"
    assert (out / "adapter" / "adapter_config.json").exists()
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(out)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    assert json.loads((out / "train_summary.json").read_text())["lora"]["r"] == 8


def test_two_process_cpu_training_over_gloo(tmp_path):
    recipe = write_recipe(
        tmp_path / "ddp.yaml",
        **{
            "train.output_dir": str(tmp_path / "out"),
            "train.accelerate_config": "cpu-ddp",
            "train.args.num_train_epochs": 1,
        },
    )
    check(run_command("-m", "train.cli", str(recipe)))
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["global_step"] == 10  # 300 examples / (16 per process x 2 processes), rounded up
    assert (tmp_path / "out" / "model.safetensors").exists()
