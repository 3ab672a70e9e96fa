"""Supervised fine-tuning with TRL's SFTTrainer, driven by a resolved training run."""

from __future__ import annotations

import time

from train import common
from train.data import sft_rows
from train.run import TrainRun


def run_sft(run: TrainRun, resume: bool = False) -> dict | None:
    from trl import SFTConfig, SFTTrainer

    recipe = run.recipe
    assert recipe.train is not None
    started = time.time()
    checkpoint = common.prepare_output_dir(recipe, resume)
    tokenizer = common.load_tokenizer(run)
    config = run.trl_config(SFTConfig, run_name=recipe.name)
    dataset = sft_rows(recipe.train.dataset, tokenizer, config)
    trainer = SFTTrainer(
        model=common.load_model(run),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=common.lora_config(recipe),
    )
    return common.train_and_save(
        recipe, trainer, tokenizer, checkpoint, started, {"train_examples": len(dataset)}
    )
