"""The lock that guards a generation store and a training folder (recipes.locks): waits for a live holder, takes
over from one that was killed or hung, with one line saying so; and a Ctrl-C while vLLM starts ends the process
and frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from recipes.errors import UserError
from recipes.locks import FileLock
from tests.conftest import REPO

HOLD = """
import sys, time
from recipes.locks import FileLock
with FileLock(sys.argv[1], "generating it").hold():
    print("held", flush=True)
    time.sleep(600)
"""


def _holder(path, **env) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_holder_is_waited_for_or_named_in_a_refusal(tmp_path):
    lock = tmp_path / "store.lock"
    holder = _holder(lock)
    try:
        with (
            pytest.raises(UserError, match=rf"pid {holder.pid} on \S+ is generating it"),
            FileLock(lock, "generating it").hold(refuse=True),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_is_taken_over_with_one_line(tmp_path):
    lock = tmp_path / "store.lock"
    holder = _holder(lock)
    holder.kill()  # kill -9: no chance to release; the kernel frees the POSIX lock, the file still names it
    holder.wait()
    said = []
    with FileLock(lock, "generating it").hold(say=said.append):
        assert lock.read_text().startswith(f"pid {os.getpid()} ")
    assert len(said) == 1 and f"pid {holder.pid}" in said[0] and "taking over" in said[0]
    assert lock.read_text() == ""  # released properly: the next one has nothing to report
    said.clear()
    with FileLock(lock, "generating it").hold(say=said.append):
        pass
    assert said == []


def test_a_hung_holder_is_taken_over_once_its_heartbeat_is_stale(tmp_path, monkeypatch):
    import recipes.locks as locks

    lock = tmp_path / "store.lock"
    holder = _holder(lock)
    os.kill(holder.pid, signal.SIGSTOP)  # hung: alive, holding the POSIX lock, no more heartbeats
    try:
        monkeypatch.setattr(locks, "POLL_S", 0.2)
        said = []
        started = time.monotonic()
        with FileLock(lock, "generating it", stale_s=2).hold(waiting="aime24", say=said.append):
            took = time.monotonic() - started
        assert 1.5 < took < 10
        assert said[0].startswith(f"aime24: pid {holder.pid} on ")
        assert "has not been alive for" in said[1] and "taking over" in said[1]
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()


@pytest.mark.slow
def test_ctrl_c_while_vllm_starts_ends_the_process_and_frees_the_store(tmp_path, isolated_cache):
    """Reproduced before the fix: the engine core died of the Ctrl-C, the parent waited for it in a pyzmq poll
    that swallows KeyboardInterrupt, and held the store's lock for VLLM_ENGINE_READY_TIMEOUT_S."""
    from tests.conftest import write_recipe

    recipe = write_recipe(tmp_path / "r.yaml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "eval.cli", "eval", "builtin:tiny-qwen2", "--recipe", str(recipe)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "starting vllm engine" in line:
            break
    time.sleep(8)  # the engine core is importing vLLM, its worker being spawned
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    try:
        rest, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("still running a minute after Ctrl-C: " + "".join(lines)[-2000:])
    assert proc.returncode in (130, 2 + 128), rest[-2000:]
    assert "interrupted" in rest
    for _ in range(20):  # no engine core or worker left behind
        left = subprocess.run(["ps", "-o", "pid=,cmd=", "-s", str(proc.pid)], capture_output=True, text=True)
        if not left.stdout.strip():
            break
        time.sleep(0.5)
    assert left.stdout.strip() == ""
    locks = list((isolated_cache / "generations").rglob("*.lock"))
    assert locks
    for lock in locks:  # free: taken at once, and nobody is reported as having died holding it
        said = []
        with FileLock(lock, "generating it").hold(refuse=True, say=said.append):
            pass
        assert said == []
