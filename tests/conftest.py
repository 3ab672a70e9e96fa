from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _cache_env(tmp_path_factory):
    """Share one cache (tiny model, toy data) across the session unless the Makefile already set one."""
    if not os.environ.get("REASONLIFT_CACHE"):
        os.environ["REASONLIFT_CACHE"] = str(tmp_path_factory.mktemp("reasonlift-cache"))
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    yield


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A private results/generations cache, with the shared tiny model and toy data linked in."""
    from recipes.builtins.tiny_model import tiny_model_path
    from recipes.builtins.toy_data import toy_dataset_path

    shared_model, shared_data = tiny_model_path(), toy_dataset_path()
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "data").mkdir()
    (cache / "models" / shared_model.name).symlink_to(shared_model)
    (cache / "data" / shared_data.name).symlink_to(shared_data)
    monkeypatch.setenv("REASONLIFT_CACHE", str(cache))
    return cache


def write_recipe(path: Path, base: str = "sft.yaml", **overrides) -> Path:
    """A smoke recipe (recipes/smoke/<base>) with nested overrides (dotted keys), written to `path`. Its
    training output goes beside it (never the repository's own outputs/, which `make demo` fills)."""
    data = yaml.safe_load((REPO / "recipes" / "smoke" / base).read_text())
    if "train" in data:
        data["train"]["output_dir"] = str(path.parent / "outputs" / data["name"])
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


DELETE = object()


@dataclass(frozen=True)
class Trained:
    recipe: Path  # absolute
    out: Path  # the recipe's train.output_dir
    workdir: Path  # a third folder, neither the repository nor the recipe's


@pytest.fixture(scope="session")
def trained_smoke(tmp_path_factory) -> Trained:
    """The one trained model for the slow tests that only need one (compare, view, serving): the demo's SFT
    recipe for 8 epochs, moved to a folder of its own with a relative output_dir, trained from a third working
    directory. Under the path rule (relative to the recipe file), its output lands beside the recipe."""
    from tests.e2e import check, run_command

    root = tmp_path_factory.mktemp("trained")
    (root / "lab" / "recipes").mkdir(parents=True)
    (root / "elsewhere").mkdir()
    recipe = write_recipe(
        root / "lab" / "recipes" / "moved.yaml",
        **{
            "train.output_dir": "../outputs/moved",
            "train.args.num_train_epochs": 8,
            "eval.tasks": {"toy_addition": {"n": 4}},
        },
    )
    check(run_command("-m", "train.cli", "../lab/recipes/moved.yaml", cwd=root / "elsewhere"))
    return Trained(recipe, root / "lab" / "outputs" / "moved", root / "elsewhere")
