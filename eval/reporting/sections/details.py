"""Each side's samples as details/<side>/<task>.jsonl: what `make view` and a person read, one line per sample."""

from __future__ import annotations

import shutil
from pathlib import Path

from eval.evaluate import ModelEvaluation
from eval.reporting.files import write_details
from eval.reporting.sections.base import Section


class DetailsSection(Section):
    """details/ for every evaluated side (baseline, tuned, and each checkpoint of a curve, so `make view` can
    pair any two of them); an earlier compare's checkpoints are removed."""

    def __init__(self, evaluations: dict[str, ModelEvaluation]):
        self.evaluations = evaluations

    def files(self, out_dir: Path) -> dict[str, Path]:
        details = out_dir / "details"
        for pattern in ("checkpoint-*", "seed-*"):  # an earlier compare's checkpoints and training runs
            for stale in details.glob(pattern):
                if stale.name not in self.evaluations:
                    shutil.rmtree(stale)
        for side, evaluation in self.evaluations.items():
            for name, result in evaluation.results.items():
                write_details(result, details / side / f"{name.replace(':', '_')}.jsonl")
        return {"details": details}
