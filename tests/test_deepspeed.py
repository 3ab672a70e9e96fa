"""DeepSpeed ZeRO for real, on DeepSpeed's CPU accelerator: two processes over gloo, the shipped zero2.yaml
and zero3.yaml with their DeepSpeed files, bf16 kept, launched by `make train`'s own launcher.

- the gradient DeepSpeed hands its optimizer after 8 accumulation steps equals the fp32 sum of the same bf16
  micro-gradients (tests/deepspeed_gradients.py watches one real step of SFTTrainer), and a DeepSpeed file
  without the fp32 settings fails the same check (what zero2.yaml gave before: bf16 sums);
- the fp32 master weights move at the shipped recipes' learning rates (1e-5 SFT, 1e-6 GRPO);
- SFT trains and resumes from a ZeRO-2 checkpoint; GRPO with a KL term (beta > 0, a reference model) trains
  on ZeRO-3.

The first DeepSpeed run on a machine compiles DeepSpeed's shared-memory communication op (about 100 s);
it is kept under the test cache (TORCH_EXTENSIONS_DIR), not the user's.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import DELETE, REPO, write_recipe
from tests.e2e import check, run_command

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        __import__("importlib").util.find_spec("deepspeed") is None,
        reason="deepspeed is not installed (it is in the cpu and gpu profiles: make install)",
    ),
]

REAL = REPO / "recipes" / "deepseek-r1-distill-qwen-1.5b"
TOLERANCE = 1e-6  # fp32 sums in a different order; measured ~1e-10, a bf16 sum is ~3e-3


def _learning_rate(recipe: str) -> float:
    return float(yaml.safe_load((REAL / recipe).read_text())["train"]["args"]["learning_rate"])


@pytest.fixture(scope="module")
def ds_env(tmp_path_factory) -> dict[str, str]:
    cache = Path(os.environ["REASONLIFT_CACHE"]) / "torch_extensions"
    return {"TORCH_EXTENSIONS_DIR": str(cache), "DS_ACCELERATOR": "cpu", "WANDB_MODE": "disabled"}


def _gradient_report(tmp_path: Path, accelerate_config: str, learning_rate: float, env: dict) -> dict:
    from recipes import load_recipe
    from train.cli import launch_command, launch_env, prepare_run

    recipe = write_recipe(
        tmp_path / "r.yaml",
        **{
            "train.accelerate_config": accelerate_config,
            "train.args.max_steps": 1,
            "train.args.per_device_train_batch_size": 2,
            "train.args.gradient_accumulation_steps": 8,
            "train.args.learning_rate": learning_rate,
            "train.args.warmup_steps": 0,  # the first step at the full rate
            "train.args.save_strategy": "no",
            "wandb.enabled": False,
        },
    )
    run = prepare_run(load_recipe(recipe), resume=False, num_processes=2)
    command = launch_command(run, run.write(tmp_path / "run.json"), resume=False)
    worker = command.index("train.worker")  # the same launch, with the watching script as the worker
    report = tmp_path / "report.json"
    command = [*command[:worker], "tests.deepspeed_gradients", str(tmp_path / "run.json"), str(report)]
    result = subprocess.run(
        command, env={**launch_env(command), **env}, capture_output=True, text=True, timeout=900
    )
    check(result)
    return json.loads(report.read_text())


@pytest.mark.parametrize(
    "config,recipe", [("zero2", "sft-openr1-math.yaml"), ("zero3", "grpo-math-server.yaml")]
)
def test_accumulated_gradient_is_the_fp32_sum_and_masters_move(tmp_path, ds_env, config, recipe):
    rate = _learning_rate(recipe)
    report = _gradient_report(tmp_path, config, rate, ds_env)
    assert report["zero_stage"] == int(config[-1]) and report["world_size"] == 2 and report["bf16"]
    assert report["micro_batches"] == 8 and report["micro_gradient_dtype"] == "torch.bfloat16"
    assert report["grad_accum_dtype"] == report["communication_data_type"] == "torch.float32"
    assert report["relative_error"] < TOLERANCE, report
    assert abs(report["scale"] - 1) < TOLERANCE  # the average over processes, not a sum
    # Adam's first step moves every fp32 master weight by about the learning rate
    assert report["tensors_changed"] == report["tensors"], report
    assert 0.5 * rate < report["max_weight_change"] < 2 * rate, report


def test_a_deepspeed_file_without_fp32_accumulation_fails_the_check(tmp_path, ds_env):
    """The shipped file less its two fp32 settings: DeepSpeed then sums and reduces in bf16."""
    shipped = json.loads((REPO / "accelerate_configs" / "deepspeed" / "zero2.json").read_text())
    del shipped["data_types"], shipped["communication_data_type"]
    (tmp_path / "bf16.json").write_text(json.dumps(shipped))
    launch = yaml.safe_load((REPO / "accelerate_configs" / "zero2.yaml").read_text())
    launch["deepspeed_config"]["deepspeed_config_file"] = "bf16.json"
    (tmp_path / "bf16.yaml").write_text(yaml.safe_dump(launch))
    report = _gradient_report(tmp_path, str(tmp_path / "bf16.yaml"), 1e-5, ds_env)
    assert report["grad_accum_dtype"] == report["communication_data_type"] == "torch.bfloat16"
    assert report["relative_error"] > 1e-3, report


def test_sft_on_zero2_trains_and_resumes_from_its_checkpoint(tmp_path, ds_env):
    overrides = {
        "train.accelerate_config": "zero2",
        "train.num_processes": 2,
        "train.args.max_steps": 4,
        "train.args.num_train_epochs": DELETE,
        "train.args.save_strategy": "steps",
        "train.args.save_steps": 2,
        "train.args.save_total_limit": 2,
        "train.args.logging_steps": 1,
        "wandb.enabled": False,
    }
    recipe = write_recipe(tmp_path / "r.yaml", **overrides)
    out = tmp_path / "outputs" / "smoke-sft"
    check(run_command("-m", "train.cli", str(recipe), env=ds_env))
    first = json.loads((out / "train_summary.json").read_text())
    assert first["world_size"] == 2 and first["global_step"] == 4
    assert (out / "checkpoint-4" / "global_step4").is_dir()  # DeepSpeed's own partitioned states
    recipe = write_recipe(tmp_path / "r.yaml", **{**overrides, "train.args.max_steps": 6})
    output = check(run_command("-m", "train.cli", str(recipe), "--resume", env=ds_env))
    assert "checkpoint-4" in output
    resumed = json.loads((out / "train_summary.json").read_text())
    assert resumed["global_step"] == 6 and resumed["resumed_from_step"] == 4
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert [h["step"] for h in state["log_history"] if "loss" in h] == [1, 2, 3, 4, 5, 6]
    assert resumed["final_loss"] < first["first_loss"]


def test_grpo_with_a_kl_term_trains_on_zero3(tmp_path, ds_env):
    recipe = write_recipe(
        tmp_path / "g.yaml",
        "grpo.yaml",
        **{
            "model.from_recipe": DELETE,
            "model.name_or_path": "builtin:tiny-qwen2",
            "train.accelerate_config": "zero3",
            "train.num_processes": 2,
            "train.args.max_steps": 2,
            "train.args.beta": 0.04,
            "train.args.per_device_train_batch_size": 8,
            "train.args.max_completion_length": 16,
            "train.args.log_completions": False,
            "train.args.logging_steps": 1,
            "train.args.save_strategy": "steps",
            "train.args.save_steps": 2,
            "wandb.enabled": False,
        },
    )
    out = tmp_path / "outputs" / "smoke-grpo"
    check(run_command("-m", "train.cli", str(recipe), env=ds_env))
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 2
    assert (out / "model.safetensors").exists()  # gathered from the ZeRO-3 shards
    history = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())["log_history"]
    # the KL term against the reference model (TRL computes and logs it only when beta > 0)
    assert [h["step"] for h in history if "kl" in h] == [1, 2]
