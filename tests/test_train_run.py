"""A training run is resolved once (`train.run`, `train.preflight`): the launcher, `make plan` and every worker
receive the same run, TRL's defaults come from TRL, and the recipe's path keys are declared once on the schema."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import yaml

from recipes import load_recipe
from recipes.schema import path_fields
from tests.conftest import REPO, write_recipe


def test_the_launcher_make_plan_and_every_worker_receive_the_same_run(tmp_path, monkeypatch):
    import train.worker
    from train.cli import launch_command, prepare_run
    from train.preflight import preflight
    from train.run import TrainRun

    overrides = ["train.args.seed=7", "train.args.learning_rate=3e-5"]
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml"), overrides=overrides)
    launched = prepare_run(recipe, resume=False)  # make train's launcher (it builds the builtin model)
    planned = preflight(recipe, None, evaluation=True, resolve=False)  # make plan (it downloads nothing)
    assert launched.model and Path(launched.model, "config.json").exists()
    assert planned.model is None
    assert dataclasses.replace(planned, model=launched.model) == launched
    assert planned.plan.processes == launched.processes == launched.plan.processes

    run_file = launched.write(tmp_path / "run.json")
    command = launch_command(launched, run_file, resume=True)
    assert command[command.index("train.worker") + 1 :] == [str(run_file), "--resume"]
    received: list[tuple[TrainRun, bool]] = []
    monkeypatch.setattr(train.worker, "train_run", lambda run, resume: received.append((run, resume)))
    train.worker.main([str(run_file), "--resume"])  # the worker's own command line
    [(worker_run, resume)] = received
    assert worker_run == launched and resume
    assert worker_run.recipe.overrides == overrides and worker_run.args["learning_rate"] == 3e-5
    assert worker_run.recipe.source == recipe.source


def test_the_effective_arguments_are_trls_own_defaults_under_the_recipes(tmp_path):
    from trl import GRPOConfig, SFTConfig

    from train.common import finished_run
    from train.run import describe

    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", **{"train.args": {"learning_rate": 1e-5}}))
    run = describe(recipe)
    built = run.trl_config(SFTConfig, run_name="x")
    for key in ("num_train_epochs", "max_steps", "weight_decay", "save_steps", "adam_beta2"):
        assert run.args[key] == getattr(built, key), key  # what TRL's config holds, not a copy of its numbers
    assert run.args["learning_rate"] == 1e-5
    grpo = load_recipe(REPO / "recipes" / "smoke" / "grpo.yaml", check_paths=False)
    grpo_run = describe(grpo)
    assert "epsilon" not in grpo.train.args
    assert grpo_run.args["epsilon"] == GRPOConfig(output_dir=str(tmp_path), use_cpu=True).epsilon
    # a run with no epochs set is finished at TRL's default epochs
    out = Path(recipe.train.output_dir)
    out.mkdir(parents=True)
    (out / "train_summary.json").write_text(f'{{"global_step": 9, "epochs": {built.num_train_epochs}}}')
    assert finished_run(recipe) is not None
    (out / "train_summary.json").write_text(f'{{"global_step": 9, "epochs": {built.num_train_epochs - 1}}}')
    assert finished_run(recipe) is None


def test_every_declared_path_key_is_made_absolute_checked_and_kept_absolute(tmp_path, monkeypatch):
    """Each key declared with `PathField` on the schema, set to a relative path in a recipe in another folder:
    the loader makes it absolute from the recipe's folder, refuses a missing one it must find, and the recipe copy
    beside the model names the same absolute paths. A new path key is covered by declaring it."""
    from train.common import copy_recipe

    lab = tmp_path / "lab"
    shutil.copytree(REPO / "recipes" / "smoke", lab)
    (lab / "data").mkdir()
    (lab / "data" / "rows.jsonl").write_text('{"messages": [{"role": "user", "content": "1+1"}]}\n')
    (lab / "bench").mkdir()
    shutil.copy(REPO / "accelerate_configs" / "cpu.yaml", lab / "launch.yaml")
    data = yaml.safe_load((lab / "sft.yaml").read_text())
    data["train"].update(output_dir="runs/out", accelerate_config="./launch.yaml")
    data["train"]["dataset"] = {"path": "data/rows.jsonl"}
    data["eval"].update(data_dir="./bench", output_dir="evals")
    (lab / "sft.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)  # neither the repository nor the recipe's folder
    recipe = load_recipe(lab / "sft.yaml")
    declared = {key for key, *_ in path_fields(recipe)}
    assert {"train.output_dir", "train.accelerate_config", "train.dataset.path", "eval.data_dir"} <= declared
    for key, owner, name, *_ in path_fields(recipe):
        value = getattr(owner, name)
        if not value.startswith("builtin:"):
            assert Path(value).is_absolute() and Path(value).is_relative_to(lab), (key, value)
    copy_recipe_dir = Path(recipe.train.output_dir)
    copy_recipe_dir.mkdir(parents=True)
    copy_recipe(recipe)
    kept = load_recipe(copy_recipe_dir / "recipe.yaml", check_paths=False)
    assert {k: getattr(o, n) for k, o, n, *_ in path_fields(kept)} == {
        k: getattr(o, n) for k, o, n, *_ in path_fields(recipe)
    }
    # the keys that must exist are checked, each named
    shutil.rmtree(lab / "bench")
    (lab / "data" / "rows.jsonl").unlink()
    from recipes.errors import RecipeError

    try:
        load_recipe(lab / "sft.yaml")
    except RecipeError as err:
        assert "eval.data_dir: path './bench' does not exist" in str(err)
        assert "train.dataset.path: path 'data/rows.jsonl' does not exist" in str(err)
    else:
        raise AssertionError("missing paths were not refused")
