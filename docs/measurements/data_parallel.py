"""Which data parallelism the evaluation should use, measured: reasonlift's hand-built one (one vLLM engine per
process, eval/engines/data_parallel.py) against vLLM's own (`vllm serve --data-parallel-size N`, behind the
endpoint engine), each beside one in-process engine and `vllm.LLM.generate`. Same model, prompts, sampling.

    PYTHONPATH=. .venv/bin/python docs/measurements/data_parallel.py [RECIPE] [--set KEY=VALUE ...]

Prints one JSON line per path: samples, generated tokens, seconds, tokens/s.
"""

from __future__ import annotations

import json
import sys
import time


def measure(label: str, engine, requests) -> dict:
    start, tokens, samples = time.perf_counter(), 0, 0
    for _, _, sample in engine.generate(requests):
        tokens += sample.tokens
        samples += 1
    seconds = time.perf_counter() - start
    row = {
        "path": label,
        "samples": samples,
        "tokens": tokens,
        "s": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds, 1),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    from eval.engines.base import Request, prompt_seed
    from eval.engines.registry import make_engine
    from eval.harness.pipeline import task_prompts
    from eval.models import load_tokenizer, resolve_model, token_counter
    from eval.serving.server import running_server, server_for
    from eval.settings import resolve_tasks
    from recipes import load_recipe
    from recipes.protocol.markup import think_close_id

    args = sys.argv[1:]
    path = args[0] if args and not args[0].startswith("--") else "recipes/smoke/sft.yaml"
    overrides = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    recipe = load_recipe(path, overrides=overrides)
    dp = recipe.eval.vllm.data_parallel_size
    ref = resolve_model(recipe.model.name_or_path, recipe.model.revision)
    tokenizer = load_tokenizer(ref.path, recipe.model.chat_template)
    (run,) = resolve_tasks(recipe.eval)[:1]
    prompts = task_prompts(run, tokenizer, recipe.eval.max_problems)
    requests = [
        Request(
            tokenizer(p, add_special_tokens=False)["input_ids"],
            prompt_seed(recipe.eval.generation.seed, p),
            run.sampling,
        )
        for p in prompts
    ]
    warm = requests[:2]
    rows = []
    one = make_engine("vllm", ref.path, recipe.eval, data_parallel=False)
    try:
        measure("warm", one, warm)
        rows.append(measure("one in-process engine (VllmEngine)", one, requests))
    finally:
        one.close()
    ours = make_engine("vllm", ref.path, recipe.eval)
    try:
        measure("warm", ours, warm)
        rows.append(measure(f"hand-built data parallel x{dp} (DataParallelVllmEngine)", ours, requests))
    finally:
        ours.close()
    command, url, _ = server_for(recipe, None, "127.0.0.1", 18731)
    with running_server(command, url):
        served = resolve_model(url, tokenizer_from=ref.path, endpoint_spec=recipe.eval.endpoint)
        theirs = make_engine(
            "endpoint",
            ref.path,
            recipe.eval,
            endpoint=served.endpoint,
            count_tokens=token_counter(tokenizer),
            close_id=think_close_id(tokenizer),
        )
        measure("warm", theirs, warm)
        rows.append(measure(f"vllm serve --data-parallel-size {dp} (EndpointEngine)", theirs, requests))
        theirs.close()
    base = rows[1]["tokens_per_s"]
    print(json.dumps({"vllm_serve_over_hand_built": round(rows[2]["tokens_per_s"] / base, 3)}))


if __name__ == "__main__":
    main()
