"""Optional judge for the first correct point: a model behind an OpenAI-compatible endpoint reads the
numbered reasoning steps and names the first one that reaches the gold answer. Any failure falls back
to the judge-free method for that sample, with a warning."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

from recipes.schema import JudgeSpec

MAX_STEP_CHARS = 600
PROMPT = (
    "Below is a model's step-by-step reasoning, split into numbered steps, and the correct final answer.\n"
    "Reply with only the number of the FIRST step in which the reasoning arrives at the correct answer, "
    "or 0 if it never does.\n\nCorrect answer: {gold}\n\n{steps}"
)


class Judge:
    def __init__(self, spec: JudgeSpec):
        from openai import OpenAI

        self.spec = spec
        self.client = OpenAI(
            base_url=spec.base_url,
            api_key=os.environ.get(spec.api_key_env, "EMPTY"),
            timeout=spec.timeout_s,
            max_retries=1,
        )
        self.failures = 0

    def first_step(self, steps: list[str], gold: str) -> int | None:
        """0-based index of the first correct step, None if never reached. Raises on a bad reply."""
        numbered = "\n\n".join(f"[{i + 1}] {s.strip()[:MAX_STEP_CHARS]}" for i, s in enumerate(steps))
        reply = self.client.chat.completions.create(
            model=self.spec.model,
            messages=[{"role": "user", "content": PROMPT.format(gold=gold, steps=numbered)}],
            temperature=0,
            max_tokens=8,
        )
        text = reply.choices[0].message.content or ""
        match = re.search(r"\d+", text)
        if match is None or int(match.group()) > len(steps):
            raise ValueError(f"judge reply not a step number: {text!r}")
        number = int(match.group())
        return None if number == 0 else number - 1

    def locate_all(self, jobs: list[tuple[list[str], str]]) -> list[int | Exception | None]:
        """Judge many samples concurrently; a failed sample yields its exception instead of an index."""

        def run(job: tuple[list[str], str]) -> int | Exception | None:
            try:
                return self.first_step(*job)
            except Exception as err:  # network, endpoint or parse failure: the caller falls back
                return err

        with ThreadPoolExecutor(max_workers=self.spec.concurrency) as pool:
            results = list(pool.map(run, jobs))
        self.failures = sum(isinstance(r, Exception) for r in results)
        return results
