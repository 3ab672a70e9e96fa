"""What a compare computes from two evaluations: problems paired, statistics, the guard, the published baseline,
the token budget, serving cost and the checkpoint curve. The compare command (eval.compare.command) and the report
sections (eval.reporting.sections) both read these; none of them imports either."""
