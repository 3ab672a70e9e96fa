"""`make rescore file=F.jsonl`: grade `{task, response, gold}` lines with the evaluation's answer checker."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from eval.scoring import grade
from eval.task_catalog import TASKS
from recipes.errors import UserError


def rescore_jsonl(path: Path) -> dict[str, float]:
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    graded, totals = [], defaultdict(list)
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            task, response, gold = row["task"], row["response"], str(row["gold"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise UserError(f"{path}:{number}: expected a JSON object with task, response and gold") from None
        if task not in TASKS:
            raise UserError(f"{path}:{number}: unknown task {task!r}; expected one of {', '.join(TASKS)}")
        result = grade(response, gold, TASKS[task].answer_kind)
        graded.append({**row, "extracted": result.extracted, "correct": result.correct})
        totals[task].append(result.correct)
    out = path.with_suffix(".rescored.jsonl")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in graded))
    accuracy = {task: sum(v) / len(v) for task, v in totals.items()}
    for task, value in accuracy.items():
        print(f"{task}: {100 * value:.1f}% of {len(totals[task])} responses correct")
    print(f"wrote {out}")
    return accuracy
