"""DeepSeek-R1-Distill's conversation format, as a chat template that also serves SFT.

For a prompt this renders exactly what DeepSeek's template renders: BOS, optional system text,
`<｜User｜>` turns and, for the generation prompt, `<｜Assistant｜><think>\\n` -- the model's answer
starts inside its thinking block. DeepSeek's own template drops everything up to `</think>` from
assistant turns, which is right for multi-turn chat and wrong for SFT on reasoning traces; this one
keeps assistant turns whole and marks them with `{% generation %}` so TRL can train on them alone.
"""

from __future__ import annotations

from recipes.protocol.markup import THINK_OPEN

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
USER = "<｜User｜>"
ASSISTANT = "<｜Assistant｜>"
PAD = "<｜▁pad▁｜>"

R1_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{{ messages[0]['content'] }}{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{ '" + USER + "' + message['content'] }}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{ '" + ASSISTANT + "' }}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '" + ASSISTANT + THINK_OPEN + "\\n' }}{%- endif -%}"
)


def apply_recipe_template(tokenizer, template_choice: str) -> None:
    """Install the R1 training template on `tokenizer` when the recipe asks for it ("r1")."""
    if template_choice == "r1":
        tokenizer.chat_template = R1_CHAT_TEMPLATE
