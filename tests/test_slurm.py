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


def test_grpo_script_needs_server_mode_and_two_nodes():
    with pytest.raises(UserError, match="vllm_mode: server"):
        render(str(REAL / "grpo-math.yaml"), "grpo", nodes=2)
    with pytest.raises(UserError, match="nodes >= 2"):
        render(str(REAL / "grpo-math-server.yaml"), "grpo", nodes=1)


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
