"""`make bench stages=analysis`: the post-generation side of a full compare, on a synthetic one the bench builds.

The compare is built by eval.bench.synthetic (both sides' generations written with the project's own store, at
the protocol's sizes: 11,008 samples, ~406 M characters), then `make compare --cached-only` runs on it twice in
this process, in a cache of its own (so nothing earlier is reused):
- the first time it grades every sample, pairs, analyses how the models think, writes its files: its stage times
  (the compare's own stopwatch) give the thinking analysis beside the grading of the same samples;
- the second time it reads the cached results and the cached analysis: what a second `make compare` or
  `make view` costs.
Peak memory is the process's own high-water mark (and its workers', for the analysis).
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

# the target: the analysis at most this many times the grading of the same samples
ANALYSIS_TO_GRADING_TARGET = 5.0


def _peak_rss_gb() -> tuple[float, float]:
    """(this process, its finished children) peak resident memory, GB (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return own * 1024 / 1e9, children * 1024 / 1e9


def bench_analysis(out_dir: Path, scale: float = 1.0) -> dict:
    from eval.bench.synthetic import build_compare
    from eval.compare.command import run_compare
    from recipes import load_recipe

    work = out_dir / "synthetic-compare"
    previous = os.environ.get("REASONLIFT_CACHE")
    os.environ["REASONLIFT_CACHE"] = str(work / "cache")  # nothing from an earlier run is reused
    try:
        started = time.monotonic()
        recipe_path = build_compare(work, scale=scale)
        built = time.monotonic() - started
        recipe = load_recipe(recipe_path)
        started = time.monotonic()
        first = run_compare(recipe, use_wandb=False, generate=False)
        first_s = time.monotonic() - started
        started = time.monotonic()
        second = run_compare(recipe, use_wandb=False, generate=False)
        second_s = time.monotonic() - started
    finally:
        if previous is None:
            os.environ.pop("REASONLIFT_CACHE", None)
        else:
            os.environ["REASONLIFT_CACHE"] = previous
    laps = first["timings_s"]
    grading, analysis = laps["evaluation"], laps["thinking analysis"]
    samples = sum(
        row["baseline"]["samples"] + row["tuned"]["samples"]
        for row in first["reasoning"]
        if row["subset"] is None
    )
    own, children = _peak_rss_gb()
    cut = sum(
        row["baseline"].get("search_cut", 0) + row["tuned"].get("search_cut", 0)
        for row in first["reasoning"]
        if row["subset"] is None
    )
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
        "peak_rss_gb": round(own, 2),
        "peak_rss_workers_gb": round(children, 2),
        "cpus": len(os.sched_getaffinity(0)),
    }
    print(
        f"post-generation on a synthetic compare ({samples:,} samples): first compare {first_s:.0f} s (grading "
        f"{grading:.0f} s, thinking analysis {analysis:.0f} s = {result['analysis_to_grading']}x grading; target <= "
        f"{ANALYSIS_TO_GRADING_TARGET:g}x), second compare {second_s:.1f} s; peak memory {own:.2f} GB "
        f"(workers {children:.2f} GB); {cut} sample(s) with their first-correct search cut"
    )
    return result
