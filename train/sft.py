"""Supervised fine-tuning with TRL's SFTTrainer, driven by a recipe."""

from __future__ import annotations

import time

from recipes.schema import Recipe
from train import common
from train.data import sft_rows


def run_sft(recipe: Recipe, resume: bool = False) -> dict | None:
    from trl import SFTConfig, SFTTrainer

    assert recipe.train is not None
    started = time.time()
    checkpoint = common.prepare_output_dir(recipe, resume)
    tokenizer = common.load_tokenizer(recipe)
    config = common.build_trl_config(recipe, SFTConfig, run_name=recipe.name)
    dataset = sft_rows(recipe.train.dataset, tokenizer, config)
    trainer = SFTTrainer(
        model=common.load_model(recipe),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=common.lora_config(recipe),
    )
    return common.train_and_save(
        recipe, trainer, tokenizer, checkpoint, started, {"train_examples": len(dataset)}
    )
