"""Checkpoints written whole: marked complete once every file of a save is on disk, and a resume that sets aside
what a full disk, a time limit or kill -9 cut short, saying so."""

from __future__ import annotations

import os
import time
from pathlib import Path

from recipes import log
from recipes.runs import COMPLETE_MARKER, incomplete_checkpoints, last_checkpoint


def _sync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def mark_complete():
    """A TrainerCallback: after the Trainer's save (weights, optimizer, scheduler, RNG, trainer state, rotation),
    once every rank has written its part, fsync the folder and write the marker (recipes.runs.COMPLETE_MARKER)."""
    import torch.distributed as dist
    from transformers import TrainerCallback

    class MarkComplete(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if dist.is_available() and dist.is_initialized():
                dist.barrier()  # DeepSpeed writes a shard per rank
            if state.is_world_process_zero:
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if folder.is_dir():
                    _sync_tree(folder)
                    (folder / COMPLETE_MARKER).write_text(
                        f"step {state.global_step}, saved {time.time():.0f}\n"
                    )
            return control

    return MarkComplete()


def set_aside_incomplete(folder: Path) -> list[Path]:
    """Rename checkpoints whose save did not finish to `checkpoint-N.incomplete` (the Trainer's lookup and
    rotation then ignore them; nothing is deleted) and say which checkpoint a resume uses instead."""
    moved = []
    for checkpoint in incomplete_checkpoints(folder):
        target = checkpoint.with_name(checkpoint.name + ".incomplete")
        if target.exists():
            target = checkpoint.with_name(f"{checkpoint.name}.incomplete-{int(time.time())}")
        checkpoint.rename(target)
        moved.append(target)
    if moved:
        last = last_checkpoint(folder)
        log.notice(
            f"{', '.join(p.name.split('.')[0] for p in moved)} in {folder} was not written whole (a full disk, a "
            f"time limit or a kill during the save): set aside as {', '.join(p.name for p in moved)}; "
            + (
                f"resuming from {last.name}, the last complete checkpoint"
                if last
                else "no complete checkpoint left"
            )
        )
    return moved
