"""Data-parallel evaluation: one vLLM engine per GPU group, each in its own process.

Requests (from every task at once) are dealt round-robin to `data_parallel_size` engines (each spanning `tensor_parallel_size`
GPUs); finished samples stream back to the caller, which saves them as they arrive, exactly as with a
single engine. On a CPU machine each engine gets its own share of the cores.

Each worker talks to the caller over a pipe of its own, and the caller waits on those pipes and on the
workers' process sentinels together: a worker that dies (killed for memory, say) is noticed at once, and
no worker's death can block the others (no lock is shared; the stop flag is a plain shared byte).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import wait

from eval.engines.base import Request
from eval.stores.generations import Sample
from recipes.errors import UserError
from recipes.schema import VllmSpec

LIVENESS_POLL_S = 5.0  # the longest a wait for results goes without looking at the workers


def visible_devices(count: int) -> list[str]:
    """The GPUs this process was given, as the ids to hand on: the parent's CUDA_VISIBLE_DEVICES entries
    (indices, UUIDs or MIG ids, in its order) when it is set, else 0..count-1."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [str(g) for g in range(count)]
    return [d.strip() for d in listed.split(",") if d.strip()][:count] if count else []


def device_groups(data_parallel: int, tensor_parallel: int, devices: list[str]) -> list[str]:
    """CUDA_VISIBLE_DEVICES for each engine: consecutive groups of `tensor_parallel` of the GPUs this process
    was given (`visible_devices`), so that a job given GPUs 4-7 never starts an engine on GPU 0."""
    if data_parallel * tensor_parallel > len(devices):
        raise UserError(
            f"eval.vllm: data_parallel_size {data_parallel} x tensor_parallel_size {tensor_parallel} needs "
            f"{data_parallel * tensor_parallel} GPUs, this process was given {len(devices)}"
            + (
                f" (CUDA_VISIBLE_DEVICES={os.environ['CUDA_VISIBLE_DEVICES']})"
                if "CUDA_VISIBLE_DEVICES" in os.environ
                else ""
            )
        )
    return [",".join(devices[r * tensor_parallel : (r + 1) * tensor_parallel]) for r in range(data_parallel)]


def cpu_groups(data_parallel: int, cores: int) -> list[str]:
    """VLLM_CPU_OMP_THREADS_BIND for each engine, so engines do not fight over the same cores."""
    per = max(cores // data_parallel, 1)
    return [f"{(r * per) % cores}-{(r * per) % cores + per - 1}" for r in range(data_parallel)]


def _worker(rank: int, model_path: str, settings: dict, seed: int, env: dict, conn, stop) -> None:
    os.environ.update(env)
    try:
        from eval.engines.vllm_engine import VllmEngine

        engine = VllmEngine(model_path, VllmSpec(**settings), seed=seed)
        conn.send(("ready", rank, _descendants()))
        while (job := conn.recv()) is not None:
            requests, numbers = job
            # the stop flag, read at every engine step: the caller stopped listening or closes the engine
            for local, index, sample in engine.generate(requests, stop=lambda: stop.value):
                conn.send(("sample", (numbers[local], index), asdict(sample)))
            conn.send(("done", rank, None))
        engine.close()
    except EOFError:  # the caller is gone
        pass
    except Exception:
        conn.send(("error", rank, traceback.format_exc()))


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
    deadline = time.monotonic() + 10
    for process in killed:  # gone, or a zombie its new parent has yet to reap
        with contextlib.suppress(psutil.NoSuchProcess):
            while process.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
                time.sleep(0.05)


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
                for d in device_groups(
                    size, self.settings.tensor_parallel_size, visible_devices(torch.cuda.device_count())
                )
            ]
        else:
            envs = [{"VLLM_CPU_OMP_THREADS_BIND": c} for c in cpu_groups(size, os.cpu_count() or 1)]
        ctx = mp.get_context("spawn")  # vLLM must not inherit a forked CUDA or engine state
        self._stop = ctx.RawValue(ctypes.c_bool, False)
        self._conns = []
        self._last = -1  # the worker whose message was read last
        self._engine_cores: list[tuple[int, float]] = []
        settings = self.settings.model_dump()
        settings["data_parallel_size"] = 1  # each worker runs one ordinary engine
        for rank in range(size):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=_worker,
                args=(rank, self.model_path, settings, self.seed + rank, envs[rank], theirs, self._stop),
                daemon=False,  # each worker starts vLLM's own engine processes
            )
            proc.start()
            theirs.close()  # the worker's end lives in the worker only: its death is an end of file here
            self._procs.append(proc)
            self._conns.append(ours)
        for _ in range(size):
            self._engine_cores += self._expect("ready")[2]

    def _expect(self, kind: str):
        """The next message from any worker. A worker that died is an error at once; one that was killed
        (exit code not 0) is not read from again, since it may have died half way through a message."""
        while True:
            if not self._procs:
                raise RuntimeError("the data-parallel engine is closed")
            ready = wait([*self._conns, *(proc.sentinel for proc in self._procs)], timeout=LIVENESS_POLL_S)
            # gone: killed, or ended with nothing left to read (a worker that reports an error ends with 0)
            dead = next(
                (
                    r
                    for r, proc in enumerate(self._procs)
                    if proc.exitcode is not None and (proc.exitcode != 0 or self._conns[r] not in ready)
                ),
                None,
            )
            if dead is None:
                # starting after the worker read last, so a busy worker cannot starve the others
                size = len(self._conns)
                for rank in ((self._last + 1 + k) % size for k in range(size)):
                    conn = self._conns[rank]
                    if conn in ready:
                        self._last = rank
                        try:
                            return self._check(conn.recv(), kind)
                        except (EOFError, OSError):  # its end closed: it is gone
                            dead = rank
                            break
            if dead is not None:
                self._procs[dead].join(timeout=5)
                code = self._procs[dead].exitcode
                self.close()
                raise RuntimeError(
                    f"vLLM data-parallel engine {dead} exited (exit code {code}); killed for memory? "
                    "Saved samples are kept: run again to generate only what is missing"
                )

    def _check(self, message: tuple, kind: str) -> tuple:
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
            if numbers:  # the worker is idle, waiting for a job: it reads this as it is sent
                self._conns[rank].send(([requests[i] for i in numbers], numbers))
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
            self._stop.value = True
            try:
                while busy:
                    if self._expect("")[0] == "done":
                        busy -= 1
            except Exception:  # a worker died meanwhile: nothing to keep
                self.close()
            finally:
                self._stop.value = False
            raise
        except BaseException:  # an error, a dead worker, Ctrl-C: the engine is done
            self.close()
            raise

    def close(self) -> None:
        self._stop.value = True  # busy workers abort their jobs
        for conn, proc in zip(self._conns, self._procs, strict=False):
            if proc.is_alive():
                with contextlib.suppress(OSError):
                    conn.send(None)
        # a worker blocked sending a sample exits only once it is read: read until all have gone
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            live = [
                (conn, proc) for conn, proc in zip(self._conns, self._procs, strict=False) if proc.is_alive()
            ]
            if not live:
                break
            for conn in wait([c for c, _ in live] + [p.sentinel for _, p in live], timeout=0.5):
                if conn in self._conns and self._procs[self._conns.index(conn)].is_alive():
                    with contextlib.suppress(EOFError, OSError):
                        conn.recv()
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)
        for conn in self._conns:
            conn.close()
        # a worker that was killed left its engine core running
        _kill_leftovers(self._engine_cores)
        self._procs, self._conns = [], []
