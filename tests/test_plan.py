"""`make plan` over every shipped recipe and hardware profile: verdicts, key numbers, and one-line refusals."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from recipes import load_recipe
from recipes.errors import UserError
from recipes.gpus import GIB, PROFILES
from tests.conftest import REPO
from train.plan.__main__ import render
from train.plan.build import Hardware, build_plan, hardware_for

REAL = REPO / "recipes" / "deepseek-r1-distill-qwen-1.5b"
RECIPES = sorted(REAL.glob("*.yaml"))


def hw(kind: str = "h100", gpus: int = 1, nodes: int = 1, driver: str | None = None) -> Hardware:
    profile = PROFILES[kind]
    return Hardware(gpus, nodes, profile.name, profile.memory_bytes, True, driver)


def plan_for(path, hardware, **kw):
    return build_plan(load_recipe(path, check_paths=False), hardware, **kw)


# (recipe, gpu, gpus) -> "ok" | "warn" | refusal text expected
VERDICTS = {
    ("sft-openr1-math", "h100", 8): "ok",
    ("sft-openr1-math", "h100", 1): "set gradient_accumulation_steps: 64",
    ("sft-openr1-math", "a100", 8): "ok",
    ("sft-openr1-math", "l40s", 1): "is over the 44.4 GiB",  # with the padded batch's SDPA mask
    ("sft-openr1-math", "l4", 1): "is over the 22.0 GiB",
    ("grpo-math", "h100", 1): "ok",  # vLLM's 0.5 holds a whole generation batch
    ("grpo-math", "h100", 8): "ok",
    ("grpo-math", "h200", 1): "ok",
    ("grpo-math", "l40s", 1): "is over the 44.4 GiB",
    ("grpo-math", "l4", 1): "is over the 22.0 GiB",
    ("grpo-math-lora", "h100", 1): "ok",
    ("grpo-math-lora", "l40s", 1): "KV cache holds",
    ("grpo-math-lora", "l4", 1): "is over the 22.0 GiB",
    ("grpo-math-server", "h100", 8): "ok",
    ("grpo-math-server", "h100", 1): "7 training processes plus",
    ("grpo-math-server", "h100", 4): "7 training processes plus",
}


@pytest.mark.parametrize(("name", "gpu", "gpus"), list(VERDICTS))
def test_every_shipped_recipe_on_every_profile_gets_its_verdict(name, gpu, gpus):
    plan = plan_for(REAL / f"{name}.yaml", hw(gpu, gpus))
    expected = VERDICTS[(name, gpu, gpus)]
    text = render(plan)
    if expected == "ok":
        assert not plan.refusals and not plan.warnings, text
        assert text.endswith("verdict: OK")
    elif any(expected in r for r in plan.refusals):
        assert "verdict" not in text
    else:
        assert not plan.refusals, text
        assert any(expected in w for w in plan.warnings), text


def test_every_recipe_in_the_repository_has_a_plan_on_each_profile():
    for path in [*RECIPES, *(REPO / "recipes" / "smoke").glob("*.yaml")]:
        for kind in ("h100", "a100", "l40s", "l4"):
            for gpus in (1, 8):
                render(plan_for(path, hw(kind, gpus)))  # never raises


def test_a_padded_batch_under_sdpa_counts_its_attention_mask(tmp_path):
    """transformers materialises a boolean [micro, 1, seq, seq] mask for a padded batch; each attention call
    makes a bias of it in the compute dtype (one layer's kept under checkpointing, every layer's without)."""
    data = yaml.safe_load((REAL / "sft-openr1-math.yaml").read_text())
    mask = "attention mask (SDPA, padded batch)"
    seq = data["train"]["args"]["max_length"]
    terms = dict(plan_for(REAL / "sft-openr1-math.yaml", hw("h100", 8)).memory)
    assert terms[mask] == 2 * seq * seq * (1 + 2)  # micro-batch 2, bf16 compute, checkpointed
    for change in ({"per_device_train_batch_size": 1}, {"padding_free": True}):
        data["train"]["args"].update(change)
        path = tmp_path / "r.yaml"
        path.write_text(yaml.safe_dump(data))
        assert mask not in dict(plan_for(path, hw("h100", 8)).memory), change
    data["train"]["args"].update(
        per_device_train_batch_size=2, padding_free=False, gradient_checkpointing=False
    )
    path.write_text(yaml.safe_dump(data))
    assert dict(plan_for(path, hw("h100", 8)).memory)[mask] == 2 * seq * seq * (1 + 2 * 28)


def test_key_numbers_of_the_sft_recipe_on_a_node_and_on_one_gpu():
    node = plan_for(REAL / "sft-openr1-math.yaml", hw("h100", 8))
    launch = dict(node.launch)
    assert node.processes == 8
    assert launch["per optimizer step"] == "128 sequences, up to 2,097,152 tokens"
    assert launch["dataset rows"] == "20,000"
    assert launch["optimizer steps"] == "157 per epoch, 157 in all"
    assert dict(node.precision)["fp32 master weights"] == "yes"
    memory = dict(node.memory)
    # ZeRO-2 over 8: bf16 module whole, fp32 master 4P/8 and Adam 8P/8
    assert memory["weights"] == 2 * 1_777_088_000
    assert memory["optimizer states"] == 8 * 1_777_088_000 // 8
    one = plan_for(REAL / "sft-openr1-math.yaml", hw("h100", 1))
    assert one.processes == 1  # the config's 8 processes follow the one GPU found
    assert dict(one.launch)["per optimizer step"].startswith("16 sequences")
    assert one.peak_bytes > node.peak_bytes  # nothing to shard over


def test_grpo_one_gpu_recipe_keeps_fp32_master_weights_and_fits_80gb():
    plan = plan_for(REAL / "grpo-math.yaml", hw("h100", 1))
    precision = dict(plan.precision)
    assert precision["fp32 master weights"] == "yes"
    assert "float32" in precision["held as"] and "bf16 autocast" in precision["held as"]
    assert plan.peak_bytes < PROFILES["h100"].memory_bytes
    assert any(name.startswith("vLLM (colocated") for name, _ in plan.memory)


def test_pure_bf16_adamw_without_master_weights_is_refused(tmp_path):
    data = yaml.safe_load((REAL / "grpo-math.yaml").read_text())
    data["model"]["dtype"] = "bfloat16"
    path = tmp_path / "bf16.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = plan_for(path, hw("h100", 1))
    assert dict(plan.precision)["fp32 master weights"] == "NO"
    assert any("no fp32 master copy" in r and "1e-06" in r for r in plan.refusals)
    # the same weights under ZeRO-2 (one process) get fp32 masters
    data["train"]["accelerate_config"] = "zero2"
    path.write_text(yaml.safe_dump(data))
    assert not any("master" in r for r in plan_for(path, hw("h100", 1)).refusals)


def test_more_processes_than_gpus_is_refused():
    plan = plan_for(REAL / "sft-openr1-math.yaml", hw("h100", 2), num_processes=4)
    assert plan.refusals == [
        "4 training processes need 4 GPUs; 2 declared: lower train.num_processes (or nproc=)"
    ]


def test_tensor_parallel_that_does_not_divide_the_heads_and_too_many_engines_are_refused(tmp_path):
    data = yaml.safe_load((REAL / "sft-openr1-math.yaml").read_text())
    data["eval"]["vllm"].update(tensor_parallel_size=8)
    path = tmp_path / "tp.yaml"
    path.write_text(yaml.safe_dump(data))
    refusals = plan_for(path, hw("h100", 8)).refusals
    assert any("cannot split the model's 12 attention heads" in r for r in refusals)
    data["eval"]["vllm"].update(tensor_parallel_size=2, data_parallel_size=8)
    path.write_text(yaml.safe_dump(data))
    assert any("= 16 GPUs; a node has 8" in r for r in plan_for(path, hw("h100", 8)).refusals)


def test_an_evaluation_cache_too_small_for_one_sequence_is_refused(tmp_path):
    data = yaml.safe_load((REAL / "sft-openr1-math.yaml").read_text())
    data["eval"]["vllm"]["gpu_memory_utilization"] = 0.15
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    assert any("vLLM refuses to start" in r for r in plan_for(path, hw("l4", 1)).refusals)


def test_an_old_driver_is_refused_when_a_gpu_is_present():
    plan = plan_for(REAL / "grpo-math-lora.yaml", hw("h100", 1, driver="550.54.15"))
    assert any("driver 550.54.15 is too old" in r and ">= 580" in r for r in plan.refusals)
    assert not plan_for(REAL / "grpo-math-lora.yaml", hw("h100", 1, driver="580.65.06")).refusals


def test_bad_hardware_flags_are_one_line():
    with pytest.raises(UserError, match="unknown GPU"):
        hardware_for(1, "h1000")
    with pytest.raises(UserError, match="positive number"):
        hardware_for(0, "h100")
    with pytest.raises(UserError, match="nodes=0"):
        hardware_for(8, "h100", nodes=0)


def test_declared_hardware_and_the_cli_exit_status():
    assert hardware_for(8, "a100").memory_bytes == pytest.approx(79.1 * GIB)
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "train.plan",
            str(REAL / "sft-openr1-math.yaml"),
            "--gpus",
            "8",
            "--gpu",
            "h100",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "fp32 master weights" in ok.stdout and "verdict: OK" in ok.stdout and "Traceback" not in ok.stderr
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "train.plan",
            str(REAL / "grpo-math-server.yaml"),
            "--gpus",
            "1",
            "--gpu",
            "h100",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert [line for line in refused.stdout.splitlines() if line.startswith("refused:")] == [
        "refused: 7 training processes plus 1 for the vLLM server need 8 GPUs; 1 declared: on fewer GPUs train "
        "with vLLM colocated instead: recipes/deepseek-r1-distill-qwen-1.5b/grpo-math.yaml or grpo-math-lora.yaml "
        "(one GPU)"
    ]


def test_make_train_refuses_a_gpu_config_on_a_machine_without_gpus(tmp_path, monkeypatch):
    from train.cli import launch_command, prepare_run

    if torch_gpu():
        pytest.skip("this machine has a GPU")
    data = yaml.safe_load((REPO / "recipes" / "smoke" / "sft.yaml").read_text())
    data["train"]["accelerate_config"] = "ddp"
    data["train"]["output_dir"] = str(tmp_path / "out")
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(UserError, match="needs GPUs and none was found"):
        prepare_run(load_recipe(path), resume=False)
    # ZeRO runs on DeepSpeed's CPU accelerator where DeepSpeed is installed, one process per core at most
    data["train"]["accelerate_config"] = "zero2"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setattr("train.plan.build.deepspeed_available", lambda: True)
    command = launch_command(
        prepare_run(load_recipe(path), resume=False, num_processes=2), tmp_path / "run.json", False
    )
    assert command[command.index("--deepspeed_config_file") + 1] == str(
        REPO / "accelerate_configs" / "deepspeed" / "zero2.json"
    )
    assert command[command.index("--num_processes") + 1] == "2"
    monkeypatch.setattr("train.plan.build.deepspeed_available", lambda: False)
    with pytest.raises(UserError, match="needs GPUs and none was found"):
        prepare_run(load_recipe(path), resume=False)


def torch_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def test_tensor_parallel_must_also_fit_the_kv_heads():
    plan = plan_for(REAL / "sft-openr1-math.yaml", hw("h100", 8))
    assert not plan.refusals
    recipe = load_recipe(REAL / "sft-openr1-math.yaml", check_paths=False)
    recipe.eval.vllm.tensor_parallel_size = 3  # divides the 12 heads, not the 2 KV heads
    assert any(
        "cannot split" in r and "1, 2, 4, 6, 12" in r for r in build_plan(recipe, hw("h100", 8)).refusals
    )


def test_ddp_over_several_gpus_counts_its_gradient_buckets(tmp_path):
    data = yaml.safe_load((REAL / "grpo-math-lora.yaml").read_text())
    data["train"].pop("num_processes")
    data["train"].pop("lora")
    data["model"]["dtype"] = "float32"
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(data))
    one, eight = plan_for(path, hw("h100", 1)), plan_for(path, hw("h100", 8))
    assert eight.processes == 8
    gradients = dict(one.memory)["gradients"]
    assert dict(eight.memory)["buffers (buckets, gathered shards, autocast copies)"] == pytest.approx(
        dict(one.memory)["buffers (buckets, gathered shards, autocast copies)"] + gradients
    )


def test_the_server_recipe_follows_its_own_instructions_and_plans_nodes_like_the_sbatch(monkeypatch):
    recipe = load_recipe(REAL / "grpo-math-server.yaml", check_paths=False)
    # CUDA_VISIBLE_DEVICES=0,...,6 make train: the server's GPU is already left out
    narrowed = Hardware(7, 1, "H100", PROFILES["h100"].memory_bytes, False, None, narrowed=True)
    assert build_plan(recipe, narrowed).processes == 7
    two_nodes = build_plan(recipe, hw("h100", 8, nodes=2))
    assert two_nodes.processes == 8  # the first node serves, the second trains on all 8
    assert any("train.num_processes 7 is not used on 2 nodes" in w for w in two_nodes.warnings)


def test_force_turns_only_the_memory_refusal_into_a_warning():
    recipe = load_recipe(REAL / "grpo-math.yaml", check_paths=False)
    assert any("force=1 goes ahead" in r for r in build_plan(recipe, hw("l40s", 1)).refusals)
    forced = build_plan(recipe, hw("l40s", 1), force=True)
    assert not forced.refusals and any("force=1: going ahead" in w for w in forced.warnings)


def test_make_train_warns_instead_of_refusing_a_model_whose_config_is_not_here(tmp_path):
    data = yaml.safe_load((REPO / "recipes" / "smoke" / "sft.yaml").read_text())
    data["model"]["name_or_path"] = "reasonlift-test/unknown-model"
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    recipe = load_recipe(path, check_paths=False)
    plan = build_plan(recipe, None, evaluation=False)
    assert not plan.refusals and any("memory not estimated" in w for w in plan.warnings)
    with pytest.raises(UserError, match=r"hf download reasonlift-test/unknown-model config\.json"):
        build_plan(recipe, hw("h100", 1))


def test_plan_names_the_accumulation_dtype_and_refuses_what_deepspeed_would(tmp_path):
    from recipes.loader import load_recipe
    from tests.conftest import write_recipe
    from train.plan.build import build_plan, hardware_for

    # the shipped zero2: bf16 "auto" follows the trainer, gradients summed and reduced in fp32
    plan = build_plan(load_recipe(REAL / "sft-openr1-math.yaml"), hardware_for(8, "h100"), evaluation=False)
    precision = dict(plan.precision)
    assert precision["gradient accumulation"] == "fp32" and precision["gradient reduction"] == "fp32"
    assert not any("DeepSpeed sums" in w or "DeepSpeed reduces" in w for w in plan.warnings)
    base = {"train.accelerate_config": "zero2", "train.args.bf16": False}
    plan = build_plan(
        load_recipe(write_recipe(tmp_path / "z.yaml", **base)), hardware_for(8, "h100"), evaluation=False
    )
    assert not plan.refusals  # bf16 off: DeepSpeed trains in fp32
    # a launch config without a DeepSpeed file (what zero2.yaml was): accelerate sets bf16 from mixed_precision
    bare = tmp_path / "bare-zero2.yaml"
    bare.write_text(
        "distributed_type: DEEPSPEED\nmixed_precision: bf16\nnum_processes: 8\n"
        "deepspeed_config:\n  zero_stage: 2\n"
    )
    plan = build_plan(
        load_recipe(write_recipe(tmp_path / "b.yaml", **{**base, "train.accelerate_config": str(bare)})),
        hardware_for(8, "h100"),
        evaluation=False,
    )
    assert any("bf16 false with bare-zero2.yaml" in r and "DeepSpeed refuses" in r for r in plan.refusals)
    plan = build_plan(
        load_recipe(
            write_recipe(
                tmp_path / "c.yaml",
                **{"train.accelerate_config": str(bare), "train.args.gradient_accumulation_steps": 8},
            )
        ),
        hardware_for(8, "h100"),
        evaluation=False,
    )
    assert dict(plan.precision)["gradient accumulation"] == "bf16 (model dtype)"
    assert any("sums the 8 micro-batches' gradients in bf16" in w for w in plan.warnings)
    assert any("reduces gradients across the 8 processes in bf16" in w for w in plan.warnings)


def test_plan_warns_on_logged_completions(tmp_path):
    from recipes.loader import load_recipe
    from tests.conftest import DELETE, write_recipe
    from train.plan.build import build_plan, hardware_for

    grpo = {
        "model.from_recipe": DELETE,
        "model.name_or_path": "builtin:tiny-qwen2",
        "train.accelerate_config": "zero2",
        "train.args.log_completions": True,
        "train.args.logging_steps": 1,
    }
    plan = build_plan(
        load_recipe(write_recipe(tmp_path / "g.yaml", "grpo.yaml", **grpo)),
        hardware_for(8, "h100"),
        evaluation=False,
    )
    assert any("log_completions" in w and "all of them" in w for w in plan.warnings)


def test_shipped_grpo_recipes_follow_deepscaler_and_log_no_completions():
    for path in (REPO / "recipes" / "deepseek-r1-distill-qwen-1.5b").glob("grpo-*.yaml"):
        args = yaml.safe_load(path.read_text())["train"]["args"]
        assert args["mask_truncated_completions"] is False, path  # truncated answers earn 0, as in DeepScaleR
        assert not args.get("log_completions"), path


def test_plan_says_fsdp_is_not_exercised_without_gpus(tmp_path):
    from recipes.loader import load_recipe
    from tests.conftest import write_recipe
    from train.plan.build import build_plan, hardware_for

    recipe = load_recipe(write_recipe(tmp_path / "f.yaml", **{"train.accelerate_config": "fsdp"}))
    plan = build_plan(recipe, hardware_for(8, "h100"), evaluation=False)
    assert any("FSDP is not exercised" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({"top_p": 0.95}, "refused"),  # TRL's default correction is sequence_mask
        ({"top_k": 20}, "refused"),
        ({"min_p": 0.05, "vllm_importance_sampling_mode": "sequence_truncate"}, "refused"),
        ({"generation_kwargs": {"top_p": 0.9}}, "refused"),  # what TRL hands vLLM last
        ({"top_p": 0.95, "vllm_importance_sampling_mode": "token_truncate"}, "warned"),
        ({"top_p": 0.95, "vllm_importance_sampling_correction": False}, "ok"),
        ({"top_p": 1.0, "top_k": 0}, "ok"),
    ],
)
def test_grpo_rollouts_that_cut_the_distribution_under_trls_correction_are_refused(
    tmp_path, changes, verdict
):
    data = yaml.safe_load((REAL / "grpo-math.yaml").read_text())
    data["train"]["args"].update(changes)
    path = tmp_path / "grpo.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = plan_for(path, hw("h200", 1))
    refused = [r for r in plan.refusals if "TRL #6789" in r]
    warned = [w for w in plan.warnings if "TRL #6789" in w]
    assert (bool(refused), bool(warned)) == {
        "refused": (True, False),
        "warned": (False, True),
        "ok": (False, False),
    }[verdict], render(plan)
    if refused:
        assert "top_p: 1.0" in refused[0] and "long completions drop out of the gradient" in refused[0]


def test_the_shipped_grpo_recipes_sample_rollouts_from_the_whole_distribution():
    from train.plan.build import truncated_sampling

    for path in REAL.glob("grpo-*.yaml"):
        recipe = load_recipe(path, check_paths=False)
        assert recipe.train.args["use_vllm"] and not truncated_sampling(recipe.train.args), path.name
        assert recipe.eval.generation.top_p == 0.95  # evaluation keeps the protocol


def test_time_and_disk_for_every_shipped_recipe_with_each_assumption_said():
    from train.plan.cost import ASSUMED_MFU

    for path in RECIPES:
        plan = plan_for(path, hw("h100", 8))
        cost = dict(plan.cost)
        text = render(plan)
        assert {"training time", "checkpoint", "disk", "slurm grace", "evaluation work"} <= set(cost), text
        assert f"{ASSUMED_MFU:.0%} MFU" in cost["training time"] and "assumptions, not measurements" in text
        assert plan.train_seconds > 0 and plan.eval_seconds > 0 and plan.grace_seconds >= 120


def test_the_evaluation_work_is_the_protocols_token_count():
    """Worst case at the protocol (every sample to 32,768 new tokens): AIME 30 x 16, MATH-500 500 x 4, GPQA
    198 x 8, per side."""
    cost = dict(plan_for(REAL / "grpo-math.yaml", hw("h100", 1)).cost)
    assert "aime24 15.7 M" in cost["evaluation work"] and "math_500 65.5 M" in cost["evaluation work"]
    assert "gpqa:diamond 51.9 M" in cost["evaluation work"]


def test_a_checkpoint_holds_weights_masters_and_adam_states_as_each_precision_keeps_them():
    from train.plan.cost import checkpoint_size

    params = 1_777_088_000
    fp32 = checkpoint_size(params, params, "ddp", 4, lora=False)  # grpo-math: fp32 weights, torch AdamW
    assert fp32.total == 12 * params  # ~21.3 GB: the "~21 GB fp32 + Adam"
    zero = checkpoint_size(params, params, "zero2", 2, lora=False)
    assert (zero.weights, zero.master, zero.optimizer) == (2 * params, 4 * params, 8 * params)
    lora = checkpoint_size(params, 18_464_768, "ddp", 2, lora=True)
    assert lora.total == 12 * 18_464_768  # PEFT saves the adapters only


def test_the_slurm_grace_covers_a_step_and_a_checkpoint_write():
    from train.plan.cost import ASSUMED_WRITE_BYTES_PER_S, GRACE_MARGIN_S, checkpoint_size

    plan = plan_for(REAL / "grpo-math.yaml", hw("a100", 1))
    step = plan.train_seconds / plan.steps
    params = 1_777_088_000
    write = checkpoint_size(params, params, "ddp", 4, lora=False).total / ASSUMED_WRITE_BYTES_PER_S
    assert plan.grace_seconds >= step + write + GRACE_MARGIN_S
    assert plan.grace_seconds > 300  # the old fixed default would not cover a step on an A100


def test_the_free_space_of_the_output_folder_is_checked_for_a_run_here(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from train.plan import cost

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 10**9, 10**9))
    data = yaml.safe_load((REAL / "grpo-math.yaml").read_text())
    data["train"]["output_dir"] = str(tmp_path / "out")
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data))
    found = Hardware(1, 1, "H100 80GB", PROFILES["h100"].memory_bytes, declared=False)
    warned = [w for w in plan_for(path, found).warnings if "No space left on device" in w]
    assert warned and "1.0 GB free" in warned[0]
    declared = plan_for(path, hw("h100", 1))  # planning another machine's run: this disk says nothing
    assert not any("No space left" in w for w in declared.warnings)
    assert cost.free_bytes(tmp_path / "no" / "such" / "folder") == 10**9  # its nearest existing parent


def test_idle_gpus_are_pointed_out_with_the_setting_that_uses_them():
    grpo = dict(plan_for(REAL / "grpo-math.yaml", hw("h100", 8)).launch)
    assert grpo["idle GPUs"].startswith("7 of 8") and "grpo-math-server.yaml" in grpo["idle GPUs"]
    evaluation = dict(plan_for(REAL / "sft-openr1-math.yaml", hw("h100", 8)).evaluation)
    assert (
        "eval.vllm.data_parallel_size: 8" in evaluation["idle GPUs"]
        and "8x faster" in evaluation["idle GPUs"]
    )
    assert "idle GPUs" not in dict(plan_for(REAL / "sft-openr1-math.yaml", hw("h100", 1)).evaluation)


def test_the_server_recipe_on_one_gpu_points_to_the_one_gpu_recipes():
    (refusal,) = plan_for(REAL / "grpo-math-server.yaml", hw("h100", 1)).refusals
    assert "grpo-math.yaml or grpo-math-lora.yaml" in refusal and "nproc" not in refusal


def test_training_the_15b_model_on_the_cpu_is_planned_in_host_memory(monkeypatch):
    import os

    from recipes.loader import load_recipe as load

    recipe = load(REAL / "sft-openr1-math.yaml", check_paths=False, overrides=["train.accelerate_config=cpu"])
    pages = os.sysconf("SC_PHYS_PAGES")
    monkeypatch.setattr(os, "sysconf", lambda name: 4096 if name == "SC_PAGE_SIZE" else 16 * GIB // 4096)
    plan = build_plan(recipe, None)
    host = dict(plan.precision)["host memory (estimate)"]
    assert "of this machine's 16.0 GiB" in host
    assert any("training on the CPU needs" in r for r in plan.refusals)  # fp32 + Adam: 16 bytes a parameter
    assert pages  # (the real machine's figure was readable)
