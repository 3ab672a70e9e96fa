"""What every generation engine is, and the one place an engine is chosen and built.

An engine takes requests (a prompt as token ids, its sampling settings, and which of its n samples to
generate) from any number of tasks at once and yields each sample as soon as it is finished, so the caller
can save it at once. Caching, resumption and lighteval plumbing live in `eval.harness.adapter`; engines only
generate. Each sample gets its own seed (derived from the run seed, the prompt and the sample's index), so
with vLLM on a GPU a resumed run that generates only the missing samples samples what an uninterrupted one
would have (vLLM's CPU build takes no per-request seeds, and transformers seeds a prompt's batch once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from eval.endpoint import Endpoint
from eval.stores.fingerprint import text_fingerprint
from eval.stores.generations import Sample, SamplingSettings
from recipes.errors import UserError
from recipes.gpus import vllm_available
from recipes.schema import EvalSpec


def prompt_seed(run_seed: int, rendered_prompt: str) -> int:
    return int(text_fingerprint(run_seed, rendered_prompt)[:8], 16)


def sample_seed(prompt_seed: int, index: int) -> int:
    """The seed of a prompt's `index`-th sample."""
    return int(text_fingerprint(prompt_seed, index)[:8], 16)


@dataclass(frozen=True)
class Request:
    """Some of one prompt's samples: `samples` are their indices among the prompt's `sampling.n` (all of them
    unless given), each generated with `sample_seed(seed, index)`."""

    prompt_ids: list[int]
    seed: int
    sampling: SamplingSettings
    samples: tuple[int, ...] | None = None

    @property
    def indices(self) -> tuple[int, ...]:
        return self.samples if self.samples is not None else tuple(range(self.sampling.n))


class Engine(Protocol):
    name: str

    def generate(self, requests: list[Request]) -> Iterator[tuple[int, int, Sample]]:
        """(request index, sample index, sample) for every sample asked for, in the order they finish."""
        ...

    def close(self) -> None: ...


def per_prompt(
    engine: Engine, prompt_ids: list[list[int]], seeds: list[int], sampling: SamplingSettings
) -> Iterator[tuple[int, list[Sample]]]:
    """All n samples of each prompt, yielded as each prompt completes (a bench, a test, a single task)."""
    requests = [Request(ids, seed, sampling) for ids, seed in zip(prompt_ids, seeds, strict=True)]
    done: dict[int, dict[int, Sample]] = {}
    for request, index, sample in engine.generate(requests):
        samples = done.setdefault(request, {})
        samples[index] = sample
        if len(samples) == sampling.n:
            yield request, [samples[i] for i in range(sampling.n)]


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


def make_engine(
    backend: str,
    model_path: str,
    spec: EvalSpec,
    random_weights: bool = False,
    prefix_caching: bool | None = None,
    data_parallel: bool = True,
    endpoint: Endpoint | None = None,
    count_tokens: Callable[[str], int] | None = None,
    close_id: int | None = None,
) -> Engine:
    """The engine `backend` ("vllm" or "transformers", see choose_backend) for a model folder, with the
    evaluation's vLLM settings; `prefix_caching` overrides the recipe's (the bench sets both ways), and
    `data_parallel=False` builds one engine whatever eval.vllm.data_parallel_size says (one prompt, a bench).
    With an `endpoint` the model is served elsewhere (`count_tokens` counts an answer's tokens when the
    server does not say)."""
    if endpoint is not None:
        from eval.engines.endpoint_engine import EndpointEngine

        if count_tokens is None:
            raise ValueError("an endpoint engine needs count_tokens")
        return EndpointEngine(endpoint, spec.endpoint, count_tokens, close_id=close_id)
    if backend == "vllm":
        vllm = spec.vllm
        if prefix_caching is not None:
            vllm = vllm.model_copy(update={"enable_prefix_caching": prefix_caching})
        if vllm.data_parallel_size > 1 and data_parallel and not random_weights:
            from eval.engines.data_parallel import DataParallelVllmEngine

            return DataParallelVllmEngine(model_path, vllm, seed=spec.generation.seed)
        from eval.engines.vllm_engine import VllmEngine

        return VllmEngine(model_path, vllm, seed=spec.generation.seed, random_weights=random_weights)
    from eval.engines.transformers_engine import TransformersEngine

    return TransformersEngine(model_path, dtype=spec.vllm.dtype, random_weights=random_weights)
