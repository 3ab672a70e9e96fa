"""The rendered Slurm scripts on a real Slurm: a one-node cluster from Debian's slurm-wlm (tests/slurm/cluster.sh),
jobs submitted with `sbatch` as a user would, the smoke recipe's resources sized to fit the node.

- `kind=train`: trains; Slurm's time-limit warning (USR1 to the batch script, as `--signal=B:USR1@300` sends it)
  makes the trainer checkpoint after its current step, the job requeues itself and resumes from there;
- `kind=eval`: the compare is built;
- the checkpoint sweep: the array evaluates every model, the compare job waits for it (`afterok`) and builds the
  table and the curve from the shared cache alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DELETE, REPO, write_recipe

pytestmark = pytest.mark.slow

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "a one-node Slurm needs root (CI runs as root)"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "no slurm-wlm and no apt-get to install it (Debian's packages)"
    return None


@dataclass
class Cluster:
    folder: Path
    env: dict[str, str]

    def run(self, *command: str, timeout: int = 60) -> str:
        result = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert result.returncode == 0, f"{' '.join(command)}: {result.stdout}{result.stderr}"
        return result.stdout

    def submit(self, script: Path) -> str:
        return self.run("sbatch", "--parsable", str(script)).strip().split(";")[0]

    def job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as key=value (no slurmdbd here, so no sacct); an array gives its first task."""
        line = self.run("scontrol", "show", "job", "-o", job_id).splitlines()[0]
        return dict(part.split("=", 1) for part in line.split() if "=" in part)

    def tasks(self, job_id: str) -> list[dict[str, str]]:
        lines = self.run("scontrol", "show", "job", "-o", job_id).splitlines()
        return [dict(p.split("=", 1) for p in line.split() if "=" in p) for line in lines]

    def wait(self, job_id: str, state: str, timeout: float, log: Path | None = None) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.job(job_id)
            if info["JobState"] == state:
                return info
            if info["JobState"] in ("FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"):
                break
            time.sleep(1)
        logs = (
            "".join(p.read_text(errors="replace")[-3000:] for p in sorted(log.glob("*.out"))) if log else ""
        )
        raise AssertionError(
            f"job {job_id} is {info['JobState']}, not {state}: {info}\n{logs}\n{self.daemon_logs()}"
        )

    def daemon_logs(self, chars: int = 4000) -> str:
        """The ends of slurmctld's and slurmd's own logs: why a job ended at start is said there."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}"
            for path in sorted((self.folder / "log").glob("slurm*.log"))
        )

    def requeued(self, job_id: str, timeout: float = 300) -> None:
        """Wait until a job that requeued itself is queued again: it then starts after the cluster's requeue
        hold (cred_expire, 15 s in tests/slurm/cluster.sh), once the node has let go of the old run. Skipping the
        hold with `scontrol update StartTime=now` raced with that: the requeued job failed at once."""
        deadline = time.monotonic() + timeout
        while self.job(job_id).get("Restarts") != "1":
            assert time.monotonic() < deadline, f"not requeued: {self.job(job_id)}\n{self.daemon_logs()}"
            time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(
        ["bash", str(CLUSTER), "start", str(folder), "2"], capture_output=True, text=True, timeout=900
    )
    assert started.returncode == 0, started.stdout + started.stderr
    env = {**os.environ, "SLURM_CONF": str(folder / "slurm.conf")}
    yield Cluster(folder, env)
    subprocess.run(["bash", str(CLUSTER), "stop", str(folder)], timeout=60)


@pytest.fixture(scope="module")
def trained(cluster, tmp_path_factory):
    """kind=train, stopped near its "time limit" and requeued; the recipe, its output folder and the logs."""
    from train.slurm.render import render

    folder = tmp_path_factory.mktemp("slurm-train")
    logs = folder / "logs"
    logs.mkdir()
    recipe = write_recipe(
        folder / "r.yaml",
        **{
            "train.args.max_steps": 240,
            "train.args.num_train_epochs": DELETE,
            "train.args.save_strategy": "steps",
            "train.args.save_steps": 40,
            "train.args.save_total_limit": 2,
            "train.args.logging_steps": 5,
            "eval.backend": "transformers",
            "eval.tasks": {"toy_addition": {"n": 2}},
            "wandb.enabled": False,
        },
    )
    script = folder / "train.sbatch"
    script.write_text(render(str(recipe), "train", gpus_per_node=1, cpus_per_task=2, mem="6G", log_dir=logs))
    out = folder / "outputs" / "smoke-sft"
    job = cluster.submit(script)
    deadline = time.monotonic() + 300
    while not (out / "checkpoint-40").is_dir():
        assert time.monotonic() < deadline, f"no checkpoint-40 after 300 s: {cluster.job(job)}"
        time.sleep(0.5)
    # what `--signal=B:USR1@300` sends five minutes before the time limit
    cluster.run("scancel", "--signal=USR1", "--batch", job)
    cluster.requeued(job)
    info = cluster.wait(job, "COMPLETED", 600, logs)
    return recipe, out, logs, info


def test_a_train_job_checkpoints_and_requeues_at_its_time_limit_then_resumes(trained):
    _, out, logs, info = trained
    assert info["NumCPUs"] == "2" and info.get("TresPerNode") == "gres:gpu:1" and info["Restarts"] == "1"
    log = "".join(p.read_text(errors="replace") for p in logs.glob("smoke-sft-train-*.out"))
    assert "time limit near: checkpointing after the current step" in log
    assert "requeueing job" in log and "resuming from" in log
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["global_step"] == 240
    assert 40 <= summary["resumed_from_step"] < 240  # the checkpoint saved when the signal came
    assert (out / "model.safetensors").exists()


def test_an_eval_job_requeues_at_its_time_limit_and_builds_the_compare(cluster, trained):
    from train.slurm.render import render

    recipe, out, logs, _ = trained
    script = logs.parent / "eval.sbatch"
    script.write_text(render(str(recipe), "eval", gpus_per_node=1, cpus_per_task=2, mem="6G", log_dir=logs))
    job = cluster.submit(script)
    deadline = time.monotonic() + 120
    while cluster.job(job)["JobState"] != "RUNNING":
        assert time.monotonic() < deadline, f"never started: {cluster.job(job)}"
        time.sleep(0.2)
    cluster.run("scancel", "--signal=USR1", "--batch", job)  # the time-limit warning, mid-evaluation
    cluster.requeued(job)
    info = cluster.wait(job, "COMPLETED", 900, logs)
    assert "requeueing job" in "".join(
        p.read_text(errors="replace") for p in logs.glob("smoke-sft-eval-*.out")
    )
    assert info.get("TresPerNode") == "gres:gpu:1"  # the recipe's TP 1 x DP 1, not a whole node
    payload = json.loads((out / "compare" / "compare.json").read_text())
    assert "toy_addition" in json.dumps(payload)
    assert "| toy_addition |" in (out / "compare" / "table.md").read_text()


def test_a_sweep_runs_the_array_then_the_compare_from_the_cache(cluster, trained):
    from train.slurm.render import render_sweep

    recipe, out, logs, _ = trained
    files = render_sweep(str(recipe), cpus_per_task=1, mem="3G", out_dir=logs.parent, log_dir=logs)
    for path, text in files.items():
        path.write_text(text)
    submit = next(p for p in files if p.suffix == ".sh")
    output = cluster.run("bash", str(submit))
    words = output.split()
    array, compare = words[1], words[words.index("and") + 1]
    assert cluster.job(compare)["Dependency"].startswith(f"afterok:{array}")
    done = cluster.wait(compare, "COMPLETED", 900, logs)
    tasks = cluster.tasks(array)
    models = 2 + len(list(out.glob("checkpoint-*")))  # the baseline, each checkpoint, the final weights
    assert len(tasks) == models and all(t["JobState"] == "COMPLETED" for t in tasks)
    assert done["StartTime"] >= max(t["EndTime"] for t in tasks)  # ISO times sort as text
    table = (out / "compare" / "table.md").read_text()
    assert "| toy_addition |" in table
    assert (out / "compare" / "checkpoints.png").exists()
