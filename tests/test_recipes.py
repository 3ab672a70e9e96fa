import subprocess
import sys

import pytest

from recipes import RecipeError, load_recipe
from tests.conftest import DELETE, REPO, write_recipe

SHIPPED = sorted((REPO / "recipes").rglob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_recipes_validate(path):
    recipe = load_recipe(path, check_paths=False)
    assert recipe.eval.tasks


def _error(tmp_path, **overrides) -> str:
    path = write_recipe(tmp_path / "r.yaml", **overrides)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message


def test_unknown_top_level_key(tmp_path):
    message = _error(tmp_path, modle={"name_or_path": "x"})
    assert "modle: unknown key" in message


def test_unknown_nested_key_suggests_the_right_one(tmp_path):
    message = _error(tmp_path, **{"eval.generation.temprature": 0.7})
    assert "eval.generation.temprature: unknown key; did you mean 'temperature'?" in message


def test_unknown_task_setting_inside_mapping(tmp_path):
    message = _error(tmp_path, **{"eval.tasks": {"toy_addition": {"samples": 4}}})
    assert "eval.tasks.toy_addition.samples: unknown key" in message


def test_trl_argument_typo_is_checked_against_sftconfig(tmp_path):
    message = _error(tmp_path, **{"train.args.learning_rat": 1e-4})
    assert "train.args" in message
    assert "SFTConfig has no such field; did you mean 'learning_rate'?" in message


def test_trl_argument_wrong_type(tmp_path):
    message = _error(tmp_path, **{"train.args.num_train_epochs": "three"})
    assert "'num_train_epochs' expects float" in message


def test_recipe_owned_trl_argument_is_refused(tmp_path):
    message = _error(tmp_path, **{"train.args.output_dir": "elsewhere"})
    assert "use train.output_dir" in message


def test_wrong_type(tmp_path):
    message = _error(tmp_path, **{"eval.generation.top_p": "high"})
    assert "eval.generation.top_p" in message and "number" in message


def test_out_of_range(tmp_path):
    message = _error(tmp_path, **{"eval.generation.top_p": 1.5})
    assert "eval.generation.top_p: Input should be less than or equal to 1" in message


def test_missing_required_key(tmp_path):
    message = _error(tmp_path, model=DELETE)
    assert "model: required key is missing" in message


def test_unknown_task(tmp_path):
    message = _error(tmp_path, **{"eval.tasks": ["hmmt25"]})
    assert "unknown task 'hmmt25'" in message


def test_missing_local_path(tmp_path):
    message = _error(tmp_path, **{"train.dataset.path": "./no/such/data.jsonl"})
    assert "train.dataset.path: path './no/such/data.jsonl' does not exist" in message


def test_unknown_method(tmp_path):
    message = _error(tmp_path, **{"train.method": "dpo"})
    assert "train.method" in message and "'sft'" in message


def test_invalid_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nmodel: [unclosed\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(path)


def test_short_task_list_form(tmp_path):
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", **{"eval.tasks": ["toy_addition", "aime24"]}))
    assert set(recipe.eval.tasks) == {"toy_addition", "aime24"}
    assert recipe.eval.tasks["aime24"].n is None  # the task default (16) applies later


def test_cli_prints_one_line_without_traceback(tmp_path):
    """The one test through a real interpreter and the root command line; the others call it in-process."""
    path = write_recipe(tmp_path / "r.yaml", **{"train.args.learning_rat": 1e-4})
    result = subprocess.run(
        [sys.executable, "-m", "recipes", "train", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "learning_rate" in lines[0], result.stderr


def exit_of(command, argv: list[str], capsys) -> tuple[int, str]:
    """`reasonlift COMMAND ARGV...` in-process: its exit status and what it printed to stderr."""
    from recipes.cli import run

    with pytest.raises(SystemExit) as exited:
        run(command, argv)
    return exited.value.code, capsys.readouterr().err


def test_cli_missing_recipe_file(capsys):
    from eval.cli import compare

    code, error = exit_of(compare, ["recipes/nope.yaml"], capsys)
    assert code == 2 and "file not found" in error


def test_gpu_config_on_cpu_machine_is_a_clear_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from recipes import load_recipe
    from recipes.errors import UserError
    from train.cli import prepare_run

    path = write_recipe(tmp_path / "r.yaml", **{"train.accelerate_config": "ddp"})
    with pytest.raises(UserError, match="needs GPUs and none was found"):
        prepare_run(load_recipe(path), resume=False)


def test_relative_paths_resolve_against_the_recipe_file_not_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "data.jsonl").write_text('{"messages": []}\n')
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "data.jsonl").write_text('{"messages": []}\n')  # the same name where the command runs
    monkeypatch.chdir(tmp_path / "cwd")
    path = write_recipe(
        tmp_path / "lab" / "r.yaml",
        **{"train.dataset.path": "./data.jsonl", "train.output_dir": "out", "eval.data_dir": "../fixtures"},
    )
    (tmp_path / "fixtures").mkdir()
    recipe = load_recipe(path)
    assert recipe.train.dataset.path == str(tmp_path / "lab" / "data.jsonl")
    assert recipe.train.output_dir == str(tmp_path / "lab" / "out")
    assert recipe.eval.data_dir == str(tmp_path / "fixtures")
    assert recipe.model.name_or_path == "builtin:tiny-qwen2"  # not a path: as written


@pytest.mark.parametrize("command", ["eval", "analyze"])
def test_unknown_task_on_the_command_line_is_one_line(command, capsys):
    import eval.cli

    code, error = exit_of(getattr(eval.cli, command), ["builtin:tiny-qwen2", "--tasks", "hmmt25"], capsys)
    assert code == 2 and "tasks=hmmt25" in error and "unknown task 'hmmt25'" in error


@pytest.mark.parametrize(
    ("method", "key", "value", "expected"),
    [
        ("grpo", "vllm_mode", "colocated", "did you mean 'colocate'"),
        ("grpo", "loss_type", "dapoo", "did you mean 'dapo'"),
        ("sft", "truncation_mode", "keep_middle", "'keep_start'"),
        ("sft", "lr_scheduler_type", "cosin", "'cosine_with_min_lr'"),
    ],
)
def test_choice_valued_trl_arguments_are_checked_before_anything_loads(method, key, value, expected):
    from recipes.trl_args import TrlArgError, check_trl_args

    with pytest.raises(TrlArgError, match=expected):
        check_trl_args(method, {key: value})
    check_trl_args("grpo", {"vllm_mode": "colocate", "loss_type": "dapo", "lr_scheduler_type": "cosine"})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("bf16", 1, "'bf16' expects bool"),
        ("max_length", 2048.0, "'max_length' expects int"),
        ("lr_scheduler_type", "cosin", "got str 'cosin'"),
    ],
)
def test_trl_argument_types_are_validated_strictly(key, value, expected):
    from recipes.trl_args import TrlArgError, check_trl_args

    with pytest.raises(TrlArgError, match=expected):
        check_trl_args("sft", {key: value})


@pytest.mark.parametrize("method", ["sft", "grpo"])
def test_every_trl_default_passes_its_own_type_check(method):
    """The checker is no stricter than TRL: each config field's own default is accepted."""
    import dataclasses

    from recipes.trl_args import OWNED_BY_RECIPE, check_trl_args, config_class

    for f in dataclasses.fields(config_class(method)):
        if not f.init or f.name in OWNED_BY_RECIPE:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            continue
        check_trl_args(method, {f.name: default})


@pytest.mark.parametrize(
    ("module", "command", "argv"),
    [
        ("eval.serving.perf", "perf", ["recipes/smoke/sft.yaml", "--requests", "0"]),
        ("eval.cli", "bench", ["recipes/smoke/sft.yaml", "--sft-steps", "0"]),
        ("train.cli", "train", ["recipes/smoke/sft.yaml", "--num-processes", "0"]),
    ],
)
def test_counts_below_one_are_refused_by_the_command_line_in_one_line(module, command, argv, capsys):
    import importlib

    code, error = exit_of(getattr(importlib.import_module(module), command), argv, capsys)
    assert code == 2 and "Input should be greater than or equal to 1" in error.splitlines()[-1]
