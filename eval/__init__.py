"""Evaluation stage: lighteval tasks, model backends, scoring, statistics, compare and reporting."""
