"""Runs inside EvalScope's own environment (tests/test_oracle_evalscope.py makes it): EvalScope ThinkBench's
per-sample metrics on given responses, its judge model replaced by a deterministic judge of our own that is not
reasonlift's rule.

The judge answers ThinkBench's critique prompt as the prompt asks ("return the index of the paragraph where the
earliest correct answer occurs", paragraphs indexed from 0, -1 when none): the first of EvalScope's own paragraphs
that mentions the reference answer as a number of its own. reasonlift instead grades the candidates a step states
(boxes, right-hand sides of '=', "the answer is") with math-verify; where the two rules part, the test lists it.

stdin: {"tokenizer": folder, "items": [{"response", "problem", "gold"}]}
stdout: one object per item with EvalScope's names, and the judge's index.
"""

import json
import re
import sys
import tempfile

from evalscope.third_party.thinkbench.eval import EvalThink


def judge(paragraphs, problem, answer):
    """The index of the first paragraph that mentions `answer` as a number of its own, else -1."""
    mention = re.compile(r"(?<![\d.])" + re.escape(answer.strip()) + r"(?!\d|\.\d)")
    return next((index for index, text in enumerate(paragraphs) if mention.search(text)), -1)


def main() -> None:
    job = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as report:
        think = EvalThink(
            report, job["tokenizer"], "model", "math_500", ["default"], split_strategies="separator"
        )
        out = []
        for item in job["items"]:
            asked = []

            def answer_index(paragraphs, problem, answer, asked=asked):
                asked.append(judge(paragraphs, problem, answer))
                return asked[-1]

            think.get_answer_index = answer_index  # the judge model's seat; EvalScope's code does the rest
            row = {
                "messages": [
                    {"role": "user", "content": item["problem"]},
                    {"role": "assistant", "content": item["response"]},
                ],
                "target": item["gold"],
            }
            tokens, switches, efficiency, score, useful, reflection = think.process_item(row)
            out.append(
                {
                    "reasoning_tokens": tokens,
                    "thought_num": switches,
                    "token_efficiency": efficiency,
                    "accuracy": score,
                    "first_correct_tokens": useful,
                    "reflection_tokens": reflection,
                    "judge_index": asked[0],
                }
            )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
