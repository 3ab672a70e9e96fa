"""`make contamination recipe=R`: which evaluation problems the recipe's training data already holds.

The training side is each training row's problem statement (recipes.training_data.problem_statements),
the evaluation side each task's problem statement as lighteval loads it; ngrams.OverlapIndex does the
matching. `make compare` runs the same check and reports the delta on the clean problems beside the full one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from eval.contamination.ngrams import NGRAM, OverlapIndex
from eval.harness.pipeline import task_docs
from eval.settings import resolve_tasks
from recipes.schema import Recipe
from recipes.training_data import problem_statements


@dataclass(frozen=True)
class Hit:
    problem_id: str
    overlap: float  # share of the problem's n-grams found in training
    training_row: int  # the first training row (after max_samples) that holds one
    statement: str  # the start of the problem, to recognise it


@dataclass(frozen=True)
class TaskContamination:
    task: str
    problems: int
    hits: list[Hit]

    @property
    def contaminated(self) -> set[str]:
        return {h.problem_id for h in self.hits}


@dataclass(frozen=True)
class ContaminationReport:
    training: str  # what was read: the dataset and split
    training_rows: int
    ngram: int
    seconds: float  # the matching alone (loading excluded)
    tasks: dict[str, TaskContamination]

    def to_json(self) -> dict:
        return asdict(self)


def trains_on_data(recipe: Recipe) -> bool:
    return recipe.train is not None and recipe.train.dataset is not None


def check_contamination(recipe: Recipe) -> ContaminationReport:
    """The overlap between `recipe`'s training problems and each of its evaluation tasks' problems."""
    assert recipe.train is not None
    spec = recipe.train.dataset
    rows = problem_statements(spec, recipe.train.method)
    tasks: dict[str, list] = {
        run.name: task_docs(run, recipe.eval.max_problems) for run in resolve_tasks(recipe.eval)
    }
    docs = [(name, doc) for name, task in tasks.items() for doc in task]
    statements = [str((doc.specific or {}).get("statement", doc.query)) for _, doc in docs]
    started = time.perf_counter()
    index = OverlapIndex(statements, NGRAM)
    matches = index.scan(rows)
    seconds = time.perf_counter() - started
    hits: dict[str, list[Hit]] = {name: [] for name in tasks}
    for problem, match in sorted(matches.items()):
        name, doc = docs[problem]
        hits[name].append(
            Hit(
                problem_id=str((doc.specific or {}).get("problem_id", doc.id)),
                overlap=match.overlap(index.grams_per_problem[problem]),
                training_row=match.first_row,
                statement=" ".join(statements[problem].split())[:120],
            )
        )
    where = f"{spec.path}" + (f" ({spec.name})" if spec.name else "") + f" split {spec.split}"
    return ContaminationReport(
        training=where,
        training_rows=len(rows),
        ngram=NGRAM,
        seconds=seconds,
        tasks={name: TaskContamination(name, len(tasks[name]), hits[name]) for name in tasks},
    )
