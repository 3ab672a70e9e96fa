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
