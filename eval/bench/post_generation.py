"""`make bench stages=analysis`: the post-generation side of a full compare, on a synthetic one the bench builds.

The compare is built by eval.bench.synthetic (both sides' generations written with the project's own store, at
the protocol's sizes: 11,008 samples, ~406 M characters), then `make compare --cached-only` runs on it twice, as a
user runs it, in a cache of its own (so nothing earlier is reused):
- the first time it grades every sample, pairs, analyses how the models think, writes its files: its stage times
  (the compare's own stopwatch) give the thinking analysis beside the grading of the same samples;
- the second time it reads the cached results and the cached analysis: what a second `make compare` or
  `make view` costs.
Peak memory is the compare process's high-water mark (its analysis workers are children of it and count
separately in the kernel's accounting: the figure is the largest single process).
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

from recipes.log import info

# the target: the analysis at most this many times the grading of the same samples
ANALYSIS_TO_GRADING_TARGET = 5.0


def _compare(recipe_path: Path, cache: Path) -> tuple[float, dict]:
    """`make compare --cached-only` on the synthetic compare, as a user runs it, in a cache of its own: its wall
    time and compare.json (whose `timings_s` are the compare's own stage times)."""
    import json
    import subprocess
    import sys

    from recipes import load_recipe
    from recipes.paths import REPO_ROOT
    from recipes.runs import compare_dir

    env = {**os.environ, "REASONLIFT_CACHE": str(cache), "PYTHONPATH": str(REPO_ROOT)}
    tuned = recipe_path.parent / "tuned"
    command = [
        *(sys.executable, "-m", "eval.cli", "compare", str(recipe_path)),
        *("--tuned", str(tuned), "--cached-only", "--no-wandb"),
    ]
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"the synthetic compare failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    folder = compare_dir(load_recipe(recipe_path))
    return seconds, json.loads((folder / "compare.json").read_text())


def bench_analysis(out_dir: Path, scale: float = 1.0) -> dict:
    from eval.bench.synthetic import build_compare

    work = out_dir / "synthetic-compare"
    cache = work / "cache"
    previous = os.environ.get("REASONLIFT_CACHE")
    os.environ["REASONLIFT_CACHE"] = str(cache)  # the stores are written here: nothing earlier is reused
    try:
        if work.exists():
            import shutil

            shutil.rmtree(work)
        started = time.monotonic()
        recipe_path = build_compare(work, scale=scale)
        built = time.monotonic() - started
    finally:
        if previous is None:
            os.environ.pop("REASONLIFT_CACHE", None)
        else:
            os.environ["REASONLIFT_CACHE"] = previous
    first_s, first = _compare(recipe_path, cache)
    peak_first = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9
    second_s, second = _compare(recipe_path, cache)
    laps = first["timings_s"]
    grading, analysis = laps["evaluation"], laps["thinking analysis"]
    whole = [row for row in first["reasoning"] if row["subset"] is None]
    samples = sum(row["baseline"]["samples"] + row["tuned"]["samples"] for row in whole)
    cut = sum(row["baseline"].get("search_cut", 0) + row["tuned"].get("search_cut", 0) for row in whole)
    result = {
        "scale": scale,
        "samples": samples,
        "build_s": round(built, 1),
        "first_compare_s": round(first_s, 1),
        "stages_s": laps,
        "grading_s": grading,
        "analysis_s": analysis,
        "analysis_to_grading": round(analysis / grading, 2) if grading else None,
        "target": ANALYSIS_TO_GRADING_TARGET,
        "second_compare_s": round(second_s, 1),
        "second_stages_s": second["timings_s"],
        "search_cut_samples": cut,
        "peak_rss_gb": round(peak_first, 2),
        "cpus": len(os.sched_getaffinity(0)),
    }
    info(
        f"post-generation on a synthetic compare ({samples:,} samples): first compare {first_s:.0f} s (grading "
        f"{grading:.0f} s, thinking analysis {analysis:.0f} s = {result['analysis_to_grading']}x grading; target <= "
        f"{ANALYSIS_TO_GRADING_TARGET:g}x), second compare {second_s:.1f} s; peak memory {peak_first:.2f} GB; "
        f"{cut} sample(s) with their first-correct search cut"
    )
    return result
