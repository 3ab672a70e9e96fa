"""reasonlift's lighteval model: generation through an engine, saved incrementally in a GenerationStore.

lighteval's own vLLM backend pins vllm<0.10.2 and its response cache keys on the model config, not
the weights; this class is handed to `Pipeline(model=...)` instead (lighteval's custom-model hook).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lighteval.models.abstract_model import LightevalModel, ModelConfig
from lighteval.models.model_output import ModelResponse
from lighteval.tasks.requests import Doc
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from eval.engines.base import Engine, prompt_seed
from eval.harness.compat import NoSampleCache
from eval.models import prompt_ids, render_prompt
from eval.settings import TaskRun
from eval.stores.generations import GenerationStore, Sample
from recipes.errors import UserError
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
        for task, indices in by_task.items():
            store = self.stores[task]
            pending = [i for i in indices if store.get(rendered[i]) is None]
            if not pending:
                print(f"{self.runs[task].name}: all {len(indices)} problems already generated (cached)")
                continue
            if not self.generate:
                raise UserError(
                    f"{self.config.model_name}: {self.runs[task].name}: {len(pending)} of {len(indices)} problems have "
                    "no saved generations to re-grade; run the evaluation (make compare / make eval) first"
                )
            if len(pending) < len(indices):
                print(
                    f"{self.runs[task].name}: resuming: {len(indices) - len(pending)} of {len(indices)} problems cached"
                )
            self._generate(task, [docs[i] for i in pending], [rendered[i] for i in pending])
        responses: list[ModelResponse] = []
        for doc, prompt in zip(docs, rendered, strict=True):
            samples = self.stores[self._task_key(doc)].get(prompt)
            assert samples is not None
            responses.append(SampledResponse(input=prompt, text=[s.text for s in samples], samples=samples))
        return responses

    def _generate(self, task: str, docs: list[Doc], prompts: list[str]) -> None:
        run = self.runs[task]
        store = self.stores[task]
        if self._engine is None:
            self._engine = self._engine_factory()
        ids = [prompt_ids(self._tokenizer, p) for p in prompts]
        seeds = [prompt_seed(run.sampling.seed, p) for p in prompts]
        with Progress(
            TextColumn(f"[bold]{run.name}[/] generating ({run.sampling.n} samples/problem)"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ) as progress:
            bar = progress.add_task("gen", total=len(docs))
            for index, samples in self._engine.generate(ids, seeds, run.sampling):
                doc = docs[index]
                store.put(prompts[index], samples, problem_id=(doc.specific or {}).get("problem_id", doc.id))
                progress.advance(bar)

    def cleanup(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def loglikelihood(self, docs: list[Doc]) -> list[ModelResponse]:
        raise NotImplementedError("reasonlift tasks are generative")

    def loglikelihood_rolling(self, docs: list[Doc]) -> list[ModelResponse]:
        raise NotImplementedError("reasonlift tasks are generative")
