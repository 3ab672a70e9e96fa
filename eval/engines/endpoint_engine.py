"""A served model as an engine: each sample is one `/v1/completions` request (n=1, with the sample's seed).

The prompt goes as the token ids the in-process engines get (rendered by the recipe's chat template, so
the server's own template never touches it), with the same n, temperature, top-p, max tokens and
per-sample seed. At most `concurrency` requests are in flight (and as many asyncio tasks exist); the openai client retries connection
errors, 408, 429 and 5xx with exponential backoff, and every request has a timeout. Each finished sample
is handed back at once (the caller saves it); an unreachable server stops the run, other failed requests
are counted and reported at the end, and a rerun generates only what is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from eval.endpoint import Endpoint, client, error_line, sends_seeds
from eval.engines.base import Request, sample_seed
from eval.stores.generations import Sample, SamplingSettings
from recipes.errors import UserError
from recipes.protocol.markup import reasoning_token_count
from recipes.schema import EndpointSpec


@dataclass
class EndpointEngine:
    endpoint: Endpoint
    spec: EndpointSpec
    count_tokens: Callable[[str], int]  # when the server does not return the generated token ids
    name: str = "endpoint"
    close_id: int | None = None  # `</think>`'s id, to count reasoning tokens on the ids the server returns

    def __post_init__(self) -> None:
        self.send_seeds = sends_seeds(self.endpoint, self.spec)

    def generate(self, requests: list[Request]) -> Iterator[tuple[int, int, Sample]]:
        if not requests:
            return
        longest = max(requests, key=lambda r: len(r.prompt_ids) + r.sampling.max_new_tokens)
        self.check_context(len(longest.prompt_ids), longest.sampling.max_new_tokens)
        import openai

        loop = asyncio.new_event_loop()
        session = client(self.endpoint.url, self.spec, asynchronous=True)
        queue = iter(
            [(number, index) for number, request in enumerate(requests) for index in request.indices]
        )
        total = sum(len(r.indices) for r in requests)
        tasks: dict = {}  # in flight: at most `concurrency`, started as others finish

        def start_more(pending: set) -> set:
            for number, index in queue:
                request = requests[number]
                seed = sample_seed(request.seed, index)
                task = loop.create_task(self._complete(session, request.prompt_ids, seed, request.sampling))
                tasks[task] = (number, index)
                pending.add(task)
                if len(pending) >= self.spec.concurrency:
                    break
            return pending

        pending = start_more(set())
        failures: list[str] = []
        try:
            while pending:
                done, pending = loop.run_until_complete(
                    asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                )
                lost = None
                for task in done:  # every success is handed back (and saved) before anything is raised
                    err = task.exception()
                    if err is None:
                        yield *tasks[task], task.result()
                    elif isinstance(err, openai.APIConnectionError) and not isinstance(
                        err, openai.APITimeoutError
                    ):
                        lost = err
                    else:
                        failures.append(error_line(err))
                for task in done:
                    del tasks[task]
                if lost is not None:
                    raise UserError(
                        f"{self.endpoint.url}: lost the server ({error_line(lost)}, after "
                        f"{self.spec.max_retries} retries); what finished is saved: run again (without "
                        "refresh=1) to resume"
                    )
                pending = start_more(pending)
        finally:
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.wait(pending))
            for task in tasks:  # read every outcome, so none is logged as "never retrieved"
                if task.done() and not task.cancelled():
                    task.exception()
            loop.run_until_complete(session.close())
            loop.close()
        if failures:
            raise UserError(
                f"{self.endpoint.url}: {len(failures)} of {total} samples failed after "
                f"{self.spec.max_retries} retries (first: {failures[0]}); the others are saved: "
                "run again to generate only the missing ones"
            )

    def _seed(self, seed: int, sampling: SamplingSettings) -> dict:
        return {"seed": seed} if self.send_seeds and sampling.temperature > 0 else {}

    def check_context(self, longest_prompt: int, max_new_tokens: int) -> None:
        """Refuse before any request when the served context cannot hold a prompt and its answer."""
        limit = self.endpoint.max_model_len
        if limit is not None and longest_prompt + max_new_tokens > limit:
            raise UserError(
                f"{self.endpoint.url}: {self.endpoint.model!r} is served with a context of {limit} tokens, "
                f"shorter than the longest prompt ({longest_prompt}) + max_new_tokens ({max_new_tokens}); "
                f"restart it with --max-model-len {longest_prompt + max_new_tokens} or more "
                "(`make serve` takes the recipe's), or lower eval.generation.max_new_tokens"
            )

    async def _complete(self, session, ids: list[int], seed: int, sampling: SamplingSettings) -> Sample:
        reply = await session.completions.create(
            model=self.endpoint.model,
            prompt=ids,
            n=1,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            **self._seed(seed, sampling),
            extra_body={"return_token_ids": True},  # vLLM: exact counts; other servers ignore it
        )
        if len(reply.choices) != 1:
            raise ValueError(f"asked for one sample, the server returned {len(reply.choices)}")
        (choice,) = reply.choices
        token_ids = (choice.model_extra or {}).get("token_ids")
        return Sample(
            text=choice.text,
            tokens=len(token_ids) if isinstance(token_ids, list) else self.count_tokens(choice.text),
            finish_reason=choice.finish_reason or "stop",
            reasoning_tokens=reasoning_token_count(token_ids, self.close_id)
            if isinstance(token_ids, list)
            else None,
        )

    def stream(self, ids: list[int], seed: int, sampling: SamplingSettings) -> Iterator[str]:
        """One sample's text, piece by piece as the server sends it."""
        import openai

        self.check_context(len(ids), sampling.max_new_tokens)
        session = client(self.endpoint.url, self.spec)
        try:
            events = session.completions.create(
                model=self.endpoint.model,
                prompt=ids,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                max_tokens=sampling.max_new_tokens,
                stream=True,
                **self._seed(seed, sampling),
            )
            for event in events:
                if event.choices and event.choices[0].text:
                    yield event.choices[0].text
        except openai.APIError as err:
            raise UserError(f"{self.endpoint.url}: {error_line(err)}") from None
        finally:
            session.close()

    def close(self) -> None:
        pass
