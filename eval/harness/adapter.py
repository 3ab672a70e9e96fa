"""reasonlift's lighteval model: generation through an engine, saved incrementally in a GenerationStore.

lighteval's own vLLM backend pins vllm<0.10.2 and its response cache keys on the model config, not
the weights; this class is handed to `Pipeline(model=...)` instead (lighteval's custom-model hook).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from lighteval.models.abstract_model import LightevalModel, ModelConfig
from lighteval.models.model_output import ModelResponse
from lighteval.tasks.requests import Doc
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from eval.engines.base import Engine, Request, prompt_seed
from eval.harness.compat import NoSampleCache
from eval.models import prompt_ids, render_prompt
from eval.settings import TaskRun
from eval.stores.generations import GenerationStore, NotGenerated, Sample
from recipes.errors import UserError
from recipes.log import info
from recipes.protocol.grader import Grade


@dataclass
class SampledResponse(ModelResponse):
    """A ModelResponse that also carries each sample's token count and finish reason, and, once the task's
    metric has run, each sample's grade (so the evaluation grades every sample exactly once)."""

    samples: list[Sample] = field(default_factory=list)
    grades: list[Grade] = field(default_factory=list)


class StoredGenerationModel(LightevalModel):
    def __init__(
        self,
        model_name: str,
        tokenizer,
        stores: dict[str, GenerationStore],
        runs: dict[str, TaskRun],
        engine_factory: Callable[[], Engine],
        generate: bool = True,
    ):
        self.config = ModelConfig(model_name=model_name)
        self._cache = NoSampleCache()
        self._tokenizer = tokenizer
        self.stores = stores  # by lighteval task name
        self.runs = runs
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self.generate = generate
        if not getattr(tokenizer, "chat_template", None):
            raise UserError(
                f"{model_name}: the tokenizer has no chat template; set `model.chat_template: r1` in the recipe"
            )

    @property
    def tokenizer(self):
        return self._tokenizer

    @property
    def add_special_tokens(self) -> bool:
        return False

    @property
    def max_length(self) -> int:
        return getattr(self._tokenizer, "model_max_length", 32768)

    def render(self, doc: Doc) -> str:
        return render_prompt(self._tokenizer, doc.query)

    @staticmethod
    def _task_key(doc: Doc) -> str:
        return doc.task_name.split("|")[0]

    def greedy_until(self, docs: list[Doc]) -> list[ModelResponse]:
        rendered = [self.render(doc) for doc in docs]
        by_task: dict[str, list[int]] = {}
        for i, doc in enumerate(docs):
            by_task.setdefault(self._task_key(doc), []).append(i)
        pending = {task: self._pending(task, indices, rendered) for task, indices in by_task.items()}
        pending = {task: todo for task, todo in pending.items() if todo}
        if pending and not self.generate:
            task, todo = next(iter(pending.items()))
            message = (
                f"{self.config.model_name}: {self.runs[task].name}: {len(todo)} of {len(by_task[task])} problems "
                "have no saved generations to re-grade; run the evaluation (make compare / make eval) first"
            )
            # a model never evaluated, or one whose evaluation was cut short or lacks a task added since
            never = not any(self.stores[t].model_has_samples() for t in by_task)
            raise NotGenerated(message) if never else UserError(message)
        if pending:
            self._generate_all(sorted(pending), by_task, docs, rendered)
        responses: list[ModelResponse] = []
        for doc, prompt in zip(docs, rendered, strict=True):
            samples = self.stores[self._task_key(doc)].get(prompt)
            assert samples is not None
            responses.append(SampledResponse(input=prompt, text=[s.text for s in samples], samples=samples))
        return responses

    def _pending(self, task: str, indices: list[int], rendered: list[str]) -> list[int]:
        """The task's problems with samples still missing, after saying what is cached."""
        store, name = self.stores[task], self.runs[task].name
        todo = [i for i in indices if store.missing(rendered[i])]
        if not todo:
            info(f"{name}: all {len(indices)} problems already generated (cached)")
        elif self.generate and (
            len(todo) < len(indices) or any(len(store.missing(rendered[i])) < store.settings.n for i in todo)
        ):
            missing = sum(len(store.missing(rendered[i])) for i in todo)
            info(
                f"{name}: resuming: {len(indices) - len(todo)} of {len(indices)} problems cached, "
                f"{missing} of {len(indices) * store.settings.n} samples to generate"
            )
        return todo

    def _generate_all(
        self, tasks: list[str], by_task: dict[str, list[int]], docs: list[Doc], rendered: list[str]
    ) -> None:
        """Every missing sample of every task, queued into one engine at once, each saved as it finishes.

        Each task's store is claimed first (in path order, so two processes cannot deadlock);
        a process that had to wait finds what the other generated and queues only what is still missing."""
        with ExitStack() as claims:
            # tasks with the same sampling settings share a store file: claim each file once, in path order
            files = {self.stores[task].path: task for task in tasks}
            for path in sorted(files):
                claims.enter_context(self.stores[files[path]].claim(waiting=self.runs[files[path]].name))
            for task in tasks:
                self.stores[task].reload()
            requests, owners, queued = [], [], set()
            for task in tasks:
                run, store = self.runs[task], self.stores[task]
                for i in by_task[task]:
                    if (store.path, rendered[i]) in queued:  # the same prompt twice: generated once
                        continue
                    queued.add((store.path, rendered[i]))
                    if missing := store.missing(rendered[i]):
                        ids = prompt_ids(self._tokenizer, rendered[i])
                        seed = prompt_seed(run.sampling.seed, rendered[i])
                        requests.append(Request(ids, seed, run.sampling, missing))
                        owners.append((task, i))
            if not requests:
                return
            if self._engine is None:
                self._engine = self._engine_factory()
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("samples"),
                TimeElapsedColumn(),
            ) as progress:
                bars = {}
                for task in tasks:
                    todo = sum(
                        len(r.indices) for r, (t, _) in zip(requests, owners, strict=True) if t == task
                    )
                    if todo:
                        label = f"{self.runs[task].name} ({self.runs[task].sampling.n}/problem)"
                        bars[task] = progress.add_task(label, total=todo)
                try:
                    for number, index, sample in self._engine.generate(requests):
                        task, i = owners[number]
                        doc = docs[i]
                        problem_id = (doc.specific or {}).get("problem_id", doc.id)
                        self.stores[task].put_sample(rendered[i], index, sample, problem_id=problem_id)
                        progress.advance(bars[task])
                finally:
                    for task in tasks:  # on disk before the claims are released
                        self.stores[task].sync()

    def cleanup(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def loglikelihood(self, docs: list[Doc]) -> list[ModelResponse]:
        raise NotImplementedError("reasonlift tasks are generative")

    def loglikelihood_rolling(self, docs: list[Doc]) -> list[ModelResponse]:
        raise NotImplementedError("reasonlift tasks are generative")
