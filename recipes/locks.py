"""An exclusive lock on a file that names its holder, waits for a live holder and takes over from a gone one.

The lock is a POSIX lock (`fcntl.lockf`) on a `.lock` file: it belongs to the process, the kernel releases it when
the process dies, forked or spawned children never inherit it, and NFS honours it through its lock manager. The
file says who holds it, `pid N on HOST, alive at T`, and a thread of the holder refreshes T every HEARTBEAT_S.

A second process waits, polling, and takes over with a one-line notice when the holder is gone:
- the lock is free but the file still names a holder: that process died without releasing it (killed);
- the lock is held, but its holder is on this host and no such process exists, or its heartbeat is older than
  `stale_s` (a hung process, or a lock that a crashed NFS client left behind): the waiter goes ahead without the
  POSIX lock, writing its own heartbeat, so that later waiters see a live holder.
Used for the generation store (one writer per model and settings) and the training output folder.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from recipes.errors import UserError

HEARTBEAT_S = 30.0
STALE_S = float(os.environ.get("REASONLIFT_LOCK_STALE_S", 600))
POLL_S = 1.0
_HELD: dict[Path, object] = {}  # this process's locks: cleared by `release_all` before a hard exit


def _host() -> str:
    return os.uname().nodename


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _holder(text: str) -> tuple[int, str, float] | None:
    """(pid, host, last heartbeat) from `pid N on HOST, alive at T`; None when the file names nobody."""
    parts = text.strip().split()
    try:
        return int(parts[1]), parts[3].rstrip(","), float(parts[-1])
    except (IndexError, ValueError):
        return None


def _gone(holder: tuple[int, str, float], stale_s: float) -> str | None:
    """Why a named holder no longer holds its lock, or None while it may."""
    pid, host, beat = holder
    if host == _host() and pid != os.getpid() and not _alive(pid):
        return f"pid {pid} on {host} is gone"
    age = time.time() - beat
    if age > stale_s:
        return f"pid {pid} on {host} has not been alive for {age / 60:.0f} min"
    return None


class FileLock:
    def __init__(self, path: Path, what: str, stale_s: float | None = None):
        self.path = Path(path)
        self.what = what  # "generating it", "training into it": said in the waiting and takeover lines
        self.stale_s = STALE_S if stale_s is None else stale_s

    @contextmanager
    def hold(self, waiting: str = "", refuse: bool = False, say=print) -> Iterator[None]:
        """Hold the lock. Held elsewhere: print `waiting` once and wait (or, `refuse`, raise a UserError naming the
        holder); take over from a holder that is gone, with a notice."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as lock:
            posix = self._acquire(lock, waiting, refuse, say)
            _HELD[self.path] = lock
            stop = threading.Event()
            beat = threading.Thread(target=self._heartbeat, args=(lock, stop), daemon=True)
            beat.start()
            try:
                yield
            finally:
                stop.set()
                beat.join()
                _HELD.pop(self.path, None)
                self._write(lock, "")  # released properly: the next holder has nothing to take over
                if posix:
                    fcntl.lockf(lock, fcntl.LOCK_UN)

    def _acquire(self, lock, waiting: str, refuse: bool, say) -> bool:
        """True when the POSIX lock is held; False after taking over from a hung holder that still has it."""
        told = False
        suspect: str | None = None
        while True:
            try:
                fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                if err.errno not in (errno.EACCES, errno.EAGAIN):
                    raise UserError(
                        f"cannot lock {self.path} ({err.strerror}): its filesystem does not support locks (Lustre: "
                        "mount with -o flock); use a folder on one that does"
                    ) from None
            else:
                left = _holder(self._read(lock))
                if left and (left[0], left[1]) != (os.getpid(), _host()):
                    say(
                        f"notice: {self.path.parent}: pid {left[0]} on {left[1]} stopped while {self.what} without "
                        "finishing (killed?); taking over, keeping what it finished"
                    )
                self._write(lock, self._line())
                return True
            text = self._read(lock)
            holder = _holder(text)
            why = _gone(holder, self.stale_s) if holder else None
            if (
                holder is None
            ):  # held, yet nobody named: a holder between its lock and its first line, or hung
                why = "the lock names no holder" if suspect == "unnamed" else None
                suspect = "unnamed"
            if why:
                say(f"notice: {self.path.parent}: {why}; taking over its lock (what it finished is kept)")
                self._write(lock, self._line())
                return False
            if refuse:
                raise UserError(f"{self.path.parent}: pid {holder[0]} on {holder[1]} is {self.what}")
            if not told and waiting:
                say(f"{waiting}: pid {holder[0]} on {holder[1]} is {self.what}; waiting for it to finish")
                told = True
            time.sleep(POLL_S)

    def _line(self) -> str:
        return f"pid {os.getpid()} on {_host()}, alive at {time.time():.0f}"

    @staticmethod
    def _read(lock) -> str:
        lock.seek(0)
        return lock.read()

    @staticmethod
    def _write(lock, text: str) -> None:
        lock.seek(0)
        lock.truncate()
        lock.write(text)
        lock.flush()

    def _heartbeat(self, lock, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                self._write(lock, self._line())
            except (OSError, ValueError):
                return


def release_all() -> None:
    """Before this process exits without unwinding (`os._exit` after an interrupt): say in every lock file it
    holds that it let go, so the next holder reports nothing (the kernel frees the POSIX locks at exit)."""
    for lock in list(_HELD.values()):
        with suppress(OSError, ValueError):
            FileLock._write(lock, "")
