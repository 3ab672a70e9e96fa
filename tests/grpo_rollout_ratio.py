"""TRL's importance-sampling ratio for vLLM rollouts, measured with the real libraries on the tiny model.

TRL 1.16 asks vLLM for *processed* logprobs (`logprobs_mode="processed_logprobs"`: after temperature, top-k,
top-p and min-p) and recomputes the same tokens' logprobs in its trainer over the whole vocabulary (its fused
LM head divides by the temperature, nothing truncates). Its default correction (`sequence_mask`) multiplies a
completion's loss by exp(sum over tokens of trainer - vLLM). Under top-p < 1 each token's difference is the log of
the probability mass top-p kept, so the ratio shrinks with the length of the completion (TRL #6789).

This script samples completions with vLLM exactly as TRL's colocated generation configures it, recomputes
their logprobs with a real `GRPOTrainer` (`_get_per_token_logps_and_entropies`, the call TRL makes before the
correction), and writes, per completion, the sequence ratio TRL would apply and each token's difference beside
the log of the kept nucleus mass computed from the trainer's own distribution.

    python tests/grpo_rollout_ratio.py OUT.json '[{"temperature": 0.6, "top_p": 0.95}, ...]' [max_tokens]

One vLLM engine serves every sampling setting given; OUT.json holds one entry per setting, in order.
"""

from __future__ import annotations

import json
import math
import os
import sys


def nucleus_log_mass(logits, temperature: float, top_p: float, top_k: int, min_p: float):
    """log of the probability mass the sampler keeps at each position (0 when nothing is cut)."""
    import torch

    probs = torch.softmax(logits.float() / temperature, dim=-1)
    keep = torch.ones_like(probs, dtype=torch.bool)
    if top_k and top_k > 0:
        kth = probs.topk(min(top_k, probs.size(-1)), dim=-1).values[..., -1:]
        keep &= probs >= kth
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass of the tokens ranked above each one
        kept_sorted = before < top_p
        keep &= torch.zeros_like(keep).scatter(-1, order, kept_sorted)
    if min_p and min_p > 0:
        keep &= probs >= min_p * probs.max(dim=-1, keepdim=True).values
    return torch.log((probs * keep).sum(dim=-1))


def _sampling(setting: dict) -> tuple[float, float, int, float]:
    return (
        float(setting.get("temperature", 1.0)),
        float(setting.get("top_p", 1.0)),
        int(setting.get("top_k") or 0),
        float(setting.get("min_p") or 0.0),
    )


def _trainer(model: str, tokenizer, problems: list[str], temperature: float, max_tokens: int, workdir: str):
    """A real GRPOTrainer on the tiny model: its fused LM head scores completions at `temperature`."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(
        output_dir=workdir,
        use_cpu=True,
        bf16=False,
        temperature=temperature,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=max_tokens,
        report_to=[],
    )
    return GRPOTrainer(
        model=model,
        reward_funcs=[lambda completions, **_: [0.0] * len(completions)],
        args=args,
        train_dataset=Dataset.from_list([{"prompt": p} for p in problems]),
        processing_class=tokenizer,
    )


def main(out: str, settings: list[dict], max_tokens: int) -> None:
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    import torch
    from transformers import AutoTokenizer
    from vllm import LLM, SamplingParams, TokensPrompt

    from recipes.builtins.tiny_model import tiny_model_path
    from recipes.builtins.toy_data import eval_rows

    model = str(tiny_model_path())
    tokenizer = AutoTokenizer.from_pretrained(model)
    problems = [row["problem"] for row in eval_rows()[:4]]
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=True, return_dict=False
        )
        for p in problems
    ]

    # as TRL's colocated generation builds its engine and sampling parameters (trl/generation/vllm_generation.py)
    llm = LLM(
        model=model,
        dtype="float32",
        max_model_len=512,
        max_num_batched_tokens=4096,
        logprobs_mode="processed_logprobs",
        seed=0,
    )
    generated = []
    for setting in settings:
        temperature, top_p, top_k, min_p = _sampling(setting)
        params = SamplingParams(
            n=2,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            min_p=min_p,
            max_tokens=max_tokens,
            logprobs=0,
            ignore_eos=True,  # long completions: the effect grows with length
        )
        prompts_in = [TokensPrompt(prompt_token_ids=p) for p in prompts]
        generated.append(llm.generate(prompts_in, params, use_tqdm=False))
    del llm

    trainers: dict[float, object] = {}
    results = []
    for setting, outputs in zip(settings, generated, strict=True):
        temperature, top_p, top_k, min_p = _sampling(setting)
        if temperature not in trainers:
            workdir = os.path.join(os.path.dirname(os.path.abspath(out)), f"trainer-{temperature}")
            trainers[temperature] = _trainer(model, tokenizer, problems, temperature, max_tokens, workdir)
        trainer = trainers[temperature]
        rows = []
        for prompt, output in zip(prompts, outputs, strict=True):
            for completion in output.outputs:
                ids = list(completion.token_ids)
                sampled = [next(iter(lp.values())).logprob for lp in completion.logprobs]
                input_ids = torch.tensor([prompt + ids])
                mask = torch.ones_like(input_ids)
                with torch.no_grad():
                    trainer_logps, _, _ = trainer._get_per_token_logps_and_entropies(
                        trainer.model, input_ids, mask, len(ids)
                    )
                    logits = trainer.model(input_ids=input_ids).logits[0, len(prompt) - 1 : -1]
                diff = (trainer_logps[0] - torch.tensor(sampled)).tolist()
                log_mass = nucleus_log_mass(logits, temperature, top_p, top_k, min_p).tolist()
                rows.append(
                    {
                        "tokens": len(ids),
                        "sequence_log_ratio": sum(diff),
                        "sequence_ratio": math.exp(sum(diff)),
                        "max_token_gap_to_log_mass": max(
                            abs(d - m) for d, m in zip(diff, log_mass, strict=True)
                        ),
                        "mean_token_diff": sum(diff) / len(diff),
                    }
                )
        results.append({"sampling": setting, "completions": rows})
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 256)
