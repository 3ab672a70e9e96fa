"""A tiny Qwen2 model with a locally trained tokenizer: the real architecture, built offline in seconds.

Used by the demo and the tests in place of DeepSeek-R1-Distill-Qwen-1.5B (same model class, same
chat format, same special tokens), so every code path runs for real on a CPU without the hub.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from recipes.log import info
from recipes.paths import cache_dir
from recipes.protocol.chat_template import (
    ASSISTANT,
    BOS,
    EOS,
    PAD,
    R1_CHAT_TEMPLATE,
    USER,
)
from recipes.protocol.markup import THINK_CLOSE, THINK_OPEN

TINY_MODEL_NAME = "tiny-qwen2"
# Bump when the architecture or tokenizer recipe changes so stale builds are not reused.
TINY_MODEL_VERSION = 4
# Qwen2's pre-tokenizer split: transformers rebuilds it on load, so the trained tokenizer must match it.
QWEN2_SPLIT_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPECIAL_TOKENS = [BOS, EOS, PAD, USER, ASSISTANT]
# As in DeepSeek's tokenizer, the think tags are added tokens but not special ones: decoding keeps them.
THINK_TOKENS = [THINK_OPEN, THINK_CLOSE]


def _tokenizer_corpus() -> list[str]:
    from recipes.builtins.toy_data import corpus_for_tokenizer

    generic = [
        "Please reason step by step, and put your final answer within \\boxed{}.",
        "What is the value of x if 2x + 3 = 7? The answer is \\boxed{2}.",
        "Answer the following multiple choice question. The last line of your response should be "
        "of the form 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD.",
        "Let me reconsider. Alternatively, but wait, another approach is to check the result again.",
        "\\frac{1}{2} \\sqrt{3} \\pi \\left( \\right) \\cdot \\times \\le \\ge \\infty",
    ]
    return generic * 20 + corpus_for_tokenizer()


def build_tokenizer(target: Path, vocab_size: int = 512):
    """Train a byte-level BPE with Qwen2's normaliser and split regex, wrapped as a Qwen2 tokenizer."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_tokenizer_corpus(), trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK_TOKENS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=[USER, ASSISTANT],
        model_max_length=4096,
    )
    fast.chat_template = R1_CHAT_TEMPLATE
    fast.save_pretrained(target)
    # Declare it a Qwen2 tokenizer, as the real model's folder does.
    config_path = target / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "Qwen2Tokenizer"
    config["add_bos_token"] = False
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False))


def build_tiny_model(target: Path, seed: int = 0) -> Path:
    """Write a randomly initialised tiny Qwen2ForCausalLM and its tokenizer to `target`."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    build_tokenizer(target)
    tokenizer = AutoTokenizer.from_pretrained(target)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=2,
        num_attention_heads=4,  # head size 64: vLLM's CPU attention needs >= 32
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(target)
    return target


def tiny_model_path() -> Path:
    """The cached tiny model, built on first use; concurrent builders race safely via an atomic rename."""
    target = cache_dir() / "models" / f"{TINY_MODEL_NAME}-v{TINY_MODEL_VERSION}"
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        build_tiny_model(staging)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main() -> None:
    info(tiny_model_path())


if __name__ == "__main__":
    main()
