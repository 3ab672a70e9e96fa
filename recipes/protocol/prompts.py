"""Prompts in DeepSeek's evaluation protocol for R1-Distill models (no system prompt)."""

from __future__ import annotations

MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
LETTERS = "ABCD"
GPQA_TEMPLATE = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by "
    "step before answering.\n\n{question}\n\nA) {A}\nB) {B}\nC) {C}\nD) {D}"
)


def math_prompt(problem: str) -> str:
    return f"{problem}\n{MATH_INSTRUCTION}"


def gpqa_prompt(question: str, options: list[str]) -> str:
    return GPQA_TEMPLATE.format(question=question, **dict(zip(LETTERS, options, strict=True)))


def task_prompt(answer_kind: str, text: str) -> str:
    """Free text wrapped as a task wraps its problems (`make chat task=...`). A multiple-choice question is
    the question followed by four lines `A) ...` to `D) ...`."""
    if answer_kind == "math":
        return math_prompt(text)
    lines = text.strip().splitlines()
    options = {line[0]: line[3:].strip() for line in lines if line[:3] in {f"{x}) " for x in LETTERS}}
    question = "\n".join(line for line in lines if line[:3] not in {f"{x}) " for x in LETTERS}).strip()
    if set(options) != set(LETTERS) or not question:
        raise ValueError("write the question, then four lines 'A) ...', 'B) ...', 'C) ...', 'D) ...'")
    return gpqa_prompt(question, [options[x] for x in LETTERS])
