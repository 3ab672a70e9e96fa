"""transformers' generate: the CPU-friendly fallback engine (one prompt at a time, its missing samples as one
batch seeded by the first one's seed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from eval.engines.base import Request, sample_seed
from eval.stores.generations import Sample, SamplingSettings
from recipes.protocol.markup import reasoning_token_count, think_close_id


@dataclass
class TransformersEngine:
    model_path: str
    dtype: str = "auto"
    random_weights: bool = False  # as for VllmEngine: a folder with only config.json, fixed-length output
    name: str = "transformers"

    def __post_init__(self) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = getattr(torch, self.dtype) if self.dtype not in ("auto",) else "auto"
        if self.device == "cpu" and self.dtype in ("bfloat16", "float16"):
            dtype = torch.float32
        if self.random_weights:
            config = AutoConfig.from_pretrained(self.model_path)
            with torch.device(self.device):
                self.model = AutoModelForCausalLM.from_config(
                    config, dtype=dtype if dtype != "auto" else None
                ).eval()
            self.tokenizer = None
            return
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=dtype).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)

    def _stop_tokens(self) -> tuple[int | None, int]:
        if self.tokenizer is None:  # random weights: no stop token, every sequence runs to the limit
            return None, self.model.config.eos_token_id or 0
        eos = self.tokenizer.eos_token_id
        return eos, self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos

    def _generate_kwargs(self, ids: list[int], sampling: SamplingSettings) -> dict:
        import torch

        eos, pad = self._stop_tokens()
        input_ids = torch.tensor([ids], device=self.device)
        return dict(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            do_sample=sampling.temperature > 0,
            temperature=sampling.temperature if sampling.temperature > 0 else None,
            top_p=sampling.top_p if sampling.temperature > 0 else None,
            # vLLM samples from the whole vocabulary; transformers would default to top-k 50
            top_k=0 if sampling.temperature > 0 else None,
            max_new_tokens=sampling.max_new_tokens,
            num_return_sequences=sampling.n,
            eos_token_id=eos,
            pad_token_id=pad,
            min_new_tokens=sampling.max_new_tokens if self.tokenizer is None else None,
        )

    def stream(self, ids: list[int], seed: int, sampling: SamplingSettings) -> Iterator[str]:
        """One sample's text, piece by piece as it is generated."""
        from threading import Thread

        import torch
        from transformers import TextIteratorStreamer

        torch.manual_seed(seed)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = self._generate_kwargs(ids, replace(sampling, n=1))
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self.model.generate(**kwargs, streamer=streamer)
            except BaseException as err:  # end the stream, then raise it in the caller
                failure.append(err)
                streamer.end()

        worker = Thread(target=run, daemon=True)
        worker.start()
        yield from streamer
        worker.join()
        if failure:
            raise failure[0]

    def generate(self, requests: list[Request]) -> Iterator[tuple[int, int, Sample]]:
        import torch

        eos, _ = self._stop_tokens()
        close_id = think_close_id(self.tokenizer)
        for number, request in enumerate(requests):
            ids, indices = request.prompt_ids, request.indices
            torch.manual_seed(sample_seed(request.seed, indices[0]))
            with torch.no_grad():
                out = self.model.generate(
                    **self._generate_kwargs(ids, replace(request.sampling, n=len(indices)))
                )
            for index, row in zip(indices, out[:, len(ids) :].tolist(), strict=True):
                stopped = eos is not None and eos in row
                generated = row[: row.index(eos)] if stopped else row
                text = self.tokenizer.decode(generated, skip_special_tokens=True) if self.tokenizer else ""
                yield (
                    number,
                    index,
                    Sample(
                        text=text,
                        tokens=len(generated) + (1 if stopped else 0),
                        finish_reason="stop" if stopped else "length",
                        reasoning_tokens=reasoning_token_count(generated, close_id),
                    ),
                )

    def close(self) -> None:
        del self.model
