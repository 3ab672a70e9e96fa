"""What a part of the compare report is, and how the report is written: a list of sections, emitted once per output.

A section is one object that knows its own outputs: lines in the terminal, a part of table.md, its entry in
compare.json (under its `name`), its plots and files, and what it adds to the W&B run. Adding a part to the report
is one new module in this package, built in `eval.compare.command.report`; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

CONSOLE_WIDTH = 200


class Section:
    """A part of the compare report. Every output is optional: a section overrides what it has."""

    name: str | None = None  # its key in compare.json; None: not in it

    def terminal(self, console: Console) -> None:
        """Print the section (rich)."""

    def markdown(self) -> str:
        """The section's part of table.md."""
        return ""

    def to_json(self) -> Any:
        """The section's entry in compare.json (under `name`)."""
        return None

    def plots(self, out_dir: Path) -> dict[str, Path]:
        """Write the section's plots; {name: path} (also logged to W&B as images)."""
        return {}

    def files(self, out_dir: Path) -> dict[str, Path]:
        """Write the section's other files; {name: path}."""
        return {}

    def wandb(self, run, wandb, logged: dict) -> None:
        """Add to the W&B run: summary values on `run.summary`, tables and charts into `logged` (logged once)."""


@dataclass
class Emitted:
    """What emitting the sections produced: compare.json's payload, the Markdown, the files and plots written."""

    payload: dict
    markdown: str
    files: dict[str, Path] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)


def emit(sections: list[Section], out_dir: Path, base: dict) -> Emitted:
    """Each output once, over every section in order: the terminal, the plots and files, table.md's parts, and
    compare.json (`base`, the compare's settings and provenance, then one entry per named section)."""
    console = Console(width=CONSOLE_WIDTH)
    for section in sections:
        section.terminal(console)
    plots: dict[str, Path] = {}
    files: dict[str, Path] = {}
    for section in sections:
        plots.update(section.plots(out_dir))
        files.update(section.files(out_dir))
    payload = dict(base)
    for section in sections:
        if section.name is not None:
            payload[section.name] = section.to_json()
    markdown = "\n".join(part for section in sections if (part := section.markdown()))
    return Emitted(payload, markdown, files, plots)


def log_sections(sections: list[Section], run, wandb, plots: dict[str, Path]) -> None:
    """One W&B log call for every section's tables and charts, and the plots as images."""
    logged: dict = {}
    for section in sections:
        section.wandb(run, wandb, logged)
    for name, path in plots.items():
        logged[f"plots/{name}"] = wandb.Image(str(path))
    run.log(logged)
