"""The shipped real recipes' training setup, built on CPU with the tiny model swapped in: trainable weights and
optimizer states are fp32, and one optimizer step at the recipe's learning rate changes essentially every
trainable weight. The control shows what `make plan` refuses: bf16 weights under AdamW lose most updates."""

from __future__ import annotations

import pytest
import torch
import yaml

from recipes import load_recipe
from tests.conftest import REPO
from train import common

REAL = REPO / "recipes" / "deepseek-r1-distill-qwen-1.5b"


def tiny_version(name: str, tmp_path):
    """The shipped recipe with the tiny model and toy data in place of the hub ones, and no vLLM (CPU)."""
    data = yaml.safe_load((REAL / name).read_text())
    data["model"]["name_or_path"] = "builtin:tiny-qwen2"
    data["train"]["dataset"] = {
        "path": "builtin:toy-addition",
        "prompt_field": "problem",
        "answer_field": "answer",
    }
    data["train"]["output_dir"] = str(tmp_path / "out")
    data["train"]["args"].update(use_vllm=False, use_liger_kernel=False, gradient_accumulation_steps=1)
    data["wandb"]["enabled"] = False
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return load_recipe(path)


def trainer_for(recipe):
    from trl import GRPOConfig, GRPOTrainer

    from recipes.protocol.rewards import build_rewards
    from train.data import load_prompt_dataset
    from train.run import base_model_folder, describe

    funcs, weights = build_rewards(
        {n: {"weight": s.weight, **(s.model_extra or {})} for n, s in recipe.train.rewards.items()}
    )
    run = describe(recipe, model=base_model_folder(recipe))
    config = run.trl_config(GRPOConfig, run_name="t", reward_weights=weights)
    return GRPOTrainer(
        model=common.load_model(run),
        reward_funcs=funcs,
        args=config,
        train_dataset=load_prompt_dataset(recipe.train.dataset),
        processing_class=common.load_tokenizer(run),
        peft_config=common.lora_config(recipe),
    )


def changed_share(trainer, steps: int) -> tuple[float, list[torch.dtype], list[torch.dtype]]:
    """Share of trainable weights that moved after `steps` optimizer steps of the trainer's own optimizer
    (the recipe's optimizer and learning rate, no schedule), with the dtypes of weights and Adam states."""
    model = trainer.model
    optimizer = trainer.create_optimizer()
    trainable = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in trainable]
    torch.manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (4, 32))
    for _ in range(steps):
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    moved = sum(int((p.detach() != b).sum()) for p, b in zip(trainable, before, strict=True))
    total = sum(p.numel() for p in trainable)
    states = [v.dtype for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v) and v.dim()]
    return moved / total, [p.dtype for p in trainable], states


def test_grpo_one_gpu_recipe_trains_fp32_weights_that_move_at_lr_1e_6(tmp_path):
    recipe = tiny_version("grpo-math.yaml", tmp_path)
    assert recipe.train.args["learning_rate"] == 1e-6
    share, weights, states = changed_share(trainer_for(recipe), steps=1)
    assert set(weights) == {torch.float32} and set(states) == {torch.float32}
    assert share > 0.99, f"only {share:.1%} of the weights changed"


def test_lora_recipe_adapters_and_their_states_are_fp32_and_all_move(tmp_path):
    recipe = tiny_version("grpo-math-lora.yaml", tmp_path)
    # LoRA's B starts at zero, so A first moves on the second step
    share, weights, states = changed_share(trainer_for(recipe), steps=2)
    assert set(weights) == {torch.float32} and set(states) == {torch.float32}
    assert share > 0.99, f"only {share:.1%} of the adapter weights changed"


@pytest.mark.parametrize("lr", [1e-6, 1e-5])
def test_control_bf16_weights_under_adamw_lose_most_updates(tmp_path, lr):
    """What the plan refuses (bf16 weights, no master copy): most of one step's updates round away."""
    recipe = tiny_version("grpo-math.yaml", tmp_path)
    trainer = trainer_for(recipe)
    trainer.model.to(torch.bfloat16)
    trainer.args.learning_rate = lr
    share, weights, _ = changed_share(trainer, steps=1)
    assert set(weights) == {torch.bfloat16}
    assert share < 0.5, f"{share:.1%} changed"
