"""`make compare`: evaluate both sides, pair them problem by problem, guard that they were evaluated alike,
report (terminal, files, plots, W&B)."""

from __future__ import annotations

import errno
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eval.comparison.budget import task_budget
from eval.comparison.checkpoints import checkpoint_curve
from eval.comparison.cost import serving_cost
from eval.comparison.guard import settings_mismatches
from eval.comparison.pairing import TaskComparison, compare_task
from eval.comparison.published import check_baseline
from eval.comparison.seeds import method_task
from eval.comparison.selection import Selection, SelectionAdjustment, select_checkpoint, selection_adjustments
from eval.endpoint import is_endpoint
from eval.evaluate import ModelEvaluation, evaluate_model
from eval.models import token_counter
from eval.reasoning.analysis import analyse_tasks, comparison_rows
from eval.reporting.files import write_reports
from eval.reporting.sections.base import emit
from eval.reporting.sections.budget import BudgetSection
from eval.reporting.sections.contamination import ContaminationSection
from eval.reporting.sections.cost import CostSection
from eval.reporting.sections.details import DetailsSection
from eval.reporting.sections.health import HealthSection
from eval.reporting.sections.method import MethodSection
from eval.reporting.sections.published import PublishedSection
from eval.reporting.sections.reasoning import ReasoningSection
from eval.reporting.sections.samples import SamplesSection
from eval.reporting.sections.selection import SelectionSection
from eval.reporting.sections.table import CurveSection, TableSection
from recipes.errors import UserError
from recipes.log import info
from recipes.provenance import provenance
from recipes.runs import compare_dir, last_checkpoint, output_dir, seed_label, seed_runs
from recipes.schema import Recipe

if TYPE_CHECKING:
    from eval.contamination.check import ContaminationReport

STATISTICS = {
    "unit": "problem",
    "interval": "95% paired t interval over problems (scipy.stats.ttest_rel); coverage checked by simulation",
    "test": "paired permutation (sign-flip), exact up to 16 non-zero differences, else 10,000 random sign "
    "patterns (scipy.stats.permutation_test); p_at_floor: no pattern was as extreme, p <= 1/10,001; "
    "significant: p < 0.05",
    "levels": "sub-rows of a task (MATH-500 levels) are one family: p Holm-adjusted (statsmodels), * on it",
}


@dataclass
class Sides:
    """What is compared: the two models as the user named them, and their evaluations."""

    baseline_name: str
    tuned_name: str
    baseline: ModelEvaluation
    tuned: ModelEvaluation


def run_compare(
    recipe: Recipe,
    baseline: str | None = None,
    tuned: str | None = None,
    allow_mismatch: bool = False,
    use_wandb: bool | None = None,
    checkpoints: bool = False,
    regrade: bool = False,
    served: Served | None = None,
    generate: bool = True,
) -> dict:
    if checkpoints and tuned and is_endpoint(tuned):
        raise UserError("checkpoints=all evaluates the tuned run's checkpoint folders; tuned= is a URL here")
    runs = seed_runs(recipe) if tuned is None else [recipe]
    if len(runs) > 1 and checkpoints:
        raise UserError(
            "train.seeds compares each seed's model; for checkpoints=all compare one seed's run: "
            "--set train.seeds=[S]"
        )
    if tuned is None:
        for one in runs:
            _trained_model(one)  # a tuned model still training is said before the baseline is evaluated
    named_checkpoint = tuned if tuned and CHECKPOINT.fullmatch(Path(tuned).name) else None
    if named_checkpoint and not checkpoints:
        info(
            "notice: tuned= names a checkpoint: if it was chosen by its score on these tasks, add checkpoints=all "
            "for the selection-adjusted p (or choose on eval.selection's tasks)"
        )
    out_dir = writable_compare_dir(recipe)
    clock = Stopwatch()
    # each run's checkpoint chosen on the selection set, before any test task is looked at
    selections = (
        {
            seed_label(one) if len(runs) > 1 else "tuned": select_checkpoint(one, output_dir(one), generate)
            for one in runs
        }
        if recipe.eval.selection and tuned is None
        else {}
    )
    if selections:
        clock.lap("selection")
    elif recipe.eval.selection and tuned is not None:
        info("notice: tuned= names the tuned model, so eval.selection chooses nothing in this compare")
    chosen = [s.chosen.path for s in selections.values()] or [tuned] * len(runs)
    served = served or Served()
    sides = evaluate_sides(runs[0], baseline, chosen[0], regrade, served, generate)
    seeds: dict[str, ModelEvaluation] = {}
    if len(runs) > 1:
        seeds[seed_label(runs[0])] = sides.tuned
        for one, path in list(zip(runs, chosen, strict=True))[1:]:
            info(f"== tuned: {seed_label(one)}")
            seeds[seed_label(one)] = evaluate_model(
                path or str(output_dir(one)),
                label=seed_label(one),
                **_settings(recipe, regrade, served, generate),
            )
    clock.lap("evaluation")
    contamination = _contamination(recipe)
    clock.lap("contamination")
    comparisons = [
        compare_task(
            sides.baseline.results[t],
            sides.tuned.results[t],
            seen_in_training=frozenset(contamination.tasks[t].contaminated)
            if contamination and t in contamination.tasks
            else frozenset(),
        )
        for t in sides.baseline.results
    ]
    # every run beside the first, guarded like it: a method row over runs evaluated differently would mean little
    seed_mismatches = [
        f"{label}: {m}"
        for label, e in list(seeds.items())[1:]
        for t in sides.baseline.results
        if t in e.results
        for m in settings_mismatches(sides.baseline.results[t], e.results[t])
    ]
    mismatches = guard(comparisons, sides, allow_mismatch, seed_mismatches)
    clock.lap("statistics")
    curve: Curve | None = None
    adjustments = []
    if checkpoints:  # evaluated here, so that the report only reports
        evaluated: dict[str, ModelEvaluation] = {}
        run_folder = Path(sides.tuned.model.path)
        run_folder = run_folder.parent if CHECKPOINT.fullmatch(run_folder.name) else run_folder
        points = checkpoint_curve(
            recipe, run_folder, sides.baseline, sides.tuned, generate=generate, evaluated=evaluated
        )
        curve = Curve(points, evaluated)
        if named_checkpoint:
            adjustments = _adjustments(recipe, sides, evaluated, run_folder, regrade, served, generate)
        clock.lap("checkpoints")
    extra = Extra(selections, adjustments, seeds)
    try:
        return report(recipe, sides, comparisons, mismatches, curve, use_wandb, contamination, clock, extra)
    except OSError as err:  # the disk filled while the report was written: the evaluations are in the cache
        if err.errno not in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT):
            raise
        raise UserError(
            f"could not write the compare's files in {out_dir} ({err.strerror}); both evaluations are saved in the "
            "cache: free space and run the same `make compare` again, which reuses them"
        ) from None


@dataclass(frozen=True)
class Curve:
    """The checkpoint curve's points and each checkpoint's evaluation, by folder name."""

    points: list[dict]
    evaluations: dict[str, ModelEvaluation]


@dataclass(frozen=True)
class Extra:
    """How the tuned side was chosen, and the other training runs (seeds) beside it."""

    selections: dict[str, Selection] = field(default_factory=dict)  # per run (seed-<s>, or tuned)
    adjustments: list[SelectionAdjustment] = field(default_factory=list)
    seeds: dict[str, ModelEvaluation] = field(
        default_factory=dict
    )  # seed-<s> -> its final model's evaluation


CHECKPOINT = re.compile(r"checkpoint-\d+")


def _adjustments(
    recipe: Recipe,
    sides: Sides,
    evaluated: dict[str, ModelEvaluation],
    run_folder: Path,
    regrade: bool,
    served: Served,
    generate: bool,
) -> list[SelectionAdjustment]:
    """tuned= named one of the checkpoints evaluated here: its p adjusted for a choice among all of them (and the
    run's final model)."""
    candidates = dict(evaluated)
    if (run_folder / "config.json").exists():
        final = evaluate_model(str(run_folder), label="final", **_settings(recipe, regrade, served, generate))
        if all(e.model.fingerprint != final.model.fingerprint for e in candidates.values()):
            candidates["final"] = final
    chosen = next(
        (label for label, e in candidates.items() if e.model.fingerprint == sides.tuned.model.fingerprint),
        None,
    )
    if chosen is None or len(candidates) < 2:
        return []
    return selection_adjustments(
        sides.baseline.results, {label: e.results for label, e in candidates.items()}, chosen
    )


def _contamination(recipe: Recipe) -> ContaminationReport | None:
    """The recipe's training problems against its evaluation problems, when it trains on a dataset; a notice
    (not an error: the evaluations are done) when the training data cannot be read here."""
    from eval.contamination.check import check_contamination, trains_on_data

    if not trains_on_data(recipe):
        return None
    try:
        return check_contamination(recipe)
    except Exception as err:  # no network, a gated dataset, an unexpected row layout
        info(
            f"notice: contamination not checked: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
        )
        return None


@dataclass(frozen=True)
class Served:
    """For sides given as URLs: the served model names (when a server has several) and whether to forget
    what was saved for them."""

    baseline_model: str | None = None
    tuned_model: str | None = None
    refresh: bool = False


def evaluate_sides(
    recipe: Recipe,
    baseline: str | None,
    tuned: str | None,
    regrade: bool,
    served: Served = Served(),
    generate: bool = True,
) -> Sides:
    baseline_name = baseline or recipe.model.name_or_path
    tuned_name = tuned or _trained_model(recipe)
    common = _settings(recipe, regrade, served, generate)
    info(f"== baseline: {baseline_name}")
    base_eval = evaluate_model(
        baseline_name,
        revision=recipe.model.revision if baseline is None else None,
        label="baseline",
        served_model=served.baseline_model,
        **common,
    )
    info(f"== tuned: {tuned_name}")
    tuned_eval = evaluate_model(tuned_name, label="tuned", served_model=served.tuned_model, **common)
    return Sides(baseline_name, tuned_name, base_eval, tuned_eval)


def _settings(recipe: Recipe, regrade: bool, served: Served, generate: bool) -> dict:
    """What every side of one compare is evaluated with."""
    return dict(
        spec=recipe.eval,
        chat_template=recipe.model.chat_template,
        regrade=regrade,
        tokenizer_from=recipe.model.name_or_path,
        refresh=served.refresh,
        generate=generate,
    )


def _trained_model(recipe: Recipe) -> str:
    if recipe.train is None:
        raise UserError(
            f"{recipe.source}: no `train` section, so name the tuned model: `make compare ... tuned=PATH`"
        )
    folder = output_dir(recipe)
    if not folder.exists():
        raise UserError(
            f"the tuned model {recipe.train.output_dir} does not exist yet: run `make train recipe={recipe.source}` "
            "first, or name another with tuned=PATH"
        )
    if not (folder / "config.json").exists() and not is_endpoint(str(folder)):
        holder = (folder / ".train.lock").read_text().strip() if (folder / ".train.lock").exists() else ""
        last = last_checkpoint(folder)
        who = f" ({holder.split(',')[0]} is training into it)" if holder else ""
        pick = f"; or compare its last checkpoint now: tuned={last}" if last else ""
        raise UserError(
            f"training not finished: {folder} holds no final model yet{who}. Wait for `make train` to end (or "
            f"resume it: `make train recipe={recipe.source} resume=1`){pick}"
        )
    return recipe.train.output_dir


# The compare's files (tables, details, plots) at full scale are a few hundred MB.
MIN_FREE_BYTES = 200 * 1024**2


def writable_compare_dir(recipe: Recipe) -> Path:
    """The compare's output folder, checked before anything is evaluated: writable, with room for the report."""
    import tempfile

    try:
        folder = compare_dir(recipe)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        where = err.filename or recipe.eval.output_dir or "the compare folder"
        raise UserError(
            f"cannot write the compare's files to {where} ({err.strerror}): set eval.output_dir to a writable folder"
        ) from None
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise UserError(
            f"{folder}: {free / 1e6:,.0f} MB free, and the compare's tables, details and plots can take "
            f"{MIN_FREE_BYTES / 1e6:,.0f} MB: free space or set eval.output_dir elsewhere"
        )
    return folder


def guard(
    comparisons: list[TaskComparison], sides: Sides, allow_mismatch: bool, more: list[str] | None = None
) -> list[str]:
    """Every way the two sides (and `more`: the other training runs) were not evaluated alike; an error unless
    the user allowed it."""
    mismatches = [m for c in comparisons for m in c.mismatches] + (more or [])
    if mismatches and not allow_mismatch:
        raise UserError(
            "the two sides were not evaluated alike, so their difference would not mean much:\n  - "
            + "\n  - ".join(mismatches)
            + "\nre-run with the same settings, or add mismatch=allow to compare anyway (the table is then marked)"
        )
    if sides.baseline.model.fingerprint == sides.tuned.model.fingerprint:
        info("notice: baseline and tuned have identical weights: every delta below is sampling noise")
    return mismatches


def report(
    recipe: Recipe,
    sides: Sides,
    comparisons: list[TaskComparison],
    mismatches: list[str],
    curve: Curve | None,
    use_wandb: bool | None,
    contamination: ContaminationReport | None = None,
    clock: Stopwatch | None = None,
    extra: Extra | None = None,
) -> dict:
    """The report: its sections built, then emitted once per output (terminal, files, W&B)."""
    clock = clock or Stopwatch()
    extra = extra or Extra()
    out_dir = compare_dir(recipe)
    reasoning_rows, reasoning_pairs = _reasoning(recipe, sides)
    clock.lap("thinking analysis")
    tasks = list(sides.baseline.results)
    title = f"{recipe.name}: {sides.baseline_name} → {sides.tuned_name}"
    if extra.seeds:
        title += f" (the first of {len(extra.seeds)} training runs; the method table below covers them all)"
    sections = [
        TableSection(comparisons, title, bool(mismatches)),
        MethodSection(
            [
                method_task(
                    sides.baseline.results[t], {label: e.results[t] for label, e in extra.seeds.items()}
                )
                for t in tasks
            ]
            if extra.seeds
            else None,
            one_run_note=recipe.train is not None,
        ),
        SelectionSection(extra.selections, extra.adjustments),
        HealthSection(
            {  # the trained sides' folders (a served model's local folder is only its tokenizer)
                label: e.model.path
                for label, e in (extra.seeds or {"tuned": sides.tuned}).items()
                if e.model.endpoint is None
            },
            recipe.train.method if recipe.train else None,
            {n: r.model_dump(exclude_none=True) for n, r in recipe.train.health.rules.items()}
            if recipe.train
            else None,
        ),
        PublishedSection(check_baseline(sides.baseline.model.name, sides.baseline.results)),
        ContaminationSection(contamination),
        DetailsSection(
            {
                "baseline": sides.baseline,
                "tuned": sides.tuned,
                **(curve.evaluations if curve else {}),
                **{label: e for label, e in list(extra.seeds.items())[1:]},  # the first is `tuned`
            }
        ),
        *([CurveSection(curve.points)] if curve is not None else []),
        ReasoningSection(reasoning_rows, reasoning_pairs),
        CostSection(serving_cost(sides.baseline, sides.tuned)),
        BudgetSection([task_budget(sides.baseline.results[t], sides.tuned.results[t]) for t in tasks]),
        SamplesSection(sides.baseline, sides.tuned),
    ]
    emitted = emit(sections, out_dir, _payload(recipe, sides, mismatches))
    clock.lap("report")
    payload = {**emitted.payload, "timings_s": clock.laps}  # up to the files; W&B follows
    paths = write_reports(out_dir, emitted.markdown, payload)
    written = [*paths.values(), emitted.files["csv"], *emitted.plots.values()]
    info(f"wrote {', '.join(str(p) for p in written)} and details/ in {out_dir}")
    if recipe.wandb.enabled if use_wandb is None else use_wandb:
        from eval.reporting.wandb_run import log_compare_run

        config = {"baseline": sides.baseline_name, "tuned": sides.tuned_name, "settings": payload["settings"]}
        log_compare_run(recipe, out_dir, sections, emitted.plots, config)
    clock.lap("report")
    info(f"took {clock.summary()}")
    payload["timings_s"] = clock.laps
    info(f"next: look at what changed, problem by problem, in the browser: {view_command(recipe)}")
    return payload


class Stopwatch:
    """Seconds spent in each stage of a compare (a stage met twice adds up), for the closing line and the bench."""

    def __init__(self) -> None:
        import time

        self._now = time.monotonic
        self._last = self._now()
        self.laps: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = self._now()
        self.laps[stage] = round(self.laps.get(stage, 0.0) + now - self._last, 3)
        self._last = now

    def summary(self) -> str:
        total = sum(self.laps.values())
        return f"{total:.1f} s: " + ", ".join(
            f"{stage} {seconds:.1f} s" for stage, seconds in self.laps.items()
        )


def view_command(recipe: Recipe) -> str:
    source = Path(recipe.source) if recipe.source else None
    if source is not None and source.is_relative_to(Path.cwd()):
        source = source.relative_to(Path.cwd())
    shown = str(source) if source else "RECIPE"
    return f"make view recipe={shown if ' ' not in shown else repr(shown)}"


def _reasoning(recipe: Recipe, sides: Sides):
    """The second section: how each side thinks, from the generations already graded."""
    spec = recipe.eval.analysis
    tasks = list(sides.baseline.results)
    analysed = analyse_tasks(
        [
            (side.results[t], _counter(side), side.model.path)
            for t in tasks
            for side in (sides.baseline, sides.tuned)
        ],
        spec,
    )
    pairs = [(analysed[2 * k], analysed[2 * k + 1]) for k in range(len(tasks))]
    return [row for base, tuned in pairs for row in comparison_rows(base, tuned)], pairs


def _counter(evaluation: ModelEvaluation):
    """The side's token counter, made when the analysis first needs one (a cached analysis needs none)."""
    made = []

    def count(text: str) -> int:
        if not made:
            made.append(token_counter(evaluation.model.path))
        return made[0](text)

    return count


def _side(evaluation: ModelEvaluation) -> dict:
    return {
        "model": evaluation.model.name,
        "path": evaluation.model.path,
        "fingerprint": evaluation.model.fingerprint,
        "reused_cached_results": evaluation.reused,
        "metrics": {name: r.metrics for name, r in evaluation.results.items()},
    }


def _payload(recipe: Recipe, sides: Sides, mismatches: list[str]) -> dict:
    """compare.json's own part: what was compared and how; each section adds its entry."""
    return {
        "recipe": recipe.name,
        "recipe_path": recipe.source,
        "baseline": _side(sides.baseline),
        "tuned": _side(sides.tuned),
        "settings": {name: r.settings for name, r in sides.baseline.results.items()},
        "mismatched_settings": mismatches,
        # golds math-verify cannot read, compared as text only: the same problems on both sides
        "unparsed_golds": {
            name: {"count": len(ids), "problems": ids}
            for name, r in sides.baseline.results.items()
            for ids in [r.unparsed_golds()]
        },
        "statistics": STATISTICS,
        "provenance": provenance(),
        "eval_spec": recipe.eval.model_dump(),
    }
