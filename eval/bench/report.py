"""The bench table: each stage's measurement beside its bound."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def _setting(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def print_bench(results: dict) -> None:
    console = Console(width=200)
    weights = "random weights" if results["settings"]["random_weights"] else "trained weights"
    table = Table(
        title=f"reasonlift bench · {results['model']} ({weights}) · {results['hardware']['name']}",
        title_justify="left",
    )
    for column in ("stage", "setting", "measured", "bound", "ratio"):
        table.add_column(column, justify="left" if column in ("stage", "setting") else "right")
    for row in results.get("generation", []):
        table.add_row(
            f"eval generation · {row['task']}",
            f"{row['engine']}, {row['variant']}; {row['problems']}x{row['samples']} samples, "
            f"{row['mean_output_tokens']:,.0f} tokens each, {row['wall_s']:.1f} s",
            f"{row['tokens_per_s']:,.0f} tok/s",
            f"{row['bound_tokens_per_s']:,.0f} tok/s ({row['binding']})",
            f"{100 * row['ratio']:.1f}%",
        )
    for row in results.get("sft", []):
        if "error" in row:
            table.add_row("SFT", _setting(row["settings"]), row["error"], "–", "–")
            continue
        table.add_row(
            "SFT",
            f"{_setting(row['settings'])}; max_length {row['max_length']}, peak memory {row['peak_memory_gb']:.2f} GB",
            f"{row['tokens_per_s_per_device']:,.0f} tok/s/device",
            f"{results['hardware']['peak_flops'] / 1e12:.2f} TFLOP/s",
            f"MFU {100 * row['mfu']:.1f}%",
        )
    if "grpo" in results:
        g = results["grpo"]
        table.add_row(
            "GRPO step",
            f"{g['completions_per_step']} completions ≤ {g['max_completion_length']} tokens, {g['generation_engine']}: "
            f"generation {g['generation_s']:.2f} s · scoring {g['scoring_s']:.3f} s · optimisation {g['optimisation_s']:.2f} s",
            f"{g['step_s']:.2f} s/step",
            "–",
            "–",
        )
    if "scheduling" in results:
        s = results["scheduling"]
        table.add_row(
            "eval scheduling",
            f"{s['samples']:,} samples of {len(s['tasks'])} task(s), long-tailed limits ({100 * s['truncated_share']:.0f}% "
            f"at {s['limits']['max_new_tokens']}): one task at a time {s['one_task_at_a_time_s']:.1f} s · all at once "
            f"{s['all_at_once_s']:.1f} s · ideal {s['ideal_s']:.1f} s",
            f"{s['all_at_once_s']:.1f} s",
            f"{s['ideal_s']:.1f} s (peak {s['peak_tokens_per_s']:,.0f} tok/s)",
            f"{100 * s['ideal_over_all_at_once']:.1f}% (one at a time {100 * s['ideal_over_one_task_at_a_time']:.1f}%)",
        )
        table.add_row(
            "eval engine path",
            f"reasonlift VllmEngine + GenerationStore vs vllm LLM.generate, same prompts and limits: "
            f"{s['engine_path_tokens']:,} tokens, {s['engine_path_tokens_per_s']:,.0f} vs "
            f"{s['llm_generate_tokens_per_s']:,.0f} tok/s",
            f"{s['engine_path_s']:.1f} s",
            f"{s['llm_generate_s']:.1f} s",
            f"{100 * s['engine_path_over_llm_generate']:.1f}%",
        )
    if "contamination" in results:
        c = results["contamination"]
        table.add_row(
            "contamination",
            f"{c['training_rows']:,} training rows vs {c['evaluation_problems']} problems (synthetic); "
            f"planted {c['planted']}, found {c['planted_found']}",
            f"{c['seconds']:.1f} s, {c['rows_per_s']:,.0f} rows/s",
            "–",
            "–",
        )
    if "analysis" in results:
        a = results["analysis"]
        table.add_row(
            "post-generation",
            f"synthetic compare, {a['samples']:,} samples (scale {a['scale']:g}), {a['cpus']} CPU(s): "
            f"{', '.join(f'{k} {v:.1f} s' for k, v in a['stages_s'].items())}; peak memory {a['peak_rss_gb']:.2f} GB; "
            f"a second compare {a['second_compare_s']:.1f} s",
            f"analysis {a['analysis_s']:.1f} s",
            f"grading {a['grading_s']:.1f} s",
            f"{a['analysis_to_grading']}x (target <= {a['target']:g}x)",
        )
    if "scoring" in results:
        s = results["scoring"]
        table.add_row(
            "scoring",
            f"{s['answers']:,} answers ({s['pathological']} pathological)",
            f"{s['seconds']:.2f} s, {s['answers_per_s']:,.0f} answers/s",
            f"peak {s['peak_rss_mb']:,.0f} MB",
            "–",
        )
    console.print(table)
