import pytest

from recipes import RecipeError, load_recipe
from recipes.errors import UserError
from tests.conftest import DELETE, REPO, write_recipe
from train.cli import check_with_trl as _check_with_trl


def _grpo(tmp_path, **overrides):
    write_recipe(tmp_path / "sft.yaml", **{"train.output_dir": str(tmp_path / "sft-out")})
    overrides.setdefault("train.output_dir", str(tmp_path / "grpo-out"))
    return write_recipe(tmp_path / "grpo.yaml", base="grpo.yaml", **overrides)


def _error(path) -> str:
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return str(info.value)


def test_smoke_grpo_starts_from_the_sft_recipe(tmp_path):
    recipe = load_recipe(_grpo(tmp_path))
    assert recipe.model.name_or_path == str(tmp_path / "sft-out")
    assert recipe.model.from_recipe == str(tmp_path / "sft.yaml")
    assert set(recipe.train.rewards) == {"accuracy", "format"}


def test_grpo_needs_rewards(tmp_path):
    assert "method grpo needs `rewards`" in _error(_grpo(tmp_path, **{"train.rewards": DELETE}))


def test_rewards_are_for_grpo_only(tmp_path):
    path = write_recipe(tmp_path / "r.yaml", **{"train.rewards": {"accuracy": {"weight": 1.0}}})
    assert "`rewards` only apply to method grpo" in _error(path)


def test_unknown_reward(tmp_path):
    message = _error(_grpo(tmp_path, **{"train.rewards.acc": {"weight": 1.0}}))
    assert "train.rewards: unknown reward 'acc'" in message


def test_reward_parameter_checked(tmp_path):
    message = _error(_grpo(tmp_path, **{"train.rewards.cosine": {"weight": 1.0}}))
    assert "reward 'cosine' needs max_len" in message


def test_grpo_arguments_checked_against_grpoconfig(tmp_path):
    message = _error(_grpo(tmp_path, **{"train.args.num_generation": 4}))
    assert "GRPOConfig has no such field; did you mean 'num_generations'?" in message


def test_reward_weights_belong_to_the_rewards(tmp_path):
    message = _error(_grpo(tmp_path, **{"train.args.reward_weights": [1.0]}))
    assert "train.rewards.<name>.weight" in message


def test_parent_recipe_must_exist(tmp_path):
    path = write_recipe(tmp_path / "grpo.yaml", base="grpo.yaml", **{"model.from_recipe": "missing.yaml"})
    assert "model.from_recipe: recipe 'missing.yaml' does not exist" in _error(path)


def test_model_source_is_one_or_the_other(tmp_path):
    message = _error(_grpo(tmp_path, **{"model.name_or_path": "builtin:tiny-qwen2"}))
    assert "set name_or_path or from_recipe, not both" in message


def check_with_trl(method: str, args: dict, world_size: int) -> None:
    """The launcher's TRL check on a GRPO run with these `train.args` over `world_size` processes."""
    from recipes import load_recipe
    from train.run import describe

    recipe = load_recipe(REPO / "recipes" / "smoke" / "grpo.yaml", check_paths=False)
    recipe = recipe.model_copy(
        update={"train": recipe.train.model_copy(update={"method": method, "args": args})}
    )
    _check_with_trl(describe(recipe, processes=world_size))


def test_generation_batch_must_hold_whole_groups_as_grpoconfig_itself_says():
    check_with_trl("grpo", {"num_generations": 8, "per_device_train_batch_size": 16}, world_size=1)
    check_with_trl(
        "grpo", {"num_generations": 8, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 2}, 1
    )
    check_with_trl("grpo", {"num_generations": 8, "per_device_train_batch_size": 4}, world_size=2)
    # TRL's own words, over the run's global batch: 6 per device x 2 processes
    with pytest.raises(
        UserError,
        match=r"over 2 processes: generation_batch_size \(12\) must be divisible by num_generations \(8\)",
    ):
        check_with_trl("grpo", {"num_generations": 8, "per_device_train_batch_size": 6}, world_size=2)
    with pytest.raises(
        UserError, match=r"generation_batch_size \(20\) must be divisible by the global batch size \(8\)"
    ):
        check_with_trl("grpo", {"num_generations": 8, "generation_batch_size": 20}, world_size=1)
    with pytest.raises(UserError, match="at least 2 generations"):
        check_with_trl("grpo", {"num_generations": 1, "per_device_train_batch_size": 8}, world_size=1)


def test_batch_mistake_is_reported_before_launch(tmp_path):
    from recipes import load_recipe
    from train.cli import prepare_run

    path = _grpo(tmp_path, **{"train.args.per_device_train_batch_size": 12})
    with pytest.raises(UserError, match="must be divisible by num_generations"):
        prepare_run(load_recipe(path), resume=False)


def test_values_trl_checks_only_in_its_trainer_are_read_from_trls_source():
    from recipes.trl_args import CHECKED_IN_TRAINER, trainer_choices

    found = trainer_choices("grpo")
    assert set(found) == {*CHECKED_IN_TRAINER["grpo"], "vllm_model_impl"}  # a TRL that moved them fails here
    assert "transformers" in found["vllm_model_impl"]  # vLLM's own ModelImpl, which TRL passes on unchecked
    assert {"grpo", "dr_grpo", "dapo"} <= set(found["loss_type"]) and found["vllm_mode"] == (
        "colocate",
        "server",
    )


def test_a_loss_type_trl_does_not_know_is_refused_before_anything_loads(tmp_path):
    message = _error(_grpo(tmp_path, **{"train.args.loss_type": "dr-grpo"}))
    assert "'loss_type' must be one of" in message and "did you mean 'dr_grpo'?" in message


def test_the_trl_check_in_the_launcher_leaves_no_process_state_behind(monkeypatch):
    """An srun step under PMI, or torchrun's variables: building TRL's config must not start a process group
    or change the environment the workers inherit."""
    import os

    from accelerate.state import PartialState

    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    before = dict(os.environ)
    check_with_trl("grpo", {"num_generations": 8, "per_device_train_batch_size": 8}, world_size=2)
    assert dict(os.environ) == before and not PartialState._shared_state
