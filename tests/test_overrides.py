"""`--set KEY=VALUE`: any recipe key overridden from the command line, validated like the file."""

from __future__ import annotations

import pytest

from recipes.errors import RecipeError
from recipes.loader import load_recipe
from tests.conftest import write_recipe


def test_an_override_changes_the_value_with_yaml_types(tmp_path):
    path = write_recipe(tmp_path / "r.yaml")
    recipe = load_recipe(
        path,
        overrides=[
            "train.args.learning_rate=1e-5",
            "train.args.gradient_checkpointing=true",
            "eval.tasks.toy_addition.n=2",
            "wandb.tags=[a, b]",
        ],
    )
    assert recipe.train.args["learning_rate"] == 1e-5 and recipe.train.args["gradient_checkpointing"] is True
    assert recipe.eval.tasks["toy_addition"].n == 2 and recipe.wandb.tags == ["a", "b"]
    assert recipe.overrides[0] == "train.args.learning_rate=1e-5"
    assert load_recipe(path).train.args["learning_rate"] == 3e-3  # the file itself is unchanged


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("train.args.learning_rat", "expected KEY=VALUE"),
        ("=3", "expected KEY=VALUE"),
        ("train..lr=1", "expected KEY=VALUE"),
        ("model.name_or_path.x=1", "model.name_or_path is a value, not a section of keys"),
        (
            "eval.generation.temperatur=0.5",
            "eval.generation.temperatur: unknown key; did you mean 'temperature'?",
        ),
        (
            "eval.generation.max_new_tokens=-1",
            "eval.generation.max_new_tokens: Input should be greater than 0",
        ),
    ],
)
def test_a_bad_override_is_one_error_naming_it(tmp_path, item, message):
    with pytest.raises(RecipeError) as err:
        load_recipe(write_recipe(tmp_path / "r.yaml"), overrides=[item])
    assert message in str(err.value) and "with --set" in str(err.value)


def test_make_train_passes_overrides_to_every_worker_and_keeps_them_with_the_model(tmp_path):
    from recipes import load_recipe
    from train.cli import prepare_run
    from train.common import copy_recipe
    from train.run import TrainRun

    path = write_recipe(tmp_path / "r.yaml")
    overrides = ["train.args.num_train_epochs=1", "train.args.seed=7"]
    run = prepare_run(load_recipe(path, overrides=overrides), resume=False)
    worker_run = TrainRun.read(run.write(tmp_path / "run.json"))  # what every worker reads
    assert worker_run.recipe.overrides == overrides and worker_run.recipe.train.args["seed"] == 7
    assert worker_run.args["num_train_epochs"] == 1
    recipe = load_recipe(path, overrides=overrides)
    out = tmp_path / "outputs" / recipe.name
    out.mkdir(parents=True, exist_ok=True)  # prepare made it (checked writable)
    copy_recipe(recipe)
    kept = (out / "recipe.yaml").read_text()
    assert kept.startswith(f"# {path} with --set train.args.num_train_epochs=1 train.args.seed=7")
    assert load_recipe(out / "recipe.yaml", check_paths=False).train.args["seed"] == 7


def test_plan_and_compare_take_set_too(tmp_path, capsys):
    from train.plan.__main__ import main

    path = write_recipe(tmp_path / "r.yaml")
    main([str(path), "--set", "train.args.per_device_train_batch_size=4"])
    assert "4 sequences x 128 tokens per micro-batch" in capsys.readouterr().out


def test_the_command_line_hands_its_overrides_to_the_launch(tmp_path, monkeypatch):
    """`train.cli --set` as a user types it: the plan, the output folder and every worker see the override."""
    import train.cli

    launched = []
    monkeypatch.setattr(train.cli, "run_launch", lambda run, resume: launched.append(run))
    path = write_recipe(tmp_path / "r.yaml")
    other = tmp_path / "elsewhere"
    train.cli.main([str(path), "--set", f"train.output_dir={other}", "--set", "train.args.seed=3"])
    [run] = launched
    assert run.recipe.overrides == [f"train.output_dir={other}", "train.args.seed=3"]
    assert run.recipe.train.output_dir == str(other) and run.args["seed"] == 3


def test_the_copied_recipe_names_the_same_folders_from_the_output_folder(tmp_path):
    from recipes import load_recipe
    from train.common import copy_recipe

    (tmp_path / "data.jsonl").write_text('{"messages": []}\n')
    path = write_recipe(
        tmp_path / "r.yaml", **{"train.output_dir": "runs/a", "train.dataset.path": "./data.jsonl"}
    )
    recipe = load_recipe(path)
    (tmp_path / "runs" / "a").mkdir(parents=True)
    copy_recipe(recipe)
    copied = load_recipe(tmp_path / "runs" / "a" / "recipe.yaml")
    assert copied.train.output_dir == recipe.train.output_dir == str(tmp_path / "runs" / "a")
    assert copied.train.dataset.path == str(tmp_path / "data.jsonl")


# Every command that reads a recipe, as a user types it, with a key that does not exist
RECIPE_COMMANDS = {
    "train": ["{r}"],
    "plan": ["{r}"],
    "slurm": ["{r}"],
    "compare": ["{r}"],
    "bench": ["{r}"],
    "serve": ["{r}"],
    "perf": ["{r}"],
    "contamination": ["{r}"],
    "check": ["{r}"],
    "get": ["{r}", "model.name_or_path"],
    "eval": ["builtin:tiny-qwen2", "--recipe", "{r}"],
    "analyze": ["builtin:tiny-qwen2", "--recipe", "{r}"],
    "chat": ["builtin:tiny-qwen2", "2+2?", "--recipe", "{r}"],
    "rescore": ["--recipe", "{r}"],
    "view": ["--recipe", "{r}"],
}


def test_every_command_that_reads_a_recipe_takes_set_and_names_a_bad_key(tmp_path, capsys):
    from importlib.metadata import entry_points

    from recipes.cli import GROUP, run

    points = {point.name: point for point in entry_points(group=GROUP)}
    assert set(RECIPE_COMMANDS) <= set(points)
    path = write_recipe(tmp_path / "r.yaml")
    for name, args in RECIPE_COMMANDS.items():
        argv = [a.format(r=path) for a in args] + ["--set", "train.args.no_such_key=1"]
        with pytest.raises(SystemExit) as exited:
            run(points[name].load(), argv)
        said = capsys.readouterr()
        assert exited.value.code != 0 and "no_such_key" in said.out + said.err, (name, said)
