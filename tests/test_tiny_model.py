import json

from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from recipes.builtins.tiny_model import tiny_model_path
from recipes.protocol.chat_template import ASSISTANT, BOS, USER


def test_tiny_model_round_trip():
    path = tiny_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert type(tokenizer).__name__ == "Qwen2Tokenizer"
    text = "What is 47 + 2?\nPlease reason step by step, and put your final answer within \\boxed{}.</think>"
    ids = tokenizer(text, add_special_tokens=False).input_ids
    # the saved tokenizer.json and the tokenizer transformers rebuilds on load must agree
    raw = json.loads((path / "tokenizer.json").read_text())
    from tokenizers import Tokenizer

    assert Tokenizer.from_str(json.dumps(raw)).encode(text, add_special_tokens=False).ids == ids
    assert tokenizer.decode(ids) == text
    assert "</think>" in tokenizer.decode(ids, skip_special_tokens=True)  # like DeepSeek's, not special

    config = AutoConfig.from_pretrained(path)
    assert config.model_type == "qwen2"
    assert config.hidden_size // config.num_attention_heads == 64  # vLLM's CPU backend needs >= 32
    model = AutoModelForCausalLM.from_pretrained(path)
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert model.get_input_embeddings().num_embeddings >= len(tokenizer)


def test_chat_template_prefills_think_like_r1_distill():
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path())
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == f"{BOS}{USER}Hi{ASSISTANT}<think>\n"
    # for SFT the assistant turn keeps its reasoning (DeepSeek's own template strips it)
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "<think>\nx\n</think>\n\ny"}],
        tokenize=False,
    )
    assert full.endswith(f"{ASSISTANT}<think>\nx\n</think>\n\ny<｜end▁of▁sentence｜>")


def test_toy_split_has_no_overlap_and_facts_are_covered():
    from recipes.builtins.toy_data import eval_rows, train_rows

    train = {r["problem"] for r in train_rows()}
    held_out = eval_rows()
    assert len(held_out) == 30 and not train & {r["problem"] for r in held_out}
    train_facts = {(int(p.split()[2]) % 10, int(p.split()[4].rstrip("?"))) for p in train}
    for row in held_out:
        a, b = int(row["problem"].split()[2]), int(row["problem"].split()[4].rstrip("?"))
        assert (a % 10, b) in train_facts
