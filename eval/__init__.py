"""Evaluation stage: lighteval tasks, model backends, scoring, statistics, compare and reporting."""

from eval.compat import accept_grader_latex2sympy

accept_grader_latex2sympy()
