"""Resuming: a finished run is not trained again, and tokens/s counts only the resumed segment."""

from __future__ import annotations

import json

from recipes.loader import load_recipe
from tests.conftest import write_recipe


def _run_folder(tmp_path, epochs: int, checkpoint_steps: list[int], summary_step: int, summary_epochs: float):
    tmp_path.mkdir(parents=True, exist_ok=True)
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", **{"train.args.num_train_epochs": epochs}))
    out = tmp_path / "outputs" / recipe.name
    for step in checkpoint_steps:
        (out / f"checkpoint-{step}").mkdir(parents=True)
        state = {"log_history": [{"step": step, "num_tokens": 1000 * step}]}
        (out / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps(state))
    summary = {"output_dir": str(out), "global_step": summary_step, "epochs": summary_epochs}
    (out / "train_summary.json").write_text(json.dumps(summary))
    return recipe, out


def test_a_finished_run_is_recognised_and_one_with_more_to_train_is_not(tmp_path):
    from train.common import finished_notice, finished_run

    recipe, _ = _run_folder(tmp_path / "a", 15, [40], 42, 15.0)
    done = finished_run(recipe)
    assert done and "nothing to resume" in finished_notice(done) and "fresh=1" in finished_notice(done)
    # the recipe now asks for more epochs: resuming trains them
    recipe, _ = _run_folder(tmp_path / "b", 20, [40], 42, 15.0)
    assert finished_run(recipe) is None
    # a checkpoint newer than the summary: trained further since, not finished
    recipe, _ = _run_folder(tmp_path / "c", 15, [40, 60], 42, 15.0)
    assert finished_run(recipe) is None


def test_resuming_a_finished_run_exits_cleanly_without_starting_anything(tmp_path, capsys):
    from train.cli import main

    _, out = _run_folder(tmp_path, 15, [40], 42, 15.0)
    main([str(tmp_path / "r.yaml"), "--resume"])
    assert "already holds this recipe's trained model" in capsys.readouterr().out
    assert not (out / "wandb").exists()


def test_sfts_token_counter_continues_from_the_checkpoint(tmp_path, monkeypatch):
    """TRL's SFTTrainer restarts its num_tokens counter at 0 on a resume; reasonlift continues it."""
    from types import SimpleNamespace

    import train.common as common

    recipe, out = _run_folder(tmp_path, 15, [40], 40, 14.0)
    seen = {}
    trainer = SimpleNamespace(
        _total_train_tokens=0,
        train=lambda **_: seen.update(at=trainer._total_train_tokens),
        add_callback=lambda callback: None,
    )
    monkeypatch.setattr(common, "save_final_model", lambda *a: None)
    trainer.is_world_process_zero = lambda: False
    common.train_and_save(recipe, trainer, None, out / "checkpoint-40", 0.0, {})
    assert seen["at"] == 40_000


def test_tokens_per_second_after_a_resume_counts_the_segment_only(tmp_path, monkeypatch):
    """The tokens trained before the resume are read before training: by the summary, save_total_limit has
    rotated the checkpoint the run resumed from away (it reported 893 tokens/s where ~447 were trained)."""
    import shutil
    from types import SimpleNamespace

    import train.common as common

    recipe, out = _run_folder(tmp_path, 15, [40], 40, 14.0)
    history = [
        {"step": 40, "num_tokens": 40_000},
        {"step": 60, "num_tokens": 60_000},
        {"train_runtime": 10.0},
    ]

    def train(**_):
        shutil.rmtree(out / "checkpoint-40")  # rotated away by a later save

    trainer = SimpleNamespace(
        state=SimpleNamespace(
            log_history=history, global_step=60, epoch=15.0, save_to_json=lambda path: None
        ),
        args=SimpleNamespace(world_size=1),
        train=train,
        add_callback=lambda callback: None,
        is_world_process_zero=lambda: True,
    )
    tokenizer = SimpleNamespace(save_pretrained=lambda folder: None)
    monkeypatch.setattr(common, "save_final_model", lambda *a: None)
    summary = common.train_and_save(recipe, trainer, tokenizer, out / "checkpoint-40", 0.0, {})
    assert summary["tokens"] == 60_000 and summary["segment_tokens"] == 20_000
    assert summary["tokens_per_s"] == 2_000.0 and summary["resumed_from_step"] == 40


def test_ctrl_c_during_training_says_how_to_resume(tmp_path, capsys, monkeypatch):
    import pytest

    import train.cli

    recipe = write_recipe(tmp_path / "r.yaml")

    def interrupted(run, resume):
        raise KeyboardInterrupt

    monkeypatch.setattr(train.cli, "run_launch", interrupted)
    with pytest.raises(SystemExit) as exit_:
        train.cli.main([str(recipe)])
    err = capsys.readouterr().err
    assert exit_.value.code == 130 and "resume=1" in err and "Traceback" not in err
