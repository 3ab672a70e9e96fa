"""`make serve`: vLLM's OpenAI-compatible server (`vllm serve`) for a recipe's model or any checkpoint, with
the evaluation's settings, so what is served is what was evaluated.

The server gets the recipe's dtype, context length, parallelism, batching limits and prefix caching, the
recipe's chat template (for clients of /v1/chat/completions; evaluation sends prompts it rendered itself),
and `--generation-config vllm`: a request's unset sampling fields then take vLLM's neutral defaults, as the
in-process engine's do, instead of the model's generation_config.json.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated

import typer

from eval.endpoint import is_endpoint
from eval.engines.vllm_engine import cpu_kv_cache_default
from eval.models import resolve_model
from eval.serving.vllm_cli import vllm_command
from recipes.cli import Overrides, RecipeArgument, run
from recipes.errors import UserError, exit_on_user_error
from recipes.log import info
from recipes.paths import cache_dir
from recipes.protocol.chat_template import R1_CHAT_TEMPLATE
from recipes.schema import Recipe

DEFAULT_PORT = 8000
STARTUP_TIMEOUT_S = 1200


def serve_argv(model_path: str, served_name: str, recipe: Recipe, host: str, port: int) -> list[str]:
    """`vllm serve` for a model folder with the recipe's evaluation settings."""
    vllm = recipe.eval.vllm
    argv = vllm_command(
        "serve",
        model_path,
        "--served-model-name",
        served_name,
        "--host",
        host,
        "--port",
        str(port),
        "--dtype",
        vllm.dtype,
        "--seed",
        str(recipe.eval.generation.seed),
        "--tensor-parallel-size",
        str(vllm.tensor_parallel_size),
        "--data-parallel-size",
        str(vllm.data_parallel_size),
        "--gpu-memory-utilization",
        str(vllm.gpu_memory_utilization),
        "--enable-prefix-caching" if vllm.enable_prefix_caching else "--no-enable-prefix-caching",
        "--generation-config",
        "vllm",
    )
    for flag, value in (
        ("--max-model-len", vllm.max_model_len),
        ("--max-num-seqs", vllm.max_num_seqs),
        ("--max-num-batched-tokens", vllm.max_num_batched_tokens),
    ):
        if value is not None:
            argv += [flag, str(value)]
    if recipe.model.chat_template == "r1":
        argv += ["--chat-template", str(r1_template_file())]
    return argv


def r1_template_file() -> Path:
    path = cache_dir() / "chat_templates" / "r1.jinja"
    if not path.exists() or path.read_text() != R1_CHAT_TEMPLATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(R1_CHAT_TEMPLATE)
    return path


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as sock:
        # as the server will bind: a port left in TIME_WAIT by a stopped server is free, a listening one is not
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise UserError(
                f"{host}:{port} is already in use (a server already running?); pick another with port=N"
            ) from None


def wait_until_ready(url: str, process: subprocess.Popen, timeout_s: float, log: Path | None) -> None:
    """Poll GET /models until the server answers; a server that exits or never answers is a UserError."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = "".join(log.read_text().splitlines(keepends=True)[-15:]) if log and log.exists() else ""
            raise UserError(f"the vLLM server exited with code {process.returncode} before answering\n{tail}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise UserError(f"the vLLM server did not answer {url}/models within {timeout_s:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """Stop the server and the engine processes it started (its own process group)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def running_server(
    argv: list[str], url: str, log: Path | None = None, timeout_s: float = STARTUP_TIMEOUT_S
) -> Iterator[subprocess.Popen]:
    """A server started from `argv`, ready at `url`, stopped on exit (output to `log`, else inherited)."""
    cpu_kv_cache_default()
    out: IO | None = open(log, "w") if log else None  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        argv, stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True
    )
    try:
        wait_until_ready(url, process, timeout_s, log)
        yield process
    finally:
        stop(process)
        if out:
            out.close()


def server_for(recipe: Recipe, model: str | None, host: str, port: int) -> tuple[list[str], str, str]:
    """argv, URL and served name for serving `model` (default: the recipe's) with the recipe's settings."""
    if model and is_endpoint(model):
        raise UserError(f"model={model} is a URL, already served; make serve needs a folder or hub id")
    name = model or recipe.model.name_or_path
    ref = resolve_model(name, recipe.model.revision if model is None else None)
    check_port_free(host, port)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/v1"
    return serve_argv(ref.path, name, recipe, host, port), url, name


def stop_on_sigterm() -> None:
    """`kill PID` (or a scheduler's SIGTERM) stops the server too: the server runs in its own process group
    so that it can be stopped whole, and SIGTERM would otherwise end this process without stopping it."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@exit_on_user_error
def serve(
    recipe_path: RecipeArgument,
    model: Annotated[
        str | None, typer.Option(help="a checkpoint folder or hub id (default: the recipe's model)")
    ] = None,
    host: Annotated[str, typer.Option(help="0.0.0.0 to serve other machines")] = "127.0.0.1",
    port: int = DEFAULT_PORT,
    overrides: Overrides = None,
) -> None:
    """vLLM's OpenAI-compatible server for the recipe's model (or --model) with the evaluation's settings."""
    from recipes import load_recipe

    recipe = load_recipe(recipe_path, overrides=overrides or [])
    stop_on_sigterm()
    command, url, name = server_for(recipe, model, host, port)
    shown = recipe_path + "".join(f' set="{item}"' for item in overrides or [])
    info("starting: " + " ".join(command[2:]).replace("eval.serving.vllm_cli", "vllm"))
    try:
        with running_server(command, url) as process:
            info(
                f"\nserving {name!r} at {url} (OpenAI-compatible). Stop it with Ctrl-C.\n"
                f"  evaluate: make eval model={url} recipe={shown}\n"
                f"  compare:  make compare recipe={shown} tuned={url}\n"
                f"  perf:     make perf recipe={shown} url={url}\n"
                f'  chat:     make chat url={url} recipe={shown} prompt="What is 2+2?"\n'
            )
            code = process.wait()
            if code != 0:
                raise UserError(f"the vLLM server exited with code {code}")
    except KeyboardInterrupt:
        info("\nstopped the server")


def main(argv: list[str] | None = None) -> None:
    run(serve, argv)


if __name__ == "__main__":
    main()
