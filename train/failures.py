"""What a training worker's failure means, in one line, and the launcher's noise around it left out.

A worker that fails on something the user can fix (a full disk, a folder it may not write, a file that is not
UTF-8, a model the hub cannot serve) prints one `error:` line and exits 2. `accelerate launch` (and torchrun
under it) then raises its own CalledProcessError or ChildFailedError with a traceback that says nothing more:
the launcher drops tracebacks from the moment one starts, unless the worker said nothing itself (an unexpected
failure, whose traceback is the information).
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

TRACEBACK = b"Traceback (most recent call last)"
# The launcher names a file here: a worker that fails with a one-line reason writes it there.
FAILURE_FILE_VAR = "REASONLIFT_FAILURE_FILE"


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def explain(err: BaseException, output: Path | None) -> str | None:
    """One line for a failure the user can fix; None for anything else (its traceback is the information)."""
    for cause in _chain(err):
        text = str(cause)
        code = getattr(cause, "errno", None)
        # torch.save on a full disk says neither ENOSPC nor "space" ("basic_ios::clear: iostream error", "unexpected
        # pos"): a failed write with the output's filesystem full is that
        full = code == errno.ENOSPC or "No space left on device" in text or "StorageFull" in text
        if not full and output is not None and any(w in text for w in _WRITE_FAILURES):
            full = _free_bytes(output) < FULL_BYTES
        if full:
            where = output or Path(getattr(cause, "filename", None) or ".")
            free = _free(where)
            return (
                f"no space left on the device holding {where}{free}: free space, lower train.args.save_total_limit "
                "or move train.output_dir (`make plan` estimates what a run saves); then `resume=1` goes on from the "
                "last checkpoint written whole"
            )
        if code in (errno.EROFS, errno.EACCES, errno.EPERM) and getattr(cause, "filename", None):
            return f"cannot write {cause.filename} ({cause.strerror}): choose a writable train.output_dir"
        if isinstance(cause, UnicodeDecodeError):
            return f"a training file is not UTF-8 ({cause}): convert it, e.g. `iconv -f latin1 -t utf-8`"
        if type(cause).__name__ in ("LocalEntryNotFoundError", "OfflineModeIsEnabled"):
            return f"a file the run needs is not in the local Hugging Face cache and the hub cannot be reached ({text})"
    return None


_WRITE_FAILURES = (
    "iostream error",
    "unexpected pos",
    "PytorchStreamWriter failed",
    "Error while serializing",
)
FULL_BYTES = 16 * 1024**2  # less than this left: the disk is full for a checkpoint


def _free_bytes(path: Path) -> int:
    import shutil

    for folder in [path, *path.parents]:
        if folder.exists():
            return shutil.disk_usage(folder).free
    return 1 << 62


def _free(path: Path) -> str:
    return f" ({_free_bytes(path) / 1e6:,.1f} MB free)"


class QuietTracebacks:
    """Forward a child's stderr as it comes (progress bars included), keeping back everything from the first
    traceback on; `finish(show)` then prints what was kept back, or drops it."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.held = bytearray()
        self.holding = False
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        out = sys.stderr.buffer
        tail = b""
        while chunk := os.read(self.stream.fileno(), 65536):
            if self.holding:
                self.held += chunk
                continue
            seen = tail + chunk
            at = seen.find(TRACEBACK)
            if at < 0:
                keep = len(TRACEBACK)
                out.write(chunk)
                out.flush()
                tail = seen[-keep:]
                continue
            line_start = seen.rfind(b"\n", 0, at) + 1  # the traceback's whole first line (rich frames it)
            already = len(tail)
            out.write(seen[already : max(line_start, already)])
            out.flush()
            self.held += seen[max(line_start, already) :]
            self.holding = True

    def finish(self, show: bool) -> None:
        self.thread.join()
        if show and self.held:
            sys.stderr.buffer.write(self.held)
            sys.stderr.buffer.flush()
