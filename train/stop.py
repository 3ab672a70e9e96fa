"""Stop at the next step with a checkpoint when asked: how a Slurm job survives its time limit.

The rendered sbatch scripts ask Slurm for a signal before the limit (`--signal=B:USR1@...`); the batch
script's handler creates the file named by REASONLIFT_STOP_FILE. At the end of the next optimizer step every
rank learns it from rank 0, the trainer saves a checkpoint and stops, and the script requeues the job, which
resumes from that checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

from transformers import TrainerCallback

STOP_FILE_VAR = "REASONLIFT_STOP_FILE"


class StopOnRequest(TrainerCallback):
    def __init__(self, path: Path):
        self.path = path
        self.stopped_at: int | None = None

    def on_step_end(self, args, state, control, **kwargs):
        if self._requested():
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at = state.global_step
        return control

    def _requested(self) -> bool:
        """Rank 0 looks; the others follow, so every rank stops after the same step."""
        import torch
        import torch.distributed as dist

        asked = self.path.exists()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            from accelerate import PartialState

            flag = torch.tensor([int(asked)], device=PartialState().device)
            dist.broadcast(flag, src=0)
            asked = bool(flag.item())
        return asked


def stop_callback() -> StopOnRequest | None:
    """The callback when the job set a stop file (the Slurm scripts do), else None."""
    path = os.environ.get(STOP_FILE_VAR)
    return StopOnRequest(Path(path)) if path else None
