"""The serving-cost section of the compare report: terminal, Markdown, W&B."""

from __future__ import annotations

from eval.reporting.sections.base import Section

COST_HEADERS = [
    "task",
    "tokens/answer base",
    "tokens/answer tuned",
    "tokens/correct base",
    "tokens/correct tuned",
    "tuned/base per correct",
    "s/correct base",
    "s/correct tuned",
]


def _n(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"×{value:.2f}"


def cost_rows(rows: list[dict]) -> list[list[str]]:
    out = []
    for row in rows:
        base, tuned = row["baseline"], row["tuned"]
        per_correct = row["ratio"]["seconds_per_correct"] or row["ratio"]["tokens_per_correct"]
        out.append(
            [
                row["task"],
                _n(base["tokens_per_answer"]),
                _n(tuned["tokens_per_answer"]),
                _n(base["tokens_per_correct"]),
                _n(tuned["tokens_per_correct"]),
                _ratio(per_correct),
                _n(base["seconds_per_correct"], 3),
                _n(tuned["seconds_per_correct"], 3),
            ]
        )
    return out


def cost_note(rows: list[dict]) -> str:
    levels = {row["concurrency"] for row in rows}
    if levels == {None}:
        return (
            "s/correct: run `make perf` for both models (model= or url=, as compared) to price answers in "
            "seconds of serving"
        )
    return (
        f"s/correct: seconds of serving per correct answer at the output throughput `make perf` measured "
        f"with {', '.join(str(c) for c in sorted(levels - {None}))} concurrent requests"
    )


def print_cost(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Serving cost (output tokens; tuned/base > 1 costs more)", title_justify="left")
    for header in COST_HEADERS:
        table.add_column(header, justify="left" if header == "task" else "right")
    for cells in cost_rows(rows):
        table.add_row(*cells)
    console = Console(width=200)
    console.print(table)
    console.print(cost_note(rows))


def cost_markdown(rows: list[dict]) -> str:
    lines = [
        "## Serving cost",
        "",
        "| " + " | ".join(COST_HEADERS) + " |",
        "|" + "---|" * len(COST_HEADERS),
        *("| " + " | ".join(cells) + " |" for cells in cost_rows(rows)),
        "",
        cost_note(rows),
        "",
    ]
    return "\n".join(lines)


def cost_summary_values(rows: list[dict]) -> dict[str, float]:
    values = {}
    for row in rows:
        for side in ("baseline", "tuned"):
            for key in ("tokens_per_answer", "tokens_per_correct", "seconds_per_correct"):
                if row[side][key] is not None:
                    values[f"cost/{row['task']}/{key}/{side}"] = row[side][key]
    return values


class CostSection(Section):
    """Serving cost per correct answer, each side (`make perf`'s throughput where it was measured)."""

    name = "serving_cost"

    def __init__(self, rows: list[dict]):
        self.rows = rows

    def terminal(self, console) -> None:
        print_cost(self.rows)

    def markdown(self) -> str:
        return cost_markdown(self.rows)

    def to_json(self) -> list[dict]:
        return self.rows

    def wandb(self, run, wandb, logged: dict) -> None:
        run.summary.update(cost_summary_values(self.rows))
        if self.rows:
            logged["serving_cost"] = wandb.Table(columns=COST_HEADERS, data=cost_rows(self.rows))
