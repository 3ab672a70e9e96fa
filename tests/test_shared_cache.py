"""Several evaluations sharing one cache: no sample is generated twice, and a resumed run generates only
the samples that are missing (real pipeline, tiny model, transformers engine)."""

import collections
import contextlib
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, write_recipe

N = 4


def _store(recipe_path):
    from eval.models import resolve_model
    from eval.settings import resolve_tasks
    from eval.stores.generations import GenerationStore
    from recipes import load_recipe

    recipe = load_recipe(recipe_path)
    (run,) = resolve_tasks(recipe.eval)
    ref = resolve_model(recipe.model.name_or_path, None, recipe_path.parent)
    return GenerationStore(ref.fingerprint, run.sampling).path


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _eval(recipe_path):
    return subprocess.Popen(
        [sys.executable, "-m", "eval.cli", "eval", "builtin:tiny-qwen2", "--recipe", str(recipe_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "REASONLIFT_CACHE": os.environ["REASONLIFT_CACHE"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_two_evaluations_at_once_generate_each_sample_once_and_a_rerun_only_what_is_missing(
    tmp_path, isolated_cache
):
    recipe_path = write_recipe(
        tmp_path / "shared.yaml",
        **{
            "eval.tasks": {"toy_addition": {"n": N}},
            "eval.backend": "transformers",
            "eval.generation.max_new_tokens": 24,
        },
    )
    first, second = _eval(recipe_path), _eval(recipe_path)
    outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    store = _store(recipe_path)
    rows = _lines(store)
    counts = collections.Counter((r["key"], r["index"]) for r in rows)
    assert len(counts) == 30 * N and set(counts.values()) == {1}, "a sample was generated twice"
    # the second process found the store taken, waited, and then had nothing left to generate
    assert any("is generating it; waiting" in o or "already generated (cached)" in o for o in outputs), (
        outputs
    )

    # a run killed mid-problem: the last samples are gone and the last line is cut off half way
    kept = store.read_text().splitlines()[:-7]
    store.write_text("\n".join(kept) + "\n" + '{"key": "abc", "index": 1, "sam')
    for path in (isolated_cache / "results").rglob("*.json"):  # the task result too, so it is evaluated again
        path.unlink()
    rerun = _eval(recipe_path)
    output = rerun.communicate(timeout=600)[0]
    assert rerun.returncode == 0, output
    assert f"7 of {30 * N} samples to generate" in output
    rows = [r for r in (json.loads(x) for x in store.read_text().splitlines()[len(kept) + 1 :])]
    assert len(rows) == 7  # only the missing samples were generated
    counts = collections.Counter((r["key"], r["index"]) for r in _lines_tolerant(store))
    assert len(counts) == 30 * N and set(counts.values()) == {1}


def _lines_tolerant(path):
    rows = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            rows.append(json.loads(line))
    return rows
