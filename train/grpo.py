"""GRPO with TRL's GRPOTrainer, driven by the same recipe format and launcher as SFT."""

from __future__ import annotations

import time

from recipes.protocol.rewards import recipe_rewards
from recipes.schema import Recipe
from train import common
from train.data import load_prompt_dataset
from train.lora import keep_base_exact


def zero3(recipe: Recipe) -> bool:
    assert recipe.train is not None
    return common.launch_config(recipe).zero_stage == 3


def run_grpo(recipe: Recipe, resume: bool = False) -> dict | None:
    from trl import GRPOConfig, GRPOTrainer

    assert recipe.train is not None and recipe.train.rewards is not None
    started = time.time()
    checkpoint = common.prepare_output_dir(recipe, resume)
    tokenizer = common.load_tokenizer(recipe)
    dataset = load_prompt_dataset(recipe.train.dataset)
    reward_funcs, reward_weights = recipe_rewards(recipe.train.rewards)
    config = common.build_trl_config(recipe, GRPOConfig, run_name=recipe.name, reward_weights=reward_weights)
    trainer = GRPOTrainer(
        model=common.load_model(recipe),
        reward_funcs=reward_funcs,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=common.lora_config(recipe),
    )
    if recipe.train.lora is not None and not zero3(recipe):
        # TRL's merge/unmerge for vLLM would make the bf16 base drift (under ZeRO-3 the merge is made on
        # gathered copies that are discarded, so there is nothing to restore)
        keep_base_exact(trainer.model)
    rewards = {f.__name__: w for f, w in zip(reward_funcs, reward_weights, strict=True)}
    return common.train_and_save(
        recipe, trainer, tokenizer, checkpoint, started, {"train_prompts": len(dataset), "rewards": rewards}
    )
