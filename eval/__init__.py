"""Evaluation stage: lighteval tasks, model backends, stores, statistics, compare and reporting.

The answer checker, prompts and task catalog it uses live in recipes/protocol/, shared with training."""

from eval.harness.compat import accept_grader_latex2sympy

accept_grader_latex2sympy()
