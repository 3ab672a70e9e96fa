"""The tuned side's training health under the table: which of the monitor's rules fired, from which step (read from
the run's train_summary.json, or its trainer_state.json); the log history copied to `training/<side>.json` so that
`make view`'s training page works on a copied compare folder too."""

from __future__ import annotations

import re
from pathlib import Path

from eval.reporting.sections.base import Section
from recipes.files import atomic_write_text, strict_json
from recipes.health import summary_line
from recipes.log import info
from recipes.runs import run_health, training_log

TRAINING_DIR = "training"


class HealthSection(Section):
    name = "training_health"

    def __init__(self, models: dict[str, str], method: str | None = None, overrides: dict | None = None):
        """`models`: side label -> the model folder it evaluated (only trained sides: tuned, seeds)."""
        self.health: dict[str, dict] = {}
        self.logs: dict[str, list[dict]] = {}
        for label, path in models.items():
            folder = Path(
                path
            )  # a final model (its summary and log) or a checkpoint (its trainer_state.json)
            health = run_health(folder, method, overrides) if folder.is_dir() else None
            if health is not None:
                self.health[label] = health
                self.logs[label] = training_log(folder) or []

    def lines(self) -> list[str]:
        several = len(self.health) > 1
        return [
            (f"{label}: " if several else "") + summary_line(h["rules"]) for label, h in self.health.items()
        ]

    def terminal(self, console) -> None:
        for label, health in self.health.items():
            info(self.lines()[list(self.health).index(label)])
            for name, verdict in health["rules"].items():
                if verdict.get("fired"):
                    info(f"  {verdict.get('message') or name}")
            if health.get("stopped_by"):
                stop = health["stopped_by"]
                info(
                    f"  the run was stopped after step {stop['stopped_at']} by {stop['rule']} (train.health.stop_on)"
                )

    def markdown(self) -> str:
        return "".join(f"- {line}\n" for line in self.lines())

    def to_json(self) -> dict | None:
        return self.health or None

    def files(self, out_dir: Path) -> dict[str, Path]:
        for stale in (out_dir / TRAINING_DIR).glob("*.json"):  # an earlier compare's runs
            stale.unlink()
        written = {}
        for label, history in self.logs.items():
            path = out_dir / TRAINING_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', label)}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(
                path, strict_json({"side": label, "log_history": history, "health": self.health[label]})
            )
            written[f"training {label}"] = path
        return written

    def wandb(self, run, wandb, logged: dict) -> None:
        for label, health in self.health.items():
            fired = [name for name, v in health["rules"].items() if v.get("fired")]
            run.summary[f"training_health/{label}/fired"] = ", ".join(fired) or "none"
