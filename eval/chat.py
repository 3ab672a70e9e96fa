"""`make chat`: one prompt through the same chat template and engine as the evaluation."""

from __future__ import annotations

from eval.engines.base import choose_backend, make_engine, prompt_seed
from eval.models import load_tokenizer, prompt_ids, render_prompt, resolve_model
from eval.stores.generations import SamplingSettings
from recipes.protocol.markup import answer_region
from recipes.schema import EvalSpec


def chat(
    model: str, prompt: str, spec: EvalSpec, chat_template: str = "model", max_new_tokens: int | None = None
) -> str:
    ref = resolve_model(model)
    tokenizer = load_tokenizer(ref.path, chat_template)
    rendered = render_prompt(tokenizer, prompt)
    sampling = SamplingSettings(
        n=1,
        temperature=spec.generation.temperature,
        top_p=spec.generation.top_p,
        max_new_tokens=max_new_tokens or spec.generation.max_new_tokens,
        seed=spec.generation.seed,
    )
    engine = make_engine(choose_backend(spec.backend), ref.path, spec, data_parallel=False)
    try:
        seed = prompt_seed(sampling.seed, rendered)
        ((_, (sample,)),) = list(engine.generate([prompt_ids(tokenizer, rendered)], [seed], sampling))
    finally:
        engine.close()
    print(f"--- prompt (as the model sees it) ---\n{rendered}")
    print(f"--- response ({sample.tokens} tokens, finish: {sample.finish_reason}) ---\n{sample.text}")
    print(f"--- graded part ---\n{answer_region(sample.text).strip()}")
    return sample.text
