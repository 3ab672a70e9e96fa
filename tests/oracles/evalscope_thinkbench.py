"""Runs inside EvalScope's own environment (tests/test_oracle_evalscope.py makes it): EvalScope ThinkBench's
per-sample metrics on given responses, with the first-correct paragraph supplied instead of a judge model.

stdin: {"tokenizer": folder, "items": [{"response", "problem", "gold", "paragraph"}]}, where `paragraph` is
the count of '\\n\\n'-separated paragraphs up to and including the first correct one (None: none found).
stdout: one object per item with EvalScope's names.
"""

import json
import sys
import tempfile

from evalscope.third_party.thinkbench.eval import EvalThink


def main() -> None:
    job = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as report:
        think = EvalThink(
            report, job["tokenizer"], "model", "math_500", ["default"], split_strategies="separator"
        )
        out = []
        for item in job["items"]:
            paragraph = item["paragraph"]
            # the judge's answer, given: EvalScope keeps the paragraphs before the index it returns
            think.get_answer_index = lambda steps, problem, answer, k=paragraph: -1 if k is None else k
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
                }
            )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
