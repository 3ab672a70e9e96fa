"""Read a W&B offline run file (`run-<id>.wandb`) back into protobuf records, for tests.

The file is W&B's record log: a 7-byte header (":W&B", magic 0xBEE1, version 0), then 32 KiB blocks
of chunks, each with a 7-byte header (crc32, length, type: full/first/middle/last).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[wandb_internal_pb2.Record]:
    data = Path(path).read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:HEADER])
    assert ident == b":W&B" and magic == 0xBEE1 and version == 0, "not a W&B run file"
    records, pending, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        left_in_block = BLOCK - pos % BLOCK
        if left_in_block < HEADER:
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if length == 0 and kind == 0:
            pos += left_in_block
            continue
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, FIRST):
            pending = chunk
        else:
            pending += chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def summary(records) -> dict:
    values = {}
    for r in records:
        if r.WhichOneof("record_type") == "summary":
            for item in r.summary.update:
                key = item.key or "/".join(item.nested_key)
                values[key] = json.loads(item.value_json)
    return values


def history(records) -> list[dict]:
    rows = []
    for r in records:
        if r.WhichOneof("record_type") == "history":
            rows.append({(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in r.history.item})
    return rows


def charts(records) -> dict[str, dict]:
    """The custom charts a run declares (wandb.plot.*): key -> the panel spec W&B renders."""
    found = {}
    for r in records:
        if r.WhichOneof("record_type") == "config":
            for item in r.config.update:
                if list(item.nested_key[:2]) == ["_wandb", "visualize"]:
                    found[item.nested_key[2]] = json.loads(item.value_json)
    return found


def step_metrics(records) -> dict[str, str]:
    """define_metric's step metrics: metric (or glob) -> the metric it is plotted against."""
    found = {}
    for r in records:
        if r.WhichOneof("record_type") == "metric" and r.metric.step_metric:
            found[r.metric.name or r.metric.glob_name] = r.metric.step_metric
    return found


def run_info(records):
    return next(r.run for r in records if r.WhichOneof("record_type") == "run")


def run_file(run_dir: Path) -> Path:
    return next(Path(run_dir).glob("run-*.wandb"))


def read_finished(run_dir: Path, timeout: float = 30.0) -> list[wandb_internal_pb2.Record]:
    """The run's records once its `exit` record is on disk: W&B's service writes the file behind the process
    that logs, and `run.finish()` can return before the last records land (seen on a loaded 2-core machine)."""
    import time

    from google.protobuf.message import DecodeError

    deadline = time.monotonic() + timeout
    while True:
        try:
            records = read_records(run_file(run_dir))
        except (StopIteration, AssertionError, struct.error, DecodeError):  # still being written
            records = []
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.2)
