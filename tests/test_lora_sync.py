"""TRL syncs LoRA weights to vLLM by merging the adapters into the base and unmerging them again, before
every generation. In bf16 that drifts the frozen base; reasonlift keeps it bit-exact (train/lora.py)."""

from __future__ import annotations

import torch

from recipes.builtins.tiny_model import tiny_model_path


def _lora_model():
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_path(), dtype=torch.bfloat16)
    model = get_peft_model(
        base, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM")
    )
    with torch.no_grad():  # a trained adapter: B is no longer zero
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.02)
    return model


def _base_weights(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}


def _sync_cycles(model, cycles: int) -> None:
    for _ in range(cycles):  # what TRL's VLLMGeneration._iter_named_params does around each weight push
        model.merge_adapter()
        model.unmerge_adapter()


def test_without_the_fix_the_bf16_base_drifts():
    model = _lora_model()
    before = _base_weights(model)
    _sync_cycles(model, 20)
    changed = sum(int((before[n] != p).sum()) for n, p in model.named_parameters() if n in before)
    assert changed > 0.1 * sum(t.numel() for t in before.values() if t.dim() == 2)


def test_with_the_fix_the_base_is_bit_identical_after_many_syncs_and_merging_still_works():
    from train.lora import keep_base_exact

    model = _lora_model()
    keep_base_exact(model)
    before = _base_weights(model)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        adapted = model(ids).logits
    _sync_cycles(model, 200)
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters() if n in before)
    # while merged, the weights are the merged ones (what vLLM receives)
    model.merge_adapter()
    layer = next(m for n, m in model.named_modules() if n.endswith("q_proj") and hasattr(m, "base_layer"))
    assert not torch.equal(
        layer.base_layer.weight, before[next(n for n in before if n.endswith("q_proj.base_layer.weight"))]
    )
    model.unmerge_adapter()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, adapted)
