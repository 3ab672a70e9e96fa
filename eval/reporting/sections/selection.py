"""Which checkpoint is the tuned side, and how it was chosen: on a selection set (eval.selection), or, when the user
named one of the checkpoints the compare evaluated on the test tasks, with the selection-adjusted p beside the naive
one."""

from __future__ import annotations

from dataclasses import asdict

from eval.comparison.selection import Selection, SelectionAdjustment, adjustment_line, selection_line
from eval.reporting.sections.base import Section
from recipes.log import info


class SelectionSection(Section):
    name = "selection"

    def __init__(
        self,
        selections: dict[str, Selection] | None = None,
        adjustments: list[SelectionAdjustment] | None = None,
    ):
        self.selections, self.adjustments = selections or {}, adjustments or []

    def lines(self) -> list[str]:
        several = len(self.selections) > 1
        lines = [(f"{run}: " if several else "") + selection_line(s) for run, s in self.selections.items()]
        if self.adjustments:
            lines.append("chosen on a test task? (tuned= names a checkpoint this compare evaluated):")
            lines += [f"  {adjustment_line(a)}" for a in self.adjustments]
        return lines

    def terminal(self, console) -> None:
        for line in self.lines():
            info(line)

    def markdown(self) -> str:
        return "".join(f"- {line.strip()}\n" for line in self.lines())

    def to_json(self) -> dict | None:
        if not self.selections and not self.adjustments:
            return None
        return {
            "chosen_on_selection_set": {run: asdict(s) for run, s in self.selections.items()},
            "chosen_on_test_task": [asdict(a) for a in self.adjustments],
        }

    def wandb(self, run, wandb, logged: dict) -> None:
        for label, selection in self.selections.items():
            run.summary[f"selection/{label}/chosen"] = selection.chosen.label
        for a in self.adjustments:
            run.summary[f"selection/{a.task}/adjusted_p"] = a.adjusted_p
            run.summary[f"selection/{a.task}/naive_p"] = a.naive_p
