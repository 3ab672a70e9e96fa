"""`make view`'s training page: the tuned run's logged curves (reward components, completion length, clipped
ratio, entropy, KL, importance-sampling ratio, loss, gradient norm) as small SVG charts, with a marker at the step
where each health rule fired. Read from the compare folder's `training/<side>.json` (the compare copies the run's
log history there), so it works offline and on a copied folder."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

from recipes.health import RULES

# the curves worth a chart, in this order; any `rewards/<name>/mean` joins them
CURVES = (
    "reward",
    "frac_reward_zero_std",
    "completions/mean_length",
    "completions/clipped_ratio",
    "entropy",
    "kl",
    "sampling/importance_sampling_ratio/mean",
    "loss",
    "grad_norm",
)
WIDTH, HEIGHT, PAD = 420, 120, 28


@dataclass
class Chart:
    key: str
    svg: Markup
    markers: list[str]  # "rule at step N"


@dataclass
class TrainingRun:
    side: str
    health: dict
    charts: list[Chart]


def load_runs(folder: Path) -> list[TrainingRun]:
    runs = []
    for path in sorted((folder / "training").glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        runs.append(TrainingRun(data.get("side", path.stem), data.get("health") or {}, charts(data)))
    return runs


def charts(data: dict) -> list[Chart]:
    history = data.get("log_history") or []
    keys = [k for k in CURVES if any(k in h for h in history)]
    keys[1:1] = sorted({k for h in history for k in h if k.startswith("rewards/") and k.endswith("/mean")})
    fired = {
        name: verdict["step"]
        for name, verdict in ((data.get("health") or {}).get("rules") or {}).items()
        if verdict.get("fired")
    }
    out = []
    for key in keys:
        points = [
            (h["step"], float(h[key]))
            for h in history
            if key in h and "step" in h and isinstance(h[key], int | float) and math.isfinite(h[key])
        ]
        if not points:
            continue
        markers = {
            name: step
            for name, step in fired.items()
            if name in RULES
            and (
                key in RULES[name].keys
                or (key.startswith("rewards/") and "rewards/<name>/mean" in RULES[name].keys)
            )
        }
        out.append(Chart(key, _svg(points, markers), [f"{n} at step {s}" for n, s in markers.items()]))
    return out


def _svg(points: list[tuple[int, float]], markers: dict[str, int]) -> Markup:
    steps = [s for s, _ in points]
    values = [v for _, v in points]
    x0, x1 = min(steps), max(steps)
    y0, y1 = min(values), max(values)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1

    def x(step: float) -> float:
        return PAD + (step - x0) / (x1 - x0) * (WIDTH - 2 * PAD)

    def y(value: float) -> float:
        return HEIGHT - PAD / 2 - (value - y0) / (y1 - y0) * (HEIGHT - PAD)

    line = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" class="curve">',
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="{line}"/>',
        f'<text x="2" y="12" font-size="10">{y1:.3g}</text><text x="2" y="{HEIGHT - 4}" font-size="10">{y0:.3g}</text>',
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 4}" font-size="10">step {x1}</text>',
    ]
    for name, step in markers.items():
        parts.append(
            f'<line x1="{x(step):.1f}" x2="{x(step):.1f}" y1="0" y2="{HEIGHT}" stroke="#c62828" stroke-dasharray="3,2">'
            f"<title>{escape(name)} from step {step}</title></line>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
