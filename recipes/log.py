"""reasonlift's messages, through Python's logging: one line each, and once per job, not once per process.

In a distributed run (torchrun, accelerate launch) every process runs the same code; only rank 0 (`RANK`) shows
what it says, unless a message is marked `every_rank=True`. The lines look as they always did (`notice: ...`,
`warning: ...`), on standard output, read at the time of writing (so pytest's capture and redirections see them).
"""

from __future__ import annotations

import logging
import os
import sys

LOGGER = logging.getLogger("reasonlift")


RANK_VARS = (
    "RANK",
    "PMI_RANK",
    "OMPI_COMM_WORLD_RANK",
    "MV2_COMM_WORLD_RANK",
)  # torchrun, then MPI launchers


def rank() -> int:
    """This process's global rank (0 outside a distributed run)."""
    return next((int(os.environ[name]) for name in RANK_VARS if os.environ.get(name)), 0)


class _Stdout(logging.StreamHandler):
    @property
    def stream(self):  # whatever sys.stdout is now
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:
        pass


class _MainProcess(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return rank() == 0 or getattr(record, "every_rank", False)


if not LOGGER.handlers:
    _handler = _Stdout()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _handler.addFilter(_MainProcess())
    LOGGER.addHandler(_handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False


def info(message: str, every_rank: bool = False) -> None:
    LOGGER.info(message, extra={"every_rank": every_rank})


def notice(message: str, every_rank: bool = False) -> None:
    LOGGER.info(f"notice: {message}", extra={"every_rank": every_rank})


def warning(message: str, every_rank: bool = False) -> None:
    LOGGER.warning(f"warning: {message}", extra={"every_rank": every_rank})
