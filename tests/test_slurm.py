import subprocess

import pytest

from recipes.errors import UserError
from tests.conftest import REPO
from train.slurm.render import render

REAL = REPO / "recipes" / "deepseek-r1-distill-qwen-1.5b"


@pytest.mark.parametrize(
    ("recipe", "kind", "nodes"),
    [
        (REAL / "sft-openr1-math.yaml", "train", 2),
        (REAL / "grpo-math-server.yaml", "grpo", 3),
        (REAL / "grpo-math.yaml", "eval", 1),
    ],
)
def test_rendered_scripts_are_valid_bash_with_every_value_filled(recipe, kind, nodes, tmp_path):
    text = render(str(recipe), kind, nodes=nodes, gpus_per_node=8, partition="gpu")
    assert "@@" not in text
    assert f"#SBATCH --nodes={nodes}" in text and "#SBATCH --partition=gpu" in text
    script = tmp_path / "job.sbatch"
    script.write_text(text)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    if kind == "train":
        # through make train's own launcher and checks, once per job, then once per node
        assert "recipes train" in text and "--prepare" in text and "--num_machines" in text
        assert "train.worker" not in text and "--signal=B:USR1@300" in text
    if kind == "grpo":
        assert 'trl vllm-serve --model "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"' in text
        assert "REASONLIFT_VLLM_SERVER_HOST" in text
    if kind == "eval":
        assert "recipes compare" in text


def test_grpo_script_needs_server_mode_and_a_gpu_left_to_train():
    with pytest.raises(UserError, match="vllm_mode: server"):
        render(str(REAL / "grpo-math.yaml"), "grpo", nodes=2)
    with pytest.raises(UserError, match="leaves no GPU to train on"):
        render(str(REAL / "grpo-math-server.yaml"), "grpo", nodes=1, gpus_per_node=1)


def test_a_recipe_that_needs_a_server_is_not_rendered_as_plain_training():
    with pytest.raises(UserError, match="use kind=grpo"):
        render(str(REAL / "grpo-math-server.yaml"), "train", nodes=2)


def test_server_tensor_parallel_must_divide_the_heads_and_data_parallel_is_not_used():
    for tp in (8, 3):  # 8 does not divide the 12 heads; 3 does, but not the 2 KV heads
        with pytest.raises(UserError, match=f"cannot split this model's attention heads {tp} ways"):
            render(str(REAL / "grpo-math-server.yaml"), "grpo", nodes=2, vllm_tp=tp)
    text = render(str(REAL / "grpo-math-server.yaml"), "grpo", nodes=1, vllm_tp=2)
    assert "--tensor_parallel_size 2" in text and "data_parallel" not in text
    # one node: the server takes GPUs 0-1, training the other 6
    assert "TRAIN_GPUS=6" in text and "seq -s, 2 $((8 - 1))" in text


@pytest.mark.parametrize("kind", ["train", "grpo", "eval"])
def test_scripts_requeue_poll_the_real_health_path_and_pass_cpus_to_srun(kind):
    recipe = REAL / ("grpo-math-server.yaml" if kind == "grpo" else "sft-openr1-math.yaml")
    text = render(str(recipe), kind, nodes=2, gpus_per_node=4, cpus_per_task=24)
    assert "#SBATCH --requeue" in text
    assert "#SBATCH --cpus-per-task=24" in text and 'SRUN_CPUS_PER_TASK="${SLURM_CPUS_PER_TASK:-24}"' in text
    assert "/health/" not in text
    if kind == "grpo":
        assert ':$VLLM_PORT/health"' in text and "REASONLIFT_VLLM_SERVER_PORT=$VLLM_PORT" in text
    assert "29500" not in text and "8000" not in text and "51216" not in text  # ports of the job's own
    assert (
        f"#SBATCH --job-name=r1-distill-1.5b-{'grpo-math-server' if kind == 'grpo' else 'sft-openr1-math'}-{kind}"
        in text
    )
    default = render(str(recipe), kind, nodes=2, gpus_per_node=4)
    assert "#SBATCH --cpus-per-task=32" in default  # 8 per GPU unless told


def test_make_slurm_on_a_machine_without_gpus_keeps_the_installed_gpu_profile(tmp_path):
    """A login node has no GPU, so the install profile would default to cpu; make slurm must use the
    environment that is there (the gpu one) and install nothing."""
    import os
    import sys

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    command_line = venv / "bin" / "reasonlift"  # what pip installs as the console script
    command_line.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m recipes "$@"\n')
    command_line.chmod(0o755)
    (venv / ".installed-gpu").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    result = subprocess.run(
        [
            "make",
            "-s",
            "slurm",
            f"VENV={venv}",
            f"recipe={REAL / 'sft-openr1-math.yaml'}",
            "kind=train",
            "nodes=2",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing" not in result.stdout
    assert sorted(p.name for p in venv.iterdir()) == [".installed-gpu", "bin"]
    assert "wrote" in result.stdout and "sft" in result.stdout


def test_server_host_from_the_job_reaches_the_trl_config(tmp_path, monkeypatch):
    from trl import GRPOConfig

    from recipes import load_recipe
    from train.run import describe

    recipe = load_recipe(REAL / "grpo-math-server.yaml", check_paths=False)
    recipe.train.output_dir = str(tmp_path)
    monkeypatch.setenv("REASONLIFT_VLLM_SERVER_HOST", "node-017")
    monkeypatch.setenv("REASONLIFT_VLLM_SERVER_PORT", "30123")
    monkeypatch.setenv("REASONLIFT_VLLM_GROUP_PORT", "40123")
    args = dict(recipe.train.args, use_vllm=False, use_liger_kernel=False, gradient_checkpointing=False)
    recipe.train.args = args
    config = describe(recipe).trl_config(GRPOConfig, run_name="x")
    assert config.vllm_server_host == "node-017"
    assert (config.vllm_server_port, config.vllm_group_port) == (30123, 40123)


def _trained(tmp_path, steps=(2, 4)):
    """A recipe whose output folder holds checkpoints and final weights (files only: nothing loads them)."""
    from tests.conftest import write_recipe

    out = tmp_path / "out"
    for folder in [*(out / f"checkpoint-{s}" for s in steps), out]:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text("{}")
        (folder / "model.safetensors").write_bytes(b"x")
        (folder / "trainer_state.json").write_text("{}")  # written last by the Trainer: a whole checkpoint
    (out / "checkpoint-6").mkdir()  # a LoRA-only or half-written checkpoint: left out
    return write_recipe(tmp_path / "sweep.yaml", **{"train.output_dir": str(out)}), out


def test_checkpoint_sweep_renders_an_array_and_a_dependent_compare_that_run(tmp_path):
    """The three scripts pass `bash -n`; the submit script chains the compare after the array with
    afterok (sbatch faked on PATH), and array task i evaluates the i-th model into the shared cache."""
    import os

    from train.slurm.render import render_sweep

    recipe, out = _trained(tmp_path)
    repo = tmp_path / "repo"
    files = render_sweep(str(recipe), partition="gpu", repo=repo, out_dir=tmp_path / "slurm")
    for path, text in files.items():
        assert "@@" not in text
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    array, compare, submit = files
    assert "#SBATCH --array=0-3" in files[array] and "#SBATCH --partition=gpu" in files[array]
    assert "--checkpoints all --cached-only" in files[compare] and "--gres" not in files[compare]

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    fake = bin_dir / "sbatch"
    fake.write_text(f'#!/bin/bash\necho "$@" >> {calls}\necho "$((100 + $(wc -l < {calls})));cluster"\n')
    fake.chmod(0o755)
    python = repo / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/bash\necho "$@" > {tmp_path / "ran.txt"}\n')
    python.chmod(0o755)
    (repo / "outputs" / "slurm").mkdir(parents=True)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(submit)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    first, second = calls.read_text().splitlines()
    assert first == f"--parsable {array}"
    assert second == f"--parsable --dependency=afterok:101 --kill-on-invalid-dep=yes {compare}"
    assert "submitted 101 (array of 4 models) and 102" in done.stdout

    models = ["builtin:tiny-qwen2", str(out / "checkpoint-2"), str(out / "checkpoint-4"), str(out)]
    for index, model in enumerate(models):
        task_env = {**env, "SLURM_ARRAY_TASK_ID": str(index), "SLURM_CPUS_PER_TASK": "8"}
        ran = subprocess.run(["bash", str(array)], capture_output=True, text=True, env=task_env, cwd=tmp_path)
        assert ran.returncode == 0, ran.stderr
        assert (tmp_path / "ran.txt").read_text().split() == [
            "-m", "recipes", "eval", model, "--recipe", str(recipe.resolve())
        ]  # fmt: skip


def test_a_sweep_needs_checkpoints(tmp_path):
    from tests.conftest import write_recipe
    from train.slurm.render import render_sweep

    recipe = write_recipe(tmp_path / "r.yaml", **{"train.output_dir": str(tmp_path / "none")})
    with pytest.raises(UserError, match=r"no checkpoint-\* folders with full weights .* train first"):
        render_sweep(str(recipe))


def test_one_source_of_resources_for_every_script(tmp_path, monkeypatch):
    from train.slurm.render import main

    recipe = REAL / "sft-openr1-math.yaml"
    out = tmp_path / "eval.sbatch"
    main([str(recipe), "--kind", "eval", "--mem", "200G", "--time", "04:00:00", "--output", str(out)])
    text = out.read_text()
    # an evaluation asks for the GPUs its vLLM engines use (TP x DP = 1 here), not a whole node
    assert (
        "#SBATCH --gres=gpu:1" in text and "#SBATCH --mem=200G" in text and "#SBATCH --time=04:00:00" in text
    )


def test_the_sweeps_compare_job_gets_the_time_and_cpus_it_was_told(tmp_path):
    from train.slurm.render import render_sweep

    recipe, _ = _trained(tmp_path)
    files = render_sweep(
        str(recipe), time="00:30:00", cpus_per_task=2, mem="16G", parallel=3, out_dir=tmp_path
    )
    compare = next(text for path, text in files.items() if path.name.endswith("compare.sbatch"))
    array = next(text for path, text in files.items() if path.name.endswith("array.sbatch"))
    assert "#SBATCH --cpus-per-task=2" in compare and "#SBATCH --time=00:30:00" in compare
    assert "#SBATCH --requeue" in compare and "#SBATCH --mem=16G" in compare
    assert "%3" in array.split("--array=")[1].splitlines()[0]


def test_the_multi_node_grpo_script_tells_vllm_the_trainers_address():
    """TRL's weight-sync client advertises vLLM's get_ip(), 0.0.0.0 on a node without a default route: the
    script resolves the first training node and hands it to every training process as VLLM_HOST_IP."""
    text = render(str(REAL / "grpo-math-server.yaml"), "grpo", nodes=3)
    resolve = text.index("TRAINER_IP=")
    train_step = text.index('VLLM_HOST_IP="$TRAINER_IP"')
    assert text.index("MASTER_ADDR=") < resolve < train_step
    assert train_step > text.index("trl vllm-serve")  # on the training srun, not the server's
    assert 'getent ahostsv4 "$MASTER_ADDR"' in text and "REASONLIFT_TRAINER_IP" in text


NODE_SETUP = """
mount --bind "$HOSTS" /etc/hosts
ip link set lo up
ip link add ib0 type veth peer name ib0-peer
ip addr add 10.9.8.7/24 dev ib0
ip link set ib0 up && ip link set ib0-peer up
"""


def _compute_node(command: str, hosts) -> subprocess.CompletedProcess:
    """`command` on a pretend compute node: a network namespace whose one interface has an address on the
    cluster's network (10.9.8.7, named trainer-node-1 in its hosts file) and no default route."""
    import os

    return subprocess.run(
        ["unshare", "--net", "--mount", "bash", "-ec", NODE_SETUP + command],
        capture_output=True,
        text=True,
        env={**os.environ, "HOSTS": str(hosts)},
        cwd=REPO,
        timeout=120,
    )


@pytest.mark.slow
def test_without_a_default_route_vllm_advertises_0000_unless_the_script_sets_the_address(tmp_path):
    import os
    import sys

    from train.slurm.render import SNIPPETS

    if os.geteuid() != 0:
        pytest.skip("network and mount namespaces need root (CI runs as root)")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n10.9.8.7 trainer-node-1\n")
    get_ip = f'{sys.executable} -W ignore -c "from vllm.utils.network_utils import get_ip; print(get_ip())"'
    bare = _compute_node(get_ip, hosts)
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.strip() == "0.0.0.0"  # what TRL's client would advertise to the server

    snippet = SNIPPETS["TRAINER_ADDRESS"]
    fixed = _compute_node(
        f'MASTER_ADDR=trainer-node-1\n{snippet}\nVLLM_HOST_IP="$TRAINER_IP" {get_ip}', hosts
    )
    assert fixed.returncode == 0, fixed.stderr + fixed.stdout
    assert fixed.stdout.strip() == "10.9.8.7"

    unknown = _compute_node(f"MASTER_ADDR=no-such-node.invalid\n{snippet}\necho started", hosts)
    assert unknown.returncode == 1 and "started" not in unknown.stdout
    assert "set REASONLIFT_TRAINER_IP" in unknown.stdout


def test_make_slurm_takes_time_and_grace_from_the_plan_and_says_so(tmp_path, capsys):
    from recipes.cli import run
    from train.slurm.render import slurm

    out = tmp_path / "job.sbatch"
    run(
        slurm,
        [
            str(REAL / "grpo-math.yaml"),
            "--kind",
            "train",
            "--gpus-per-node",
            "1",
            "--gpu",
            "a100",
            "--output",
            str(out),
        ],
    )
    printed = capsys.readouterr().out
    grace = int(printed.split("grace ")[1].split(" s")[0])
    assert grace > 300 and f"--signal=B:USR1@{grace}" in out.read_text()
    assert "writing a checkpoint" in printed and "the plan estimates training at up to" in printed

    run(
        slurm,
        [
            str(REAL / "grpo-math.yaml"),
            "--kind",
            "train",
            "--gpus-per-node",
            "1",
            "--grace",
            "100",
            "--time",
            "04:00:00",
            "--output",
            str(out),
        ],
    )
    printed = capsys.readouterr().out
    assert "warning: grace=100 s is shorter than the plan's" in printed
    assert "#SBATCH --time=04:00:00" in out.read_text() and "--signal=B:USR1@100" in out.read_text()


def test_make_slurm_takes_set_into_every_command_of_the_script(tmp_path):
    from recipes.cli import run
    from train.slurm.render import slurm

    out = tmp_path / "job.sbatch"
    run(
        slurm,
        [
            str(REAL / "sft-openr1-math.yaml"),
            "--output",
            str(out),
            "--set",
            "train.args.learning_rate=2e-5",
            "--set",
            'description=a "quoted" $HOME',
        ],
    )
    text = out.read_text()
    assert (
        text.count('--set "train.args.learning_rate=2e-5"') == 2
    )  # the --prepare step and the training step
    assert '--set "description=a \\"quoted\\" \\$HOME"' in text
    result = subprocess.run(["bash", "-n", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_colocated_grpo_recipe_is_rendered_for_its_one_process(tmp_path, capsys):
    from recipes.cli import run
    from train.slurm.render import slurm

    out = tmp_path / "job.sbatch"
    run(slurm, [str(REAL / "grpo-math.yaml"), "--output", str(out)])
    assert "#SBATCH --gres=gpu:1" in out.read_text()  # not a whole node of which 7 GPUs would idle
    with pytest.raises(SystemExit):
        run(slurm, [str(REAL / "grpo-math.yaml"), "--gpus-per-node", "8", "--output", str(out)])
    assert "grpo-math-server.yaml" in capsys.readouterr().err
