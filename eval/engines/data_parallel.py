"""Data-parallel evaluation: one vLLM engine per GPU group, each in its own process.

Requests (from every task at once) are dealt round-robin to `data_parallel_size` engines (each spanning `tensor_parallel_size`
GPUs); finished samples stream back to the caller, which saves them as they arrive, exactly as with a
single engine. On a CPU machine each engine gets its own share of the cores.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from eval.engines.base import Request
from eval.stores.generations import Sample
from recipes.errors import UserError
from recipes.schema import VllmSpec

LIVENESS_POLL_S = 5.0  # how often a wait for results checks that every worker is alive


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


def _worker(rank: int, model_path: str, settings: dict, seed: int, env: dict, jobs, results, stop) -> None:
    os.environ.update(env)
    try:
        from eval.engines.vllm_engine import VllmEngine

        engine = VllmEngine(model_path, VllmSpec(**settings), seed=seed)
        results.put(("ready", rank, _descendants()))
        while (job := jobs.get()) is not None:
            requests, numbers = job
            # the caller stopped listening (or closes the engine): the rest of the job is aborted
            for local, index, sample in engine.generate(requests, stop=stop.is_set):
                results.put(("sample", (numbers[local], index), asdict(sample)))
            results.put(("done", rank, None))
        engine.close()
    except Exception:
        results.put(("error", rank, traceback.format_exc()))


def _descendants() -> list[tuple[int, float]]:
    """(pid, start time) of this process's children: vLLM's engine core, which outlives a worker that is
    killed (psutil comes with vLLM)."""
    import psutil

    return [(child.pid, child.create_time()) for child in psutil.Process().children(recursive=True)]


def _kill_leftovers(processes: list[tuple[int, float]]) -> None:
    """Kill those of `processes` still running (the start time tells them from a later process that
    happens to get the same pid)."""
    import psutil

    killed = []
    for pid, started in processes:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if process.create_time() == started:
                process.kill()
                killed.append(process)
    psutil.wait_procs(killed, timeout=10)


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
        self._stop = ctx.Event()
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
                    self._stop,
                ),
                daemon=False,  # each worker starts vLLM's own engine processes
            )
            proc.start()
            self._procs.append(proc)
        self._engine_cores: list[tuple[int, float]] = []
        for _ in range(size):
            self._engine_cores += self._expect("ready")[2]

    def _expect(self, kind: str):
        """The next message from a worker; a worker that died without a word (killed, out of memory) is
        an error, not a wait without end."""
        while True:
            try:
                message = self._results.get(timeout=LIVENESS_POLL_S)
                break
            except queue.Empty:
                dead = [(rank, p.exitcode) for rank, p in enumerate(self._procs) if not p.is_alive()]
                if dead:
                    try:  # its last words, if it managed to send them
                        message = self._results.get(timeout=1)
                        break
                    except queue.Empty:
                        rank, code = dead[0]
                        self.close()
                        raise RuntimeError(
                            f"vLLM data-parallel engine {rank} exited (exit code {code}) without a result; "
                            "killed for memory? Saved samples are kept: run again to resume"
                        ) from None
        if message[0] == "error":
            self.close()
            raise RuntimeError(f"vLLM data-parallel engine {message[1]} failed:\n{message[2]}")
        if kind and message[0] != kind:
            raise RuntimeError(f"unexpected message from a data-parallel engine: {message[0]}")
        return message

    def generate(self, requests: list[Request]) -> Iterator[tuple[int, int, Sample]]:
        if not self._procs:
            raise RuntimeError("the data-parallel engine is closed")
        for rank, proc in enumerate(self._procs):
            if not proc.is_alive():
                self.close()
                raise RuntimeError(f"vLLM data-parallel engine {rank} exited (exit code {proc.exitcode})")
        size = len(self._procs)
        shards = [list(range(r, len(requests), size)) for r in range(size)]
        busy = 0
        for rank, numbers in enumerate(shards):
            if numbers:
                self._jobs[rank].put(([requests[i] for i in numbers], numbers))
                busy += 1
        try:
            while busy:
                kind, key, payload = self._expect("")
                if kind == "done":
                    busy -= 1
                elif kind == "sample":
                    yield *key, Sample(**payload)
        except GeneratorExit:
            # the caller stopped listening: the workers abort their jobs, and what they still send is read
            # here, so that the next call reads only its own samples
            self._stop.set()
            try:
                while busy:
                    if self._expect("")[0] == "done":
                        busy -= 1
            except Exception:  # a worker died meanwhile: nothing to keep
                self.close()
            finally:
                self._stop.clear()
            raise
        except BaseException:  # an error, a dead worker, Ctrl-C: the engine is done
            self.close()
            raise

    def close(self) -> None:
        self._stop.set()  # busy workers abort their jobs
        for jobs, proc in zip(self._jobs, self._procs, strict=False):
            jobs.cancel_join_thread()  # never wait at exit to hand a job to a worker that is gone
            if proc.is_alive():
                jobs.put(None)
        # a worker exits only once what it sent has been read: keep reading until all have gone
        deadline = time.monotonic() + 60
        while any(proc.is_alive() for proc in self._procs) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                self._results.get(timeout=0.5)
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)
        # a worker that was killed left its engine core running
        _kill_leftovers(getattr(self, "_engine_cores", []))
        self._procs = []
