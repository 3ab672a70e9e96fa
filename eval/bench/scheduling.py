"""How evaluation feeds the engine: every task at once against one task at a time, against the ideal, and
reasonlift's engine path against vLLM's own `LLM.generate` on the same prompts.

Random weights decode to whatever limit a request is given, so a realistic length distribution is a
distribution of per-request limits: R1-Distill answers are mostly a few thousand tokens with a tail that
runs to the limit. Limits are drawn log-normally (median LENGTH_MEDIAN of max_new_tokens, spread
LENGTH_SIGMA) and clipped at max_new_tokens, so about one sample in twelve is cut off at the limit, as with
R1-Distill-Qwen-1.5B at 32k tokens on AIME. With one task at a time, each task's tail runs at a low batch
size before the next task starts; all at once, other tasks' samples fill those slots.

- ideal: the total tokens over the engine's peak throughput, measured in the same run on a full batch of
  equal-length requests.
- engine path: the same requests through reasonlift's VllmEngine (one request per sample, each saved to a
  GenerationStore as it finishes) and through `vllm.LLM.generate` with n samples per prompt, on one engine
  (the VllmEngine drives the LLM's own), alternating over several passes after a warm run of each: measured
  minutes apart on two engines, the ratio read 67-90% on a shared machine where alternating read 88-104%.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
import zlib
from dataclasses import replace
from pathlib import Path

from eval.engines.base import Request
from eval.engines.vllm_engine import engine_kwargs
from eval.stores.generations import GenerationStore
from recipes.architectures import architecture_dir
from recipes.schema import Recipe

LENGTH_MEDIAN = 0.3  # of max_new_tokens
LENGTH_SIGMA = 0.8


def long_tailed_limits(count: int, max_new_tokens: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [
        max(
            8,
            min(max_new_tokens, round(max_new_tokens * LENGTH_MEDIAN * math.exp(rng.gauss(0, LENGTH_SIGMA)))),
        )
        for _ in range(count)
    ]


def _task_requests(recipe: Recipe, settings, vocab_size: int) -> dict[str, list[Request]]:
    """Per task: its problems (capped) x n samples, each sample its own request with a drawn limit."""
    from eval.settings import resolve_tasks

    out = {}
    for run in resolve_tasks(recipe.eval):
        problems = min(run.info.size, settings.max_problems or run.info.size)
        rng = random.Random(f"prompts:{run.name}")
        n = run.sampling.n
        limits = long_tailed_limits(problems * n, settings.max_new_tokens, seed=zlib.crc32(run.name.encode()))
        requests = []
        for p in range(problems):
            ids = [rng.randrange(vocab_size) for _ in range(settings.prompt_tokens)]
            for i in range(n):
                sampling = replace(run.sampling, n=n, max_new_tokens=limits[p * n + i])
                requests.append(Request(ids, p, sampling, (i,)))
        out[run.name] = requests
    return out


def _timed(engine, requests: list[Request]) -> tuple[float, int]:
    """Wall time and tokens of one run, starting from an empty prefix cache (no run helps the next)."""
    engine.engine.reset_prefix_cache()
    start = time.perf_counter()
    tokens = sum(sample.tokens for _, _, sample in engine.generate(requests))
    return time.perf_counter() - start, tokens


PASSES = 3  # each of the two engine paths, alternating


def bench_scheduling(recipe: Recipe, settings) -> dict:
    from transformers import AutoConfig
    from vllm import LLM

    from eval.engines.vllm_engine import VllmEngine, cpu_kv_cache_default

    model_path = str(architecture_dir(recipe.model.name_or_path, recipe.model.revision))
    vocab_size = AutoConfig.from_pretrained(model_path).vocab_size
    tasks = _task_requests(recipe, settings, vocab_size)
    everything = [r for requests in tasks.values() for r in requests]
    total_tokens = sum(r.sampling.max_new_tokens for r in everything)
    # one engine for everything: vLLM's own LLM, driven both by LLM.generate and by reasonlift's engine path
    cpu_kv_cache_default()
    llm = LLM(**engine_kwargs(model_path, recipe.eval.vllm, recipe.eval.generation.seed, random_weights=True))
    engine = VllmEngine.around(
        llm.llm_engine, recipe.eval.vllm, recipe.eval.generation.seed, random_weights=True
    )
    try:
        # one-time costs (compilation, allocation) out of the timings; then the peak: a full batch of
        # equal-length requests
        _timed(engine, everything[:4])
        batch = min(len(everything), engine.max_num_seqs)
        length = max(r.sampling.max_new_tokens for r in everything) // 2
        flat = [replace(r, sampling=replace(r.sampling, max_new_tokens=length)) for r in everything[:batch]]
        peak_s, peak_tokens = _timed(engine, flat)
        peak = peak_tokens / peak_s
        one_by_one = 0.0
        for requests in tasks.values():
            one_by_one += _timed(engine, requests)[0]
        all_at_once, generated = _timed(engine, everything)
        if generated != total_tokens:  # random weights decode to each limit exactly
            raise RuntimeError(f"generated {generated} tokens, the limits add up to {total_tokens}")
        paths = _paths_alternating(llm, engine, everything)
    finally:
        del engine, llm
    ideal = total_tokens / peak
    ours, theirs = paths["engine_path_s"], paths["llm_generate_s"]
    return {
        "tasks": {name: len(r) for name, r in tasks.items()},
        "samples": len(everything),
        "total_tokens": total_tokens,
        "limits": {
            "median_share": LENGTH_MEDIAN,
            "sigma": LENGTH_SIGMA,
            "max_new_tokens": settings.max_new_tokens,
        },
        "truncated_share": sum(r.sampling.max_new_tokens == settings.max_new_tokens for r in everything)
        / len(everything),
        "peak_tokens_per_s": peak,
        "ideal_s": ideal,
        "one_task_at_a_time_s": one_by_one,
        "all_at_once_s": all_at_once,
        "ideal_over_one_task_at_a_time": ideal / one_by_one,
        "ideal_over_all_at_once": ideal / all_at_once,
        **paths,
        "engine_path_tokens_per_s": paths["engine_path_tokens"] / ours,
        "llm_generate_tokens_per_s": paths["engine_path_tokens"] / theirs,
        "engine_path_over_llm_generate": theirs / ours,
    }


def _paths_alternating(llm, engine, requests: list[Request], passes: int = PASSES) -> dict:
    """reasonlift's engine path and vLLM's LLM.generate on the same engine, the same prompts and limits,
    alternating (which goes first swaps every pass), each from an empty prefix cache, after one warm run of
    each: the medians, and each pass's ratio (their spread is the measurement's noise)."""
    grouped = _one_request_per_prompt(requests)
    _engine_path(engine, grouped[:2])
    _llm_generate(llm, grouped[:2])
    ours, theirs, tokens = [], [], 0
    for number in range(passes):
        order = ("ours", "theirs") if number % 2 == 0 else ("theirs", "ours")
        for path in order:
            llm.llm_engine.reset_prefix_cache()
            if path == "ours":
                seconds, tokens = _engine_path(engine, grouped)
                ours.append(seconds)
            else:
                theirs.append(_llm_generate(llm, grouped))
    ratios = [t / o for o, t in zip(ours, theirs, strict=True)]
    return {
        "engine_path_tokens": tokens,
        "engine_path_s": sorted(ours)[len(ours) // 2],
        "llm_generate_s": sorted(theirs)[len(theirs) // 2],
        "passes": passes,
        "engine_path_over_llm_generate_per_pass": [round(r, 4) for r in ratios],
        "engine_path_over_llm_generate_spread": [round(min(ratios), 4), round(max(ratios), 4)],
    }


def _engine_path(engine, grouped: list[Request]) -> tuple[float, int]:
    """reasonlift's path: the engine's per-sample requests, each sample written to a store as it finishes."""
    with tempfile.TemporaryDirectory() as root:
        store = GenerationStore("0" * 64, grouped[0].sampling, root=Path(root))
        start, tokens = time.perf_counter(), 0
        for number, index, sample in engine.generate(grouped):
            store.put_sample(str(number), index, sample, problem_id=str(number))
            tokens += sample.tokens
        store.sync()
        return time.perf_counter() - start, tokens


def _one_request_per_prompt(requests: list[Request]) -> list[Request]:
    """One request per prompt with all its samples at one limit (the median of its samples' limits), the
    shape both paths of the engine-path comparison can run."""
    prompts: dict[tuple, list[Request]] = {}
    for r in requests:
        prompts.setdefault((tuple(r.prompt_ids), r.seed), []).append(r)
    out = []
    for group in prompts.values():
        limit = sorted(r.sampling.max_new_tokens for r in group)[len(group) // 2]
        out.append(
            Request(group[0].prompt_ids, group[0].seed, replace(group[0].sampling, max_new_tokens=limit))
        )
    return out


def _llm_generate(llm, grouped: list[Request]) -> float:
    """vLLM's offline API: n samples per prompt, the same limits."""
    from vllm import SamplingParams, TokensPrompt

    prompts = [TokensPrompt(prompt_token_ids=r.prompt_ids) for r in grouped]
    params = [
        SamplingParams(
            n=r.sampling.n,
            temperature=r.sampling.temperature,
            top_p=r.sampling.top_p,
            max_tokens=r.sampling.max_new_tokens,
            ignore_eos=True,
            detokenize=False,
        )
        for r in grouped
    ]
    start = time.perf_counter()
    llm.generate(prompts, params, use_tqdm=False)
    return time.perf_counter() - start
