"""What every generation engine is, and the one place an engine is chosen and built.

An engine takes requests (a prompt as token ids, its sampling settings, and which of its n samples to
generate) from any number of tasks at once and yields each sample as soon as it is finished, so the caller
can save it at once. Caching, resumption and lighteval plumbing live in `eval.harness.adapter`; engines only
generate. Each sample gets its own seed (derived from the run seed, the prompt and the sample's index), so
with vLLM on a GPU a resumed run that generates only the missing samples samples what an uninterrupted one
would have (vLLM's CPU build takes no per-request seeds, and transformers seeds a prompt's batch once).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from eval.stores.fingerprint import text_fingerprint
from eval.stores.generations import Sample, SamplingSettings
from recipes.errors import UserError
from recipes.gpus import vllm_available


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
