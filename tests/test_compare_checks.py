"""What `make compare` checks before it evaluates anything: a tuned model still training, a compare folder it
cannot write, a gated dataset it cannot reach. Each is one line, and nothing is generated first."""

from __future__ import annotations

import os
import subprocess

import pytest

from recipes.cli import run
from tests.conftest import write_recipe


def _compare(argv, capsys):
    from eval.cli import compare

    with pytest.raises(SystemExit) as exited:
        run(compare, argv)
    return exited.value.code, capsys.readouterr()


def test_a_tuned_model_still_training_is_said_before_the_baseline_is_evaluated(tmp_path, capsys):
    recipe = write_recipe(tmp_path / "r.yaml")
    out = tmp_path / "outputs" / "smoke-sft"
    (out / "checkpoint-20").mkdir(parents=True)
    (out / "checkpoint-20" / "trainer_state.json").write_text("{}")
    (out / ".train.lock").write_text("pid 4242 on node7, alive at 1765000000")
    code, said = _compare([str(recipe), "--no-wandb"], capsys)
    assert code == 2 and "== baseline" not in said.out and "starting" not in said.out
    assert "training not finished" in said.err and "(pid 4242 on node7 is training into it)" in said.err
    assert f"tuned={out / 'checkpoint-20'}" in said.err


def test_a_compare_folder_that_cannot_be_written_is_refused_before_evaluating(tmp_path, capsys):
    if os.geteuid() != 0:
        pytest.skip("a read-only mount needs root (CI runs as root)")
    folder = tmp_path / "ro"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(folder)], check=True)
    try:
        recipe = write_recipe(tmp_path / "r.yaml", **{"eval.output_dir": str(folder / "compare")})
        (tmp_path / "outputs" / "smoke-sft").mkdir(parents=True)
        (tmp_path / "outputs" / "smoke-sft" / "config.json").write_text("{}")
        code, said = _compare([str(recipe), "--no-wandb"], capsys)
    finally:
        subprocess.run(["umount", str(folder)], check=True)
    assert code == 2 and "== baseline" not in said.out
    assert "cannot write the compare's files" in said.err and "Read-only file system" in said.err


def test_gpqa_offline_is_one_line_saying_it_is_gated_and_not_cached(tmp_path, capsys, monkeypatch):
    """22 lines of retry warnings came before an error that never said the dataset is gated."""
    from eval.cli import eval as eval_command
    from recipes import hub

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    with pytest.raises(SystemExit) as exited:
        run(eval_command, ["builtin:tiny-qwen2", "--tasks", "gpqa:diamond"])
    said = capsys.readouterr()
    assert exited.value.code == 2
    lines = [line for line in (said.out + said.err).splitlines() if line.strip() and "it/s" not in line]
    assert lines[-1].startswith(
        "error: gpqa:diamond: Idavidrein/gpqa is a gated dataset and is not in the local"
    )
    assert "hf auth login" in lines[-1] and "eval.data_dir" in lines[-1]
    assert len(lines) <= 2, lines
