"""`make chat`: one prompt through the evaluation's chat template and sampling, streamed as it is generated.

In-process it runs on transformers, which loads a model in seconds (vLLM needs a minute or more to start on
a CPU and is built for throughput, not for one prompt); against a URL (`make serve`) it streams from the
warm server. The thinking is shown dim until `</think>`, the answer after it in full colour; with `task=`
the prompt is wrapped exactly as that task wraps its problems.
"""

from __future__ import annotations

import time

from eval.engines.base import prompt_seed
from eval.evaluate import engine_for
from eval.models import load_tokenizer, prompt_ids, render_prompt, resolve_model
from eval.stores.generations import SamplingSettings
from recipes.errors import UserError
from recipes.protocol.markup import THINK_CLOSE, split_thinking
from recipes.protocol.task_catalog import TASKS
from recipes.schema import EvalSpec


class ThinkingDisplay:
    """Prints streamed text: dim while the model thinks, normal after `</think>` (which may arrive split)."""

    def __init__(self, console):
        self.console = console
        self.thinking = True
        self.pending = ""
        self.text = ""

    def feed(self, piece: str) -> None:
        self.text += piece
        if not self.thinking:
            self.console.print(piece, end="", markup=False, highlight=False)
            return
        self.pending += piece
        if THINK_CLOSE in self.pending:
            thought, answer = self.pending.split(THINK_CLOSE, 1)
            self._think(thought + THINK_CLOSE)
            self.console.print("\n--- answer ---", style="bold")
            self.thinking, self.pending = False, ""
            if answer:
                self.console.print(answer, end="", markup=False, highlight=False)
            return
        keep = len(THINK_CLOSE) - 1  # a tag split across pieces: hold back what could be its start
        self._think(self.pending[:-keep] if len(self.pending) > keep else "")
        self.pending = self.pending[-keep:] if len(self.pending) > keep else self.pending

    def _think(self, text: str) -> None:
        if text:
            self.console.print(text, end="", style="dim", markup=False, highlight=False)

    def close(self) -> None:
        self._think(self.pending)
        self.pending = ""
        self.console.print()


def chat_text(prompt: str, task: str | None) -> str:
    if task is None:
        return prompt
    if task not in TASKS:
        raise UserError(f"task={task}: expected one of {', '.join(TASKS)}")
    try:
        return TASKS[task].kind.text_prompt(prompt)
    except ValueError as err:
        raise UserError(f"task={task}: {err}") from None


def chat(
    model: str,
    prompt: str,
    spec: EvalSpec,
    chat_template: str = "model",
    max_new_tokens: int | None = None,
    task: str | None = None,
    served_model: str | None = None,
    tokenizer_from: str | None = None,
    console=None,
) -> str:
    from rich.console import Console

    console = console or Console(highlight=False)
    ref = resolve_model(
        model, served_model=served_model, tokenizer_from=tokenizer_from, endpoint_spec=spec.endpoint
    )
    tokenizer = load_tokenizer(ref.path, chat_template)
    rendered = render_prompt(tokenizer, chat_text(prompt, task))
    sampling = SamplingSettings(
        n=1,
        temperature=spec.generation.temperature,
        top_p=spec.generation.top_p,
        max_new_tokens=max_new_tokens or spec.generation.max_new_tokens,
        seed=spec.generation.seed,
    )
    started = time.monotonic()
    engine = engine_for(ref, tokenizer, spec, backend="transformers")
    console.print(f"--- prompt (as the model sees it) ---\n{rendered}", markup=False, style="cyan")
    console.print("--- thinking ---", style="bold")
    display = ThinkingDisplay(console)
    try:
        for piece in engine.stream(
            prompt_ids(tokenizer, rendered), prompt_seed(sampling.seed, rendered), sampling
        ):
            display.feed(piece)
    finally:
        display.close()
        engine.close()
    tokens = len(prompt_ids(tokenizer, display.text))
    console.print(
        f"--- ≈{tokens} tokens in {time.monotonic() - started:.1f} s; graded part: "
        + (
            repr(split_thinking(display.text)[1].strip()[-200:])
            if THINK_CLOSE in display.text
            else "none (the thinking never closed, so there is no final answer)"
        ),
        style="bold",
        markup=False,
    )
    return display.text
