"""`make chat`: one prompt through the same chat template and engine as the evaluation."""

from __future__ import annotations

from eval.engines import TransformersEngine, VllmEngine, choose_backend, prompt_seed
from eval.generation_store import SamplingSettings
from eval.model_ref import resolve_model
from eval.runner import load_eval_tokenizer
from recipes.protocol.grader import answer_region
from recipes.schema import EvalSpec


def chat(
    model: str, prompt: str, spec: EvalSpec, chat_template: str = "model", max_new_tokens: int | None = None
) -> str:
    ref = resolve_model(model)
    tokenizer = load_eval_tokenizer(ref.path, chat_template)
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    sampling = SamplingSettings(
        n=1,
        temperature=spec.generation.temperature,
        top_p=spec.generation.top_p,
        max_new_tokens=max_new_tokens or spec.generation.max_new_tokens,
        seed=spec.generation.seed,
    )
    backend = choose_backend(spec.backend)
    engine = (
        VllmEngine(ref.path, spec.vllm, sampling.max_new_tokens, seed=sampling.seed)
        if backend == "vllm"
        else TransformersEngine(ref.path, dtype=spec.vllm.dtype)
    )
    try:
        ids = tokenizer(rendered, add_special_tokens=False).input_ids
        ((_, (sample,)),) = list(engine.generate([ids], [prompt_seed(sampling.seed, rendered)], sampling))
    finally:
        engine.close()
    print(f"--- prompt (as the model sees it) ---\n{rendered}")
    print(f"--- response ({sample.tokens} tokens, finish: {sample.finish_reason}) ---\n{sample.text}")
    print(f"--- graded part ---\n{answer_region(sample.text).strip()}")
    return sample.text
