"""What every generation engine is, and the one place an engine is chosen and built.

An engine takes requests (a prompt as token ids, its sampling settings, and which of its n samples to
generate) from any number of tasks at once and yields each sample as soon as it is finished, so the caller
can save it at once. Caching, resumption and lighteval plumbing live in `eval.harness.adapter`; engines only
generate. Each sample gets its own seed (derived from the run seed, the prompt and the sample's index), so
with vLLM on a GPU a resumed run that generates only the missing samples samples what an uninterrupted one
would have (vLLM's CPU build takes no per-request seeds, and transformers seeds a prompt's batch once).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from eval.stores.fingerprint import text_fingerprint
from eval.stores.generations import Sample, SamplingSettings
from recipes.errors import UserError
from recipes.gpus import vllm_available
from recipes.locks import release_all
from recipes.log import info


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
        info("notice: vLLM is not installed: generating with transformers (slower; fine for small models)")
        return "transformers"
    return requested


def stop_descendants(grace_s: float = 3.0) -> None:
    """Terminate every process this one started (vLLM's engine core and workers), killing what outlives
    `grace_s`."""
    import psutil

    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_s)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


@contextlib.contextmanager
def interruptible_start(grace_s: float = 5.0) -> Iterator[None]:
    """Starting an engine: a Ctrl-C (or SIGTERM, or SIGHUP when the terminal closes) ends this process.

    vLLM 0.31 waits for its engine core in pyzmq polls that swallow KeyboardInterrupt, while the engine core
    itself dies of the same Ctrl-C: the parent then waits for a ready message that never comes (for
    VLLM_ENGINE_READY_TIMEOUT_S), holding the generation store's lock. Here the signal stops the engine's
    processes and raises KeyboardInterrupt; if the start has not unwound within `grace_s`, the process exits
    (status 128 + signal), which releases its locks. Nothing has been generated yet, so nothing is lost."""
    import signal
    import sys
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    started = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.getsignal(s) for s in signals}

    def interrupted(signum, frame):
        def finish() -> None:
            stop_descendants()
            if not started.wait(grace_s):
                print(
                    "interrupted while the engine was starting: nothing was generated yet; run the same command "
                    "again to resume.",
                    file=sys.stderr,
                    flush=True,
                )
                release_all()
                os._exit(128 + signum)

        threading.Thread(target=finish, daemon=True).start()
        raise KeyboardInterrupt

    for s in signals:
        signal.signal(s, interrupted)
    try:
        yield
    finally:
        started.set()
        for s, handler in previous.items():
            signal.signal(s, handler)
