"""Nothing lost, nothing mixed: checkpoints written whole, a resume that sets aside a half-written one, a resume
with another recipe refused, one run per output folder, and one line (not accelerate's traceback) when a worker
fails on a full disk or a folder it cannot write. The real-disk cases mount a small tmpfs (root, as in CI)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from recipes import load_recipe
from recipes.runs import COMPLETE_MARKER, incomplete_checkpoints, last_checkpoint
from tests.conftest import DELETE, REPO, write_recipe


def _checkpoint(folder, step: int, complete: bool):
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"x" * 10)
    if complete:
        (path / "trainer_state.json").write_text('{"log_history": []}')
        (path / COMPLETE_MARKER).write_text("step\n")
    return path


def test_the_last_checkpoint_is_the_last_one_written_whole(tmp_path):
    from train.checkpoints import set_aside_incomplete

    _checkpoint(tmp_path, 10, complete=True)
    _checkpoint(tmp_path, 20, complete=True)
    _checkpoint(tmp_path, 30, complete=False)  # the disk filled during its save
    (tmp_path / "checkpoint-25").mkdir()
    (tmp_path / "checkpoint-25" / "trainer_state.json").write_text('{"log_his')  # cut inside its state
    assert last_checkpoint(tmp_path).name == "checkpoint-20"
    assert [p.name for p in incomplete_checkpoints(tmp_path)] == ["checkpoint-25", "checkpoint-30"]
    moved = set_aside_incomplete(tmp_path)
    assert sorted(p.name for p in moved) == ["checkpoint-25.incomplete", "checkpoint-30.incomplete"]
    from transformers.trainer_utils import get_last_checkpoint

    assert get_last_checkpoint(str(tmp_path)).endswith("checkpoint-20")  # the Trainer's own lookup agrees now


def _trained_folder(tmp_path, **overrides):
    from train.common import copy_recipe

    path = write_recipe(tmp_path / "r.yaml", **overrides)
    recipe = load_recipe(path)
    out = tmp_path / "outputs" / recipe.name
    _checkpoint(out, 10, complete=True)
    copy_recipe(recipe)  # the launcher writes it when the run starts
    return path, out


def test_resuming_with_another_recipe_is_refused_listing_what_changed(tmp_path, monkeypatch, capsys):
    import train.cli

    path, out = _trained_folder(tmp_path)
    launched = []
    monkeypatch.setattr(train.cli, "run_launch", lambda run, resume: launched.append(run))
    data = yaml.safe_load(path.read_text())
    data["train"]["args"]["learning_rate"] = 1.0e-4
    data["train"]["args"]["num_train_epochs"] = 30  # training longer is what resuming is for: not listed
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SystemExit) as exited:
        train.cli.main([str(path), "--resume"])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and launched == []
    assert "train.args.learning_rate: 0.003 -> 0.0001" in error and "num_train_epochs" not in error
    assert "force=1" in error
    train.cli.main(
        [str(path), "--resume", "--force"]
    )  # the user says so: it goes on, and the copy is this one
    assert len(launched) == 1 and "resuming with a changed recipe" in capsys.readouterr().out
    assert yaml.safe_load((out / "recipe.yaml").read_text())["train"]["args"]["learning_rate"] == 1.0e-4


def test_a_second_training_into_the_same_folder_is_refused_naming_the_first(tmp_path, monkeypatch, capsys):
    import train.cli

    path = write_recipe(tmp_path / "r.yaml")
    out = tmp_path / "outputs" / load_recipe(path).name
    out.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out / ".train.lock")],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(train.cli, "run_launch", lambda run, resume: pytest.fail("launched"))
        with pytest.raises(SystemExit) as exited:
            train.cli.main([str(path)])
        error = capsys.readouterr().err
        assert exited.value.code == 2 and f"pid {holder.pid} on" in error and "is training into it" in error
    finally:
        holder.kill()
        holder.wait()


HOLD = """
import sys, time
from recipes.locks import FileLock
with FileLock(sys.argv[1], "training into it").hold():
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_changed_recipe_is_compared_on_what_trains():
    from train.common import CHANGEABLE_ON_RESUME

    assert (
        "train.args.max_steps" in CHANGEABLE_ON_RESUME
        and "train.args.learning_rate" not in CHANGEABLE_ON_RESUME
    )


def _in_a_small_tmpfs(script: str, tmp_path) -> subprocess.CompletedProcess:
    """`script` (bash) in a mount namespace of its own, where /mnt/small can be a tmpfs of any size."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "WANDB_MODE": "disabled",
        "PY": sys.executable,
        "T": str(tmp_path),
    }
    return subprocess.run(
        ["unshare", "--mount", "bash", "-c", "mkdir -p /mnt/small && " + script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_a_full_disk_mid_save_is_one_line_and_resume_goes_on_from_the_last_whole_checkpoint(tmp_path):
    """25 MB: the first checkpoint (weights 5.2 MB, Adam 10.4 MB) fits, the second is cut inside its optimizer
    state. The worker says so in one line; after more space, resume=1 sets the cut one aside and goes on."""
    recipe = write_recipe(
        tmp_path / "r.yaml",
        **{
            "train.output_dir": "/mnt/small/out",
            "train.args.num_train_epochs": DELETE,
            "train.args.max_steps": 12,
            "train.args.save_strategy": "steps",
            "train.args.save_steps": 4,
            "train.args.save_total_limit": 5,
        },
    )
    result = _in_a_small_tmpfs(
        "mount -t tmpfs -o size=25m tmpfs /mnt/small\n"
        f"$PY -m train.cli {recipe}; echo first=$?\n"
        "ls /mnt/small/out > $T/after-first.txt\n"
        "mount -o remount,size=100m /mnt/small\n"
        f"$PY -m train.cli {recipe} --resume; echo second=$?\n"
        "ls /mnt/small/out > $T/after-resume.txt\n",
        tmp_path,
    )
    out, err = result.stdout, result.stderr
    assert "first=2" in out and "second=0" in out, out[-3000:] + err[-3000:]
    first = err.split("resuming from")[0]
    assert "error: no space left on the device holding /mnt/small/out" in first
    assert "Traceback" not in first and "CalledProcessError" not in first
    assert "set aside as checkpoint-8.incomplete; resuming from checkpoint-4" in out
    assert {"checkpoint-4", "checkpoint-8.incomplete", "checkpoint-12", "train_summary.json"} <= set(
        (tmp_path / "after-resume.txt").read_text().split()
    )


@pytest.mark.slow
def test_a_read_only_output_folder_is_refused_before_anything_starts(tmp_path):
    recipe = write_recipe(tmp_path / "r.yaml", **{"train.output_dir": "/mnt/small/out"})
    result = _in_a_small_tmpfs(
        f"mount -t tmpfs -o size=5m,ro tmpfs /mnt/small\n$PY -m train.cli {recipe}; echo rc=$?", tmp_path
    )
    assert "rc=2" in result.stdout
    assert "train.output_dir /mnt/small/out: cannot write there (Read-only file system)" in result.stderr
    assert "Traceback" not in result.stderr and "accelerate" not in result.stdout + result.stderr


@pytest.mark.slow
def test_a_run_shorter_than_logging_steps_trains_saves_and_says_so(tmp_path):
    from tests.e2e import check, run_command

    recipe = write_recipe(
        tmp_path / "r.yaml",
        **{"train.args.num_train_epochs": DELETE, "train.args.max_steps": 2, "train.args.logging_steps": 10},
    )
    said = check(run_command("-m", "train.cli", str(recipe), env={"WANDB_MODE": "disabled"}))
    assert "trained smoke-sft: 2 steps" in said and "no loss logged (logging_steps 10" in said
    assert (tmp_path / "outputs" / "smoke-sft" / "train_summary.json").exists()
