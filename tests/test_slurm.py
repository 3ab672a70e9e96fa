import subprocess

import pytest

from recipes.errors import UserError
from tests.conftest import REPO
from train.slurm.render import render

REAL = REPO / "recipes" / "deepseek-r1-distill-qwen-1.5b"


@pytest.mark.parametrize(
    ("recipe", "kind", "nodes"),
    [
        (REAL / "sft-openr1-math.yaml", "train", 2),
        (REAL / "grpo-math-server.yaml", "grpo", 3),
        (REAL / "grpo-math.yaml", "eval", 1),
    ],
)
def test_rendered_scripts_are_valid_bash_with_every_value_filled(recipe, kind, nodes, tmp_path):
    text = render(str(recipe), kind, nodes=nodes, gpus_per_node=8, partition="gpu")
    assert "@@" not in text
    assert f"#SBATCH --nodes={nodes}" in text and "#SBATCH --partition=gpu" in text
    script = tmp_path / "job.sbatch"
    script.write_text(text)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    if kind == "train":
        assert "accelerate_configs/zero2.yaml" in text and "--num_machines" in text and "train.worker" in text
    if kind == "grpo":
        assert 'trl vllm-serve --model "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"' in text
        assert "REASONLIFT_VLLM_SERVER_HOST" in text
    if kind == "eval":
        assert "eval.cli compare" in text


def test_grpo_script_needs_server_mode_and_a_gpu_left_to_train():
    with pytest.raises(UserError, match="vllm_mode: server"):
        render(str(REAL / "grpo-math.yaml"), "grpo", nodes=2)
    with pytest.raises(UserError, match="leaves no GPU to train on"):
        render(str(REAL / "grpo-math-server.yaml"), "grpo", nodes=1, gpus_per_node=1)


def test_a_recipe_that_needs_a_server_is_not_rendered_as_plain_training():
    with pytest.raises(UserError, match="use kind=grpo"):
        render(str(REAL / "grpo-math-server.yaml"), "train", nodes=2)


def test_server_tensor_parallel_must_divide_the_heads_and_data_parallel_is_not_used():
    for tp in (8, 3):  # 8 does not divide the 12 heads; 3 does, but not the 2 KV heads
        with pytest.raises(UserError, match=f"cannot split this model's attention heads {tp} ways"):
            render(str(REAL / "grpo-math-server.yaml"), "grpo", nodes=2, vllm_tp=tp)
    text = render(str(REAL / "grpo-math-server.yaml"), "grpo", nodes=1, vllm_tp=2)
    assert "--tensor_parallel_size 2" in text and "data_parallel" not in text
    # one node: the server takes GPUs 0-1, training the other 6
    assert "TRAIN_GPUS=6" in text and "seq -s, 2 $((8 - 1))" in text


@pytest.mark.parametrize("kind", ["train", "grpo", "eval"])
def test_scripts_requeue_poll_the_real_health_path_and_pass_cpus_to_srun(kind):
    recipe = REAL / ("grpo-math-server.yaml" if kind == "grpo" else "sft-openr1-math.yaml")
    text = render(str(recipe), kind, nodes=2, gpus_per_node=4, cpus_per_task=24)
    assert "#SBATCH --requeue" in text
    assert "#SBATCH --cpus-per-task=24" in text and 'SRUN_CPUS_PER_TASK="${SLURM_CPUS_PER_TASK:-24}"' in text
    assert "/health/" not in text
    if kind == "grpo":
        assert ':8000/health"' in text
    default = render(str(recipe), kind, nodes=2, gpus_per_node=4)
    assert "#SBATCH --cpus-per-task=32" in default  # 8 per GPU unless told


def test_make_slurm_on_a_machine_without_gpus_keeps_the_installed_gpu_profile(tmp_path):
    """A login node has no GPU, so the install profile would default to cpu; make slurm must use the
    environment that is there (the gpu one) and install nothing."""
    import os
    import sys

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    (venv / ".installed-gpu").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(
        [
            "make",
            "-s",
            "slurm",
            f"VENV={venv}",
            f"recipe={REAL / 'sft-openr1-math.yaml'}",
            "kind=train",
            "nodes=2",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing" not in result.stdout
    assert sorted(p.name for p in venv.iterdir()) == [".installed-gpu", "bin"]
    assert "wrote" in result.stdout and "sft" in result.stdout


def test_server_host_from_the_job_reaches_the_trl_config(tmp_path, monkeypatch):
    from trl import GRPOConfig

    from recipes import load_recipe
    from train.common import build_trl_config

    recipe = load_recipe(REAL / "grpo-math-server.yaml", check_paths=False)
    recipe.train.output_dir = str(tmp_path)
    monkeypatch.setenv("REASONLIFT_VLLM_SERVER_HOST", "node-017")
    args = dict(recipe.train.args, use_vllm=False, use_liger_kernel=False, gradient_checkpointing=False)
    recipe.train.args = args
    config = build_trl_config(recipe, GRPOConfig, run_name="x")
    assert config.vllm_server_host == "node-017"
