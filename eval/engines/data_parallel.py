"""Data-parallel evaluation: one vLLM engine per GPU group, each in its own process.

Requests (from every task at once) are dealt round-robin to `data_parallel_size` engines (each spanning `tensor_parallel_size`
GPUs); finished samples stream back to the caller, which saves them as they arrive, exactly as with a
single engine. On a CPU machine each engine gets its own share of the cores.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from eval.engines.base import Request
from eval.stores.generations import Sample
from recipes.errors import UserError
from recipes.schema import VllmSpec


def device_groups(data_parallel: int, tensor_parallel: int, gpus: int) -> list[str]:
    """CUDA_VISIBLE_DEVICES for each engine: consecutive groups of `tensor_parallel` GPUs."""
    if data_parallel * tensor_parallel > gpus:
        raise UserError(
            f"eval.vllm: data_parallel_size {data_parallel} x tensor_parallel_size {tensor_parallel} needs "
            f"{data_parallel * tensor_parallel} GPUs, this machine has {gpus}"
        )
    return [
        ",".join(str(g) for g in range(r * tensor_parallel, (r + 1) * tensor_parallel))
        for r in range(data_parallel)
    ]


def cpu_groups(data_parallel: int, cores: int) -> list[str]:
    """VLLM_CPU_OMP_THREADS_BIND for each engine, so engines do not fight over the same cores."""
    per = max(cores // data_parallel, 1)
    return [f"{(r * per) % cores}-{(r * per) % cores + per - 1}" for r in range(data_parallel)]


def _worker(rank: int, model_path: str, settings: dict, seed: int, env: dict, jobs, results) -> None:
    os.environ.update(env)
    try:
        from eval.engines.vllm_engine import VllmEngine

        engine = VllmEngine(model_path, VllmSpec(**settings), seed=seed)
        results.put(("ready", rank, None))
        while (job := jobs.get()) is not None:
            requests, numbers = job
            for local, index, sample in engine.generate(requests):
                results.put(("sample", (numbers[local], index), asdict(sample)))
            results.put(("done", rank, None))
        engine.close()
    except Exception:
        results.put(("error", rank, traceback.format_exc()))


@dataclass
class DataParallelVllmEngine:
    model_path: str
    settings: VllmSpec
    seed: int = 0
    name: str = "vllm"
    _procs: list = field(default_factory=list)

    def __post_init__(self) -> None:
        import torch

        size = self.settings.data_parallel_size
        if torch.cuda.is_available():
            envs = [
                {"CUDA_VISIBLE_DEVICES": d}
                for d in device_groups(size, self.settings.tensor_parallel_size, torch.cuda.device_count())
            ]
        else:
            envs = [{"VLLM_CPU_OMP_THREADS_BIND": c} for c in cpu_groups(size, os.cpu_count() or 1)]
        ctx = mp.get_context("spawn")  # vLLM must not inherit a forked CUDA or engine state
        self._results = ctx.Queue()
        self._jobs = [ctx.Queue() for _ in range(size)]
        settings = self.settings.model_dump()
        settings["data_parallel_size"] = 1  # each worker runs one ordinary engine
        for rank in range(size):
            proc = ctx.Process(
                target=_worker,
                args=(
                    rank,
                    self.model_path,
                    settings,
                    self.seed + rank,
                    envs[rank],
                    self._jobs[rank],
                    self._results,
                ),
                daemon=False,  # each worker starts vLLM's own engine processes
            )
            proc.start()
            self._procs.append(proc)
        for _ in range(size):
            self._expect("ready")

    def _expect(self, kind: str):
        message = self._results.get()
        if message[0] == "error":
            self.close()
            raise RuntimeError(f"vLLM data-parallel engine {message[1]} failed:\n{message[2]}")
        if kind and message[0] != kind:
            raise RuntimeError(f"unexpected message from a data-parallel engine: {message[0]}")
        return message

    def generate(self, requests: list[Request]) -> Iterator[tuple[int, int, Sample]]:
        size = len(self._procs)
        shards = [list(range(r, len(requests), size)) for r in range(size)]
        busy = 0
        for rank, numbers in enumerate(shards):
            if numbers:
                self._jobs[rank].put(([requests[i] for i in numbers], numbers))
                busy += 1
        while busy:
            kind, key, payload = self._expect("")
            if kind == "done":
                busy -= 1
            elif kind == "sample":
                yield *key, Sample(**payload)

    def close(self) -> None:
        for jobs, proc in zip(self._jobs, self._procs, strict=False):
            if proc.is_alive():
                jobs.put(None)
        for proc in self._procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.terminate()
        self._procs = []
