"""`make perf`: what serving a model costs, measured with vLLM's own load generator, `vllm bench serve`.

We chose `vllm bench serve` over writing a load generator: it is maintained with the server, streams every
request (so time to first token, time per output token and inter-token latency are measured per token),
works against any OpenAI-compatible server, and its result JSON is what vLLM users already read. We give it
the benchmark's own prompts rendered by the recipe's chat template (`--dataset-name custom
--skip-chat-template`), each with its task's token limit, the recipe's temperature and top-p, and one run per
concurrency level; then read its JSON into one table (terminal, perf.json, W&B) and keep the throughput per
model so `make compare` can price each side's answers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from eval.endpoint import api_key, is_endpoint
from eval.models import ModelRef, load_tokenizer, resolve_model
from eval.quiet import quiet_libraries
from eval.serving.server import running_server, server_for, stop_on_sigterm
from eval.serving.vllm_cli import vllm_command
from eval.settings import resolve_tasks
from eval.stores.perf import save_perf
from recipes.cli import NoWandb, Overrides, RecipeArgument, run
from recipes.errors import UserError, exit_on_user_error
from recipes.files import atomic_write_text, strict_json
from recipes.log import info
from recipes.schema import Recipe

LATENCIES = {"ttft": "TTFT", "tpot": "TPOT", "itl": "ITL", "e2el": "E2E latency"}
PERCENTILES = ("10", "25", "50", "75", "90", "99")
DEFAULT_CONCURRENCY = (1, 8, 32)
DEFAULT_REQUESTS = 64


@dataclass(frozen=True)
class Target:
    """The served model under test: its URL and name, and its identity for the compare's cost columns."""

    url: str
    served_name: str
    ref: ModelRef


def write_prompts(recipe: Recipe, ref: ModelRef, path: Path, requests: int) -> int:
    """The benchmark's prompts as `vllm bench serve`'s custom dataset (JSONL of prompt and output_tokens),
    tasks interleaved so that a short run still mixes them; returns how many were written."""
    from eval.harness.pipeline import task_prompts  # lighteval: only when prompts are written

    tokenizer = load_tokenizer(ref.path, recipe.model.chat_template)
    per_task = [
        [(p, run.sampling.max_new_tokens) for p in task_prompts(run, tokenizer, recipe.eval.max_problems)]
        for run in resolve_tasks(recipe.eval)
    ]
    mixed = [row for rows in _zip_longest(per_task) for row in rows][:requests]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"prompt": p, "output_tokens": n}) + "\n" for p, n in mixed))
    return len(mixed)


def _zip_longest(lists: list[list]) -> list[list]:
    longest = max((len(x) for x in lists), default=0)
    return [[x[i] for x in lists if i < len(x)] for i in range(longest)]


def bench_argv(
    target: Target, recipe: Recipe, dataset: Path, requests: int, concurrency: int, result: Path
) -> list[str]:
    generation = recipe.eval.generation
    return vllm_command(
        "bench",
        "serve",
        "--backend",
        "openai",
        "--base-url",
        target.url.removesuffix("/v1"),
        "--endpoint",
        "/v1/completions",
        "--model",
        target.served_name,
        "--tokenizer",
        target.ref.path,
        "--dataset-name",
        "custom",
        "--dataset-path",
        str(dataset),
        "--skip-chat-template",
        "--extra-body",
        json.dumps({"add_special_tokens": False}),  # the template already holds BOS, as in evaluation
        "--custom-output-len",
        "-1",  # each prompt's own limit: its task's max_new_tokens
        "--num-prompts",
        str(requests),
        "--max-concurrency",
        str(concurrency),
        "--num-warmups",
        str(min(concurrency, requests)),  # the first requests of a cold server measure its warm-up
        "--request-rate",
        "inf",
        "--temperature",
        str(generation.temperature),
        "--top-p",
        str(generation.top_p),
        "--seed",
        str(generation.seed),
        "--percentile-metrics",
        ",".join(LATENCIES),
        "--metric-percentiles",
        ",".join(PERCENTILES),
        "--save-result",
        "--result-dir",
        str(result.parent),
        "--result-filename",
        result.name,
    )


def summarize(raw: dict, concurrency: int) -> dict:
    """The numbers we report from one `vllm bench serve` result."""
    level = {
        "concurrency": concurrency,
        "completed": raw["completed"],
        "failed": raw.get("failed", len([e for e in raw.get("errors", []) if e])),
        "duration_s": raw["duration"],
        "requests_per_s": raw["request_throughput"],
        "output_tokens_per_s": raw["output_throughput"],
        "total_output_tokens": raw["total_output_tokens"],
        "first_error": next((e for e in raw.get("errors", []) if e), None),
    }
    for metric in LATENCIES:
        level[f"{metric}_ms"] = {
            "mean": raw.get(f"mean_{metric}_ms"),
            **{f"p{p}": raw.get(f"p{p}_{metric}_ms") for p in PERCENTILES},
        }
    return level


def run_levels(
    target: Target, recipe: Recipe, out_dir: Path, levels: list[int], requests: int
) -> Iterator[tuple[str, dict]]:
    """Each concurrency level's numbers, as soon as it is measured."""
    dataset = out_dir / "prompts.jsonl"
    written = write_prompts(recipe, target.ref, dataset, requests)
    for concurrency in levels:
        result = out_dir / f"vllm-bench-c{concurrency}.json"
        log = out_dir / f"vllm-bench-c{concurrency}.log"
        info(f"concurrency {concurrency}: {written} requests (vllm bench serve; its log: {log})")
        # vllm bench serve sends the key it finds in OPENAI_API_KEY
        env = {**os.environ, "OPENAI_API_KEY": api_key(recipe.eval.endpoint)}
        with open(log, "w") as out:
            code = subprocess.run(
                bench_argv(target, recipe, dataset, written, concurrency, result),
                stdout=out,
                stderr=out,
                env=env,
            ).returncode
        if code != 0 or not result.exists():
            tail = "".join(log.read_text().splitlines(keepends=True)[-12:])
            raise UserError(f"vllm bench serve failed at concurrency {concurrency} (exit {code}):\n{tail}")
        yield str(concurrency), summarize(json.loads(result.read_text()), concurrency)


def print_perf(title: str, levels: dict[str, dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    throughput = Table(title=title, title_justify="left")
    for column in ("concurrency", "ok", "failed", "req/s", "output tok/s", "duration s"):
        throughput.add_column(column, justify="right")
    for level in levels.values():
        throughput.add_row(
            str(level["concurrency"]),
            str(level["completed"]),
            str(level["failed"]),
            f"{level['requests_per_s']:.2f}",
            f"{level['output_tokens_per_s']:.1f}",
            f"{level['duration_s']:.1f}",
        )
    console.print(throughput)
    latency = Table(title="latency (ms)", title_justify="left")
    for column in ("concurrency", "metric", "mean", *(f"p{p}" for p in PERCENTILES)):
        latency.add_column(column, justify="right")
    for level in levels.values():
        for metric, label in LATENCIES.items():
            values = level[f"{metric}_ms"]
            latency.add_row(
                str(level["concurrency"]),
                label,
                *(_ms(values[k]) for k in ("mean", *(f"p{p}" for p in PERCENTILES))),
            )
    console.print(latency)
    for level in levels.values():
        if level["first_error"]:
            info(f"concurrency {level['concurrency']}: first failed request: {level['first_error']}")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def resolve_target(recipe: Recipe, model: str | None, url: str | None, served_model: str | None) -> Target:
    if url and model:
        raise UserError(
            "perf measures either a running server (url=) or a model it starts (model=), not both"
        )
    if model and is_endpoint(model):
        raise UserError(f"model={model} is a URL: measure a running server with url={model}")
    if url:
        if not is_endpoint(url):
            raise UserError(f"url={url}: expected http://host:port/v1")
        ref = resolve_model(
            url,
            served_model=served_model,
            tokenizer_from=recipe.model.name_or_path,
            endpoint_spec=recipe.eval.endpoint,
        )
        assert ref.endpoint is not None
        return Target(ref.endpoint.url, ref.endpoint.model, ref)
    name = model or recipe.model.name_or_path
    ref = resolve_model(name, recipe.model.revision if model is None else None)
    return Target("", name, ref)


def run_perf(
    recipe: Recipe,
    model: str | None,
    url: str | None,
    levels: list[int],
    requests: int,
    out_dir: Path,
    served_model: str | None = None,
    use_wandb: bool | None = None,
    port: int = 8000,
) -> dict:
    target = resolve_target(recipe, model, url, served_model)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = resolve_tasks(recipe.eval)
    payload = {
        "model": model or url or recipe.model.name_or_path,
        "fingerprint": target.ref.fingerprint,
        "tool": "vllm bench serve",
        "settings": {
            "requests": requests,
            "temperature": recipe.eval.generation.temperature,
            "top_p": recipe.eval.generation.top_p,
            "max_new_tokens": {run.name: run.sampling.max_new_tokens for run in runs},
        },
        "levels": {},
    }

    def measure(measured: Target) -> None:
        # each level is kept as soon as it is measured: an interrupted run keeps the levels it finished
        for concurrency, level in run_levels(measured, recipe, out_dir, levels, requests):
            payload["levels"][concurrency] = level
            atomic_write_text(out_dir / "perf.json", strict_json(payload))
            save_perf(target.ref.fingerprint, {**payload, "levels": {concurrency: level}})

    if url:
        measure(target)
    else:
        argv, server_url, served_name = server_for(recipe, model, "127.0.0.1", port)
        info(f"starting vLLM's server for {served_name} (log: {out_dir / 'server.log'})")
        with running_server(argv, server_url, log=out_dir / "server.log"):
            measure(Target(server_url, served_name, target.ref))
    print_perf(f"{recipe.name}: serving {payload['model']}", payload["levels"])
    info(f"wrote {out_dir / 'perf.json'}")
    if recipe.wandb.enabled if use_wandb is None else use_wandb:
        from eval.reporting.wandb_run import log_perf_run

        log_perf_run(recipe, out_dir, payload)
    return payload


def _levels(text: str) -> list[int]:
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"concurrency={text}: expected numbers like 1,8,32") from None
    if not levels or min(levels) < 1:
        raise UserError(f"concurrency={text}: expected positive numbers like 1,8,32")
    return levels


@exit_on_user_error
def perf(
    recipe_path: RecipeArgument,
    model: Annotated[
        str | None, typer.Option(help="start vLLM's server for this model (default: the recipe's)")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="measure a running server instead (http://host:port/v1)")
    ] = None,
    served_model: Annotated[
        str | None, typer.Option(help="with --url: the served model's name (default: the only one)")
    ] = None,
    concurrency: str = ",".join(map(str, DEFAULT_CONCURRENCY)),
    requests: Annotated[int, typer.Option(min=1, help="requests per level")] = DEFAULT_REQUESTS,
    port: Annotated[int, typer.Option(help="with --model: the port to serve on")] = 8000,
    output_dir: str | None = None,
    no_wandb: NoWandb = False,
    overrides: Overrides = None,
) -> None:
    """Serving latency and throughput with vLLM's load generator, on a running server or one started here."""
    from recipes import load_recipe

    quiet_libraries()
    recipe = load_recipe(recipe_path, overrides=overrides or [])
    stop_on_sigterm()
    out = Path(output_dir) if output_dir else Path("outputs") / recipe.name / "perf"
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", url or model or "baseline").strip("_")
    run_perf(
        recipe,
        model,
        url,
        _levels(concurrency),
        requests,
        out / label,
        served_model=served_model,
        use_wandb=False if no_wandb else None,
        port=port,
    )


def main(argv: list[str] | None = None) -> None:
    run(perf, argv)


if __name__ == "__main__":
    main()
