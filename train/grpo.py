"""GRPO with TRL's GRPOTrainer, driven by the same resolved training run and launcher as SFT."""

from __future__ import annotations

import time

from recipes.protocol.rewards import recipe_rewards
from train import common
from train.data import load_prompt_dataset
from train.lora import keep_base_exact
from train.run import TrainRun


def run_grpo(run: TrainRun, resume: bool = False) -> dict | None:
    from trl import GRPOConfig, GRPOTrainer

    recipe = run.recipe
    assert recipe.train is not None and recipe.train.rewards is not None
    started = time.time()
    checkpoint = common.prepare_output_dir(recipe, resume)
    tokenizer = common.load_tokenizer(run)
    dataset = load_prompt_dataset(recipe.train.dataset)
    reward_funcs, reward_weights = recipe_rewards(recipe.train.rewards)
    config = run.trl_config(GRPOConfig, run_name=recipe.name, reward_weights=reward_weights)
    trainer = GRPOTrainer(
        model=common.load_model(run),
        reward_funcs=reward_funcs,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=common.lora_config(recipe),
    )
    if recipe.train.lora is not None and run.launch.zero_stage != 3:
        # TRL's merge/unmerge for vLLM would make the bf16 base drift (under ZeRO-3 the merge is made on
        # gathered copies that are discarded, so there is nothing to restore)
        keep_base_exact(trainer.model)
    rewards = {f.__name__: w for f, w in zip(reward_funcs, reward_weights, strict=True)}
    return common.train_and_save(
        recipe, trainer, tokenizer, checkpoint, started, {"train_prompts": len(dataset), "rewards": rewards}
    )
