"""The launch configs in accelerate_configs/, read and validated by accelerate's own `launch` code.

Their GPU paths (NCCL, DeepSpeed, FSDP) cannot run on a CPU machine: accelerate refuses FSDP and
DeepSpeed on CPUs. What can be checked here is that accelerate accepts each file as `accelerate launch`
would and resolves it to the intended strategy; the 2-process gloo test in test_e2e_train runs the
distributed training path itself.
"""

from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

CONFIGS = REPO / "accelerate_configs"

# name -> (distributed type, processes, what it must resolve to)
EXPECTED = {
    "cpu": ("NO", 1, {}),
    "cpu-ddp": ("MULTI_CPU", 2, {}),
    "ddp": ("MULTI_GPU", 8, {"mixed_precision": "bf16"}),
    "zero2": ("DEEPSPEED", 8, {"use_deepspeed": True, "zero_stage": 2, "mixed_precision": "bf16"}),
    "zero3": ("DEEPSPEED", 8, {"use_deepspeed": True, "zero_stage": 3, "mixed_precision": "bf16"}),
    "fsdp": ("FSDP", 8, {"use_fsdp": True, "fsdp_version": 2, "mixed_precision": "bf16"}),
}


def test_every_config_is_covered():
    assert {p.stem for p in CONFIGS.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accelerate_accepts_the_config_as_launch_would(name):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    path = CONFIGS / f"{name}.yaml"
    distributed_type, processes, resolved = EXPECTED[name]
    config = load_config_from_file(str(path))  # rejects unknown keys
    assert config.distributed_type.name == distributed_type
    args = launch_command_parser().parse_args(["--config_file", str(path), "-m", "train.worker", "r.yaml"])
    args, _, _ = _validate_launch_command(args)
    assert args.num_processes == processes
    for key, value in resolved.items():
        assert getattr(args, key) == value, key


def test_every_recipe_names_a_config_that_exists():
    for recipe in REPO.glob("recipes/**/*.yaml"):
        train = (yaml.safe_load(recipe.read_text()) or {}).get("train") or {}
        name = train.get("accelerate_config", "ddp")  # the schema default
        assert (CONFIGS / f"{name}.yaml").exists() or Path(name).exists(), f"{recipe}: {name}"
