"""A served model: an OpenAI-compatible endpoint (vLLM's `vllm serve`, SGLang, ...) as evaluation sees it.

`probe` asks the server what it serves (`GET /v1/models`) before any work, so a dead URL, a wrong served-model
name or a server that answers errors is one clear line. The served weights cannot be fingerprinted from
here; an endpoint's identity is its URL, the served model's name, what the server says it loaded (vLLM's
`root`) and its context length, and `refresh` forgets what was saved under that identity.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from recipes.errors import UserError
from recipes.schema import EndpointSpec

PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Endpoint:
    url: str  # base URL, ending in /v1
    model: str  # the served model's name, sent with every request
    root: str | None = None  # what the server loaded (vLLM reports the path or hub id)
    max_model_len: int | None = None  # the served context, when the server reports it

    def identity(self) -> dict:
        return asdict(self)


def is_endpoint(name: str) -> bool:
    return name.startswith(("http://", "https://"))


def base_url(url: str) -> str:
    """`http://host:port`, `.../v1` and `.../v1/` all name the same OpenAI-compatible base URL."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def api_key(spec: EndpointSpec) -> str:
    return os.environ.get(spec.api_key_env) or "EMPTY"


def client(
    url: str,
    spec: EndpointSpec,
    asynchronous: bool = False,
    timeout_s: float | None = None,
    max_retries: int | None = None,
):
    """The openai client for an endpoint: its key, and the recipe's timeout and retries unless overridden."""
    import openai

    factory = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return factory(
        base_url=url,
        api_key=api_key(spec),
        timeout=spec.timeout_s if timeout_s is None else timeout_s,
        max_retries=spec.max_retries if max_retries is None else max_retries,
    )


def probe(url: str, served_model: str | None, spec: EndpointSpec) -> Endpoint:
    """The endpoint at `url` and the model it serves (the only one, or `served_model`), or a UserError."""
    import openai

    url = base_url(url)
    listing = client(url, spec, timeout_s=PROBE_TIMEOUT_S, max_retries=1)
    try:
        models = list(listing.models.list())
    except openai.APITimeoutError:
        raise UserError(f"{url}: no answer to GET /models within {PROBE_TIMEOUT_S:.0f} s") from None
    except openai.APIConnectionError as err:
        cause = err.__cause__ or err
        raise UserError(
            f"{url}: cannot connect ({type(cause).__name__}); is the server running? "
            "Start one with `make serve recipe=R` (or `vllm serve MODEL`)"
        ) from None
    except openai.APIStatusError as err:
        raise UserError(f"{url}: GET /models answered HTTP {err.status_code}: {_message(err)}") from None
    finally:
        listing.close()
    if not models:
        raise UserError(f"{url}: the server lists no models")
    names = [m.id for m in models]
    if served_model is None and len(names) > 1:
        raise UserError(
            f"{url} serves several models ({', '.join(names)}): name one with served_model= "
            "(in make compare: baseline_served= or tuned_served=)"
        )
    name = served_model or names[0]
    if name not in names:
        raise UserError(f"{url} does not serve {name!r}; it serves: {', '.join(names)}")
    extra = models[names.index(name)].model_extra or {}
    max_len = extra.get("max_model_len")
    return Endpoint(
        url=url,
        model=name,
        root=extra.get("root"),
        max_model_len=int(max_len) if isinstance(max_len, int | float) else None,
    )


def sends_seeds(endpoint: Endpoint, spec: EndpointSpec) -> bool:
    """Whether requests carry their prompt's seed. vLLM's CPU backend kills its engine on a per-request
    seed; a server on loopback when this machine has no GPU can only be that backend."""
    if spec.per_request_seed is not None:
        return spec.per_request_seed
    from urllib.parse import urlparse

    from recipes.gpus import gpu_available

    host = urlparse(endpoint.url).hostname or ""
    return gpu_available() or host not in {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def _message(err) -> str:
    body = err.body if isinstance(err.body, dict) else {}
    return str(body.get("message") or err.message).strip()


def error_line(err: Exception) -> str:
    """One line for a failed request: the HTTP status and the server's message, or the kind of failure."""
    import openai

    if isinstance(err, openai.APIStatusError):
        return f"HTTP {err.status_code}: {_message(err)}"
    if isinstance(err, openai.APITimeoutError):
        return "timed out"
    if isinstance(err, openai.APIConnectionError):
        return f"connection failed ({type(err.__cause__ or err).__name__})"
    return f"{type(err).__name__}: {err}"
