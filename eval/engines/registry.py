"""The engines, by name: `make_engine` builds one. An engine is one builder here over its own module, which imports
only eval.engines.base (import-linter keeps the layers: registry > engines > base, so no circle)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eval.endpoint import Endpoint
from eval.engines.base import Engine
from recipes.schema import EvalSpec


@dataclass(frozen=True)
class EngineOptions:
    random_weights: bool = False
    prefix_caching: bool | None = None  # overrides the recipe's (the bench sets both ways)
    data_parallel: bool = True  # False: one engine whatever eval.vllm.data_parallel_size says
    endpoint: Endpoint | None = None
    count_tokens: Callable[[str], int] | None = None
    close_id: int | None = None


def _vllm(model_path: str, spec: EvalSpec, options: EngineOptions) -> Engine:
    vllm = spec.vllm
    if options.prefix_caching is not None:
        vllm = vllm.model_copy(update={"enable_prefix_caching": options.prefix_caching})
    if vllm.data_parallel_size > 1 and options.data_parallel and not options.random_weights:
        from eval.engines.data_parallel import DataParallelVllmEngine

        return DataParallelVllmEngine(model_path, vllm, seed=spec.generation.seed)
    from eval.engines.vllm_engine import VllmEngine

    return VllmEngine(model_path, vllm, seed=spec.generation.seed, random_weights=options.random_weights)


def _transformers(model_path: str, spec: EvalSpec, options: EngineOptions) -> Engine:
    from eval.engines.transformers_engine import TransformersEngine

    return TransformersEngine(model_path, dtype=spec.vllm.dtype, random_weights=options.random_weights)


def _endpoint(model_path: str, spec: EvalSpec, options: EngineOptions) -> Engine:
    from eval.engines.endpoint_engine import EndpointEngine

    if options.endpoint is None or options.count_tokens is None:
        raise ValueError("an endpoint engine needs the endpoint and count_tokens")
    return EndpointEngine(options.endpoint, spec.endpoint, options.count_tokens, close_id=options.close_id)


# name -> builder (model folder, the evaluation's settings, options); each imports its engine only when used
ENGINES: dict[str, Callable[[str, EvalSpec, EngineOptions], Engine]] = {
    "vllm": _vllm,
    "transformers": _transformers,
    "endpoint": _endpoint,
}


def make_engine(backend: str, model_path: str, spec: EvalSpec, **options) -> Engine:
    """The engine `backend` (see base.choose_backend) for a model folder with the evaluation's settings; with
    `endpoint=` the model is served elsewhere (`count_tokens` counts an answer's tokens when the server does not)."""
    opts = EngineOptions(**options)
    return ENGINES["endpoint" if opts.endpoint is not None else backend](model_path, spec, opts)
