"""The launch configs in accelerate_configs/, read and validated by accelerate's own `launch` code.

What is checked here is that accelerate accepts each file as `accelerate launch` would and resolves it to
the intended strategy, and that accelerate's DeepSpeed plugin accepts the DeepSpeed files behind zero2 and
zero3. The training itself: the 2-process gloo test in test_e2e_train (DDP) and test_deepspeed (ZeRO-2 and
ZeRO-3 on DeepSpeed's CPU accelerator). NCCL and FSDP need GPUs (accelerate switches to FSDP only there).
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
    # bf16 and the ZeRO stage are in the DeepSpeed file (accelerate refuses them in both places)
    "zero2": ("DEEPSPEED", 8, {"use_deepspeed": True, "deepspeed_config_file": "deepspeed/zero2.json"}),
    "zero3": ("DEEPSPEED", 8, {"use_deepspeed": True, "deepspeed_config_file": "deepspeed/zero3.json"}),
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


@pytest.mark.parametrize("name,stage", [("zero2", 2), ("zero3", 3)])
def test_accelerates_deepspeed_plugin_accepts_the_file_as_launched(name, stage, monkeypatch):
    """The environment `accelerate launch` hands each process (with the resolved path reasonlift passes),
    then accelerate's own DeepSpeedPlugin, which refuses settings given twice and fills "auto"."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import DeepSpeedPlugin
    from accelerate.utils.launch import prepare_deepspeed_cmd_env

    from train.launch_config import load_launch_config

    launch = load_launch_config(name)
    assert launch.deepspeed_file == CONFIGS / "deepspeed" / f"{name}.json" and launch.zero_stage == stage
    argv = ["--config_file", str(launch.path), "--deepspeed_config_file", str(launch.deepspeed_file)]
    args, defaults, mixed_from_config = _validate_launch_command(
        launch_command_parser().parse_args([*argv, "x.py"])
    )
    # as accelerate's launch_command does before it starts the DeepSpeed launcher
    fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mixed_from_config else [])
    args.deepspeed_fields_from_accelerate_config = ",".join(fields)
    _, env = prepare_deepspeed_cmd_env(args)
    for key, value in env.items():
        if key.startswith("ACCELERATE_"):
            monkeypatch.setenv(key, value)
    plugin = DeepSpeedPlugin()
    config = plugin.deepspeed_config
    assert plugin.zero_stage == stage and config["zero_optimization"]["stage"] == stage
    assert config["data_types"]["grad_accum_dtype"] == "fp32" and config["communication_data_type"] == "fp32"
    assert config["bf16"]["enabled"] == "auto"  # the trainer's bf16 decides (make plan reads it the same way)
    assert (
        launch.deepspeed_dtype("grad_accum_dtype")
        == launch.deepspeed_dtype("communication_data_type")
        == "fp32"
    )
