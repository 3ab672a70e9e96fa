"""A model as evaluation sees it: what the user named (hub id, folder, builtin) as a local folder with a
weights fingerprint, and its tokenizer with the recipe's chat template -- the one place prompts are
rendered and counted."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from eval.endpoint import Endpoint, is_endpoint, probe
from eval.stores.fingerprint import text_fingerprint, weights_fingerprint
from recipes.builtins import local_path
from recipes.errors import UserError
from recipes.hub import TOKENIZER_FILES, snapshot
from recipes.models import model_folder
from recipes.protocol.chat_template import apply_recipe_template
from recipes.schema import EndpointSpec


@dataclass(frozen=True)
class ModelRef:
    name: str  # as the user wrote it
    path: str  # local folder: the weights, or for a served model its tokenizer
    fingerprint: str
    endpoint: Endpoint | None = None  # set for a served model (a URL)


def resolve_model(
    name: str,
    revision: str | None = None,
    base: Path | None = None,
    served_model: str | None = None,
    tokenizer_from: str | None = None,
    endpoint_spec: EndpointSpec | None = None,
) -> ModelRef:
    """What `name` is: a folder, a hub id or a builtin (weights here), or a URL (a served model, whose
    prompts are rendered with the tokenizer the server loaded when it is here, else `tokenizer_from`)."""
    if is_endpoint(name):
        return _resolve_endpoint(name, served_model, tokenizer_from, endpoint_spec or EndpointSpec(), base)
    path = model_folder(name, revision, base)
    try:
        fingerprint = weights_fingerprint(path)
    except FileNotFoundError as err:
        raise UserError(f"model {name!r}: {err}") from None
    return ModelRef(name=name, path=str(path), fingerprint=fingerprint)


def _resolve_endpoint(
    url: str, served_model: str | None, tokenizer_from: str | None, spec: EndpointSpec, base: Path | None
) -> ModelRef:
    endpoint = probe(url, served_model, spec)
    candidates = [c for c in (endpoint.root, tokenizer_from) if c]
    for candidate in candidates:
        folder = local_path(candidate, base)
        if folder is not None and (folder / "tokenizer_config.json").exists():
            break
    else:
        hub_ids = [c for c in candidates if local_path(c, base) is None]
        if not hub_ids:
            raise UserError(
                f"{url}: no tokenizer to render prompts with: the server loaded {endpoint.root!r}, which is not "
                "a folder here; evaluate with recipe=R (its model's tokenizer is used)"
            )
        folder = snapshot(hub_ids[0], None, TOKENIZER_FILES)
    fingerprint = text_fingerprint("endpoint", endpoint.identity())
    return ModelRef(name=url, path=str(folder), fingerprint=fingerprint, endpoint=endpoint)


@functools.lru_cache(maxsize=8)
def load_tokenizer(path: str, chat_template: str = "model"):
    """The model's tokenizer, with the R1 template installed when the recipe asks for it (`r1`); built once per
    process for each folder and template (a compare asks for each side's in evaluation, reasoning and cost)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    apply_recipe_template(tokenizer, chat_template)
    return tokenizer


def render_prompt(tokenizer, text: str) -> str:
    """One user turn through the chat template, ending where the model starts to answer."""
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
    )


def prompt_ids(tokenizer, rendered: str) -> list[int]:
    """Token ids of a rendered prompt (the template already holds the special tokens)."""
    return tokenizer(rendered, add_special_tokens=False).input_ids


def token_counter(source):
    """Counts tokens of free text with a model's tokenizer (a folder, or a loaded tokenizer). Its `offsets(text)`
    gives each token's end offset in the text, in the same tokenisation (one pass where a count and a position
    in it are both wanted)."""
    tokenizer = load_tokenizer(source) if isinstance(source, str) else source

    def count(text: str) -> int:
        return len(prompt_ids(tokenizer, text))

    def offsets(text: str) -> list[int]:
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [end for _, end in encoded["offset_mapping"]]

    count.offsets = offsets
    return count
