"""One SFT optimizer step under DeepSpeed, with the accumulated gradient checked against an fp32 reference.

Started by `tests/test_deepspeed.py` with `train.cli`'s own launch command (the recipe's accelerate config,
its DeepSpeed file, DeepSpeed's CPU accelerator), so the DeepSpeed config is the one `make train` uses, as
accelerate and the trainer fill it in. The trainer's real `train()` runs; this script only watches:

- every micro-batch the engine receives also goes through a bf16 copy of the starting weights, whose
  gradients are summed in fp32 (the reference: the same bf16 micro-gradients, added without rounding);
- at the accumulation boundary, just before DeepSpeed's optimizer step, the gradient DeepSpeed hands its
  optimizer (`safe_get_full_grad`) is compared with the reference averaged over the processes;
- the fp32 master weights (`safe_get_full_fp32_param`) before and after that step show the update.

Rank 0 writes a JSON report: relative error (after the best common scale, since the trainer and DeepSpeed
scale the loss by the accumulation steps and the token count), that scale, and the weights changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch


def main(run_path: str, report_path: str) -> None:
    import deepspeed
    import torch.distributed as dist
    from deepspeed.utils import safe_get_full_fp32_param, safe_get_full_grad
    from trl import SFTConfig, SFTTrainer

    from train import common
    from train.data import sft_rows
    from train.run import TrainRun

    run = TrainRun.read(Path(run_path))  # the run the launcher resolved, as train.worker reads it
    recipe = run.recipe
    assert recipe.train is not None
    tokenizer = common.load_tokenizer(run)
    config = run.trl_config(SFTConfig, run_name=recipe.name)
    dataset = sft_rows(recipe.train.dataset, tokenizer, config)
    trainer = SFTTrainer(
        model=common.load_model(run), args=config, train_dataset=dataset, processing_class=tokenizer
    )
    report: dict = {"micro_batches": 0}
    sums: dict[str, torch.Tensor] = {}
    engine_class = deepspeed.runtime.engine.DeepSpeedEngine
    forward, step = engine_class.forward, engine_class.step

    def keep(name: str):
        def hook(grad: torch.Tensor) -> None:  # this micro-batch's gradient, before anyone accumulates it
            sums[name] = sums[name] + grad.float() if name in sums else grad.float()

        return hook

    def watched_forward(engine, *args, **kwargs):
        if report["micro_batches"] == 0:
            for name, p in engine.module.named_parameters():
                p.register_hook(keep(name))
        report["micro_batches"] += 1
        return forward(engine, *args, **kwargs)

    def watched_step(engine, *args, **kwargs):
        if not engine.is_gradient_accumulation_boundary() or "relative_error" in report:
            return step(engine, *args, **kwargs)
        named = list(engine.module.named_parameters())
        got = torch.cat([safe_get_full_grad(p).float().flatten() for _, p in named])
        for name, _ in named:
            dist.all_reduce(sums[name])
        want = torch.cat([sums[name].flatten() / dist.get_world_size() for name, _ in named])
        before = [safe_get_full_fp32_param(p).clone() for _, p in named]
        result = step(engine, *args, **kwargs)
        after = [safe_get_full_fp32_param(p) for _, p in named]
        scale = float(got @ want / (want @ want))
        report.update(
            relative_error=float((got - want).norm() / want.norm()),
            scale=scale,
            micro_gradient_dtype=str(next(iter(engine.module.parameters())).dtype),
            accumulation_steps=engine.gradient_accumulation_steps(),
            world_size=dist.get_world_size(),
            zero_stage=engine.zero_optimization_stage(),
            bf16=engine.bfloat16_enabled(),
            grad_accum_dtype=str(engine.get_data_types()[1]),
            communication_data_type=str(engine.communication_data_type),
            learning_rate=trainer.args.learning_rate,
            tensors=len(named),
            tensors_changed=sum(not torch.equal(a, b) for a, b in zip(before, after, strict=True)),
            max_weight_change=max(float((a - b).abs().max()) for a, b in zip(before, after, strict=True)),
        )
        return result

    engine_class.forward, engine_class.step = watched_forward, watched_step
    trainer.train()
    if dist.get_rank() == 0:
        Path(report_path).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
