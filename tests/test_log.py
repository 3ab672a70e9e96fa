"""Notices once per job: rank 0 says them, the other ranks of a distributed run stay quiet."""

from recipes import log


def test_only_rank_zero_speaks_unless_asked(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "0")
    log.notice("from rank 0")
    log.warning("careful")
    monkeypatch.setenv("RANK", "3")
    log.notice("from rank 3")
    log.info("every rank", every_rank=True)
    assert capsys.readouterr().out.splitlines() == ["notice: from rank 0", "warning: careful", "every rank"]


def test_a_training_notice_is_said_once_across_ranks(monkeypatch, capsys, tmp_path):
    from recipes.schema import Recipe
    from tests.conftest import write_recipe
    from train.common import prepare_output_dir

    recipe = Recipe.model_validate(
        __import__("yaml").safe_load(write_recipe(tmp_path / "r.yaml").read_text())
    )
    for rank in ("0", "1"):  # what each of two processes prints on `--resume` with nothing to resume
        monkeypatch.setenv("RANK", rank)
        prepare_output_dir(recipe, resume=True)
    assert capsys.readouterr().out.count("nothing to resume") == 1
