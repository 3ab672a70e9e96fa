"""A recipe's `model.revision` reaches everything that loads the model: the policy, TRL's reference model
(which TRL re-creates from `config._name_or_path`) and its colocated vLLM (which takes no revision)."""

from __future__ import annotations

import shutil

import pytest

from recipes.builtins.tiny_model import tiny_model_path
from recipes.loader import load_recipe
from tests.conftest import write_recipe

PINNED = "a" * 40
NEWER = "b" * 40


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """A Hugging Face cache holding two revisions of `org/tiny`, the default branch at the newer one."""
    import huggingface_hub.constants as constants

    repo = tmp_path / "hub" / "models--org--tiny"
    for commit in (PINNED, NEWER):
        shutil.copytree(tiny_model_path(), repo / "snapshots" / commit)
    (repo / "snapshots" / NEWER / "config.json").write_text(
        (repo / "snapshots" / NEWER / "config.json")
        .read_text()
        .replace('"num_hidden_layers": 2', '"num_hidden_layers": 1')
    )
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(NEWER)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return repo


def test_the_pinned_revision_is_what_trl_and_vllm_will_load(hub_cache, tmp_path):
    from trl.trainer.utils import get_config_model_id

    from train.common import load_model
    from train.run import base_model_folder as model_location
    from train.run import describe

    recipe = load_recipe(
        write_recipe(tmp_path / "r.yaml", **{"model.name_or_path": "org/tiny", "model.revision": PINNED}),
        check_paths=False,
    )
    assert model_location(recipe) == str(hub_cache / "snapshots" / PINNED)
    model = load_model(describe(recipe, model=model_location(recipe)))
    assert model.config.num_hidden_layers == 2  # the pinned revision, not the default branch's
    # TRL builds the reference model from this id, and hands model.name_or_path to vllm.LLM
    assert get_config_model_id(model.config) == str(hub_cache / "snapshots" / PINNED)
    assert model.name_or_path == str(hub_cache / "snapshots" / PINNED)
    default = load_recipe(
        write_recipe(tmp_path / "d.yaml", **{"model.name_or_path": "org/tiny"}), check_paths=False
    )
    assert model_location(default) == str(hub_cache / "snapshots" / NEWER)


def test_a_folder_named_like_the_hub_id_does_not_hide_the_pinned_revision(hub_cache, tmp_path, monkeypatch):
    from train.run import base_model_folder as model_location

    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_model_path(), tmp_path / "org" / "tiny")
    recipe = load_recipe(
        write_recipe(tmp_path / "r.yaml", **{"model.name_or_path": "org/tiny", "model.revision": PINNED}),
        check_paths=False,
    )
    assert model_location(recipe) == str(hub_cache / "snapshots" / PINNED)


def test_a_revision_missing_from_the_cache_is_one_line(hub_cache, tmp_path):
    from recipes.errors import UserError
    from train.run import base_model_folder as model_location

    recipe = load_recipe(
        write_recipe(tmp_path / "r.yaml", **{"model.name_or_path": "org/tiny", "model.revision": "c" * 40}),
        check_paths=False,
    )
    with pytest.raises(UserError, match=r"at revision 'cccc.*--revision"):
        model_location(recipe)
