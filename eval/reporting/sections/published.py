"""The baseline against DeepSeek's published pass@1 for R1-Distill-Qwen-1.5B: a line per task."""

from __future__ import annotations

from eval.comparison.published import PublishedCheck, check_lines
from eval.reporting.sections.base import Section
from recipes.log import info


class PublishedSection(Section):
    name = "published_baseline"

    def __init__(self, checks: list[PublishedCheck]):
        self.checks = checks

    def terminal(self, console) -> None:
        for line in check_lines(self.checks):
            info(line)

    def markdown(self) -> str:
        return "\n".join(f"- {line}" for line in check_lines(self.checks)) + "\n" if self.checks else ""

    def to_json(self) -> list[dict]:
        return [c.to_json() for c in self.checks]
