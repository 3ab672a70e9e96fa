"""`make view`: a local web app over a compare folder (FastAPI, Jinja2 templates, served by uvicorn).

Pages: `/` the compare table, the plots and the problem list (filters: change, task, level, truncated, no
answer; sorted by change); `/training` the tuned run's logged curves with the health rules that fired;
`/problem` one problem with both sides' samples side by side (the answer region
with the grader's span marked, the thinking collapsed and loaded a page at a time from `/thinking`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from eval.viewer.data import CompareFolder, Problem
from eval.viewer.math import rendered
from eval.viewer.training import load_runs

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
THINKING_PAGE_CHARS = 20_000
ANSWER_CHARS = 6_000  # an answer region longer than this is cut at its end, where the answer is
CHANGES = ("all", "broken", "fixed", "unchanged")


def marked(text: str, span: tuple[int, int] | None) -> Markup:
    """The answer region, HTML-escaped, math rendered, with the grader's span in <mark>; a long region keeps
    its end."""
    offset = 0
    if len(text) > ANSWER_CHARS:
        offset = len(text) - ANSWER_CHARS
        text = text[offset:]
    span = (span[0] - offset, span[1] - offset) if span is not None and span[0] >= offset else None
    return (Markup("…") if offset else Markup("")) + rendered(text, span)


def _matches(
    problem: Problem, a: str, b: str, change: str, task: str, level: str, truncated: bool, no_answer: bool
) -> bool:
    delta = problem.change(a, b)
    if (
        (change == "broken" and delta >= 0)
        or (change == "fixed" and delta <= 0)
        or (change == "unchanged" and delta != 0)
    ):
        return False
    if (task and problem.task != task) or (level and problem.level != level):
        return False
    if truncated and not problem.truncated(a, b):
        return False
    return not (no_answer and not problem.no_answer(a, b))


def create_app(compare: CompareFolder) -> FastAPI:
    app = FastAPI(title="reasonlift view", docs_url=None, redoc_url=None)

    def sides(a: str | None, b: str | None) -> tuple[str, str]:
        a = a or ("baseline" if "baseline" in compare.sides else compare.sides[0])
        b = b or ("tuned" if "tuned" in compare.sides else compare.sides[-1])
        for side in (a, b):
            if side not in compare.sides:
                raise HTTPException(404, f"no side {side!r} (this compare has {', '.join(compare.sides)})")
        return a, b

    def problem_or_404(task: str, problem_id: str) -> Problem:
        problem = compare.problems.get((task, problem_id))
        if problem is None:
            raise HTTPException(404, f"no problem {problem_id!r} in {task!r}")
        return problem

    @app.get("/", response_class=HTMLResponse)
    def index(
        request: Request,
        a: str | None = None,
        b: str | None = None,
        change: str = "all",
        task: str = "",
        level: str = "",
        truncated: bool = False,
        no_answer: bool = False,
    ):
        a, b = sides(a, b)
        if change not in CHANGES:
            raise HTTPException(400, f"change: one of {', '.join(CHANGES)}")
        problems = [
            p for p in compare.pair(a, b) if _matches(p, a, b, change, task, level, truncated, no_answer)
        ]
        problems.sort(key=lambda p: (p.change(a, b), p.task, p.problem_id))
        plots = sorted(p.name for p in compare.folder.glob("*.png"))
        levels = sorted({p.level for p in compare.problems.values() if p.level})
        return TEMPLATES.TemplateResponse(
            request,
            "index.html",
            {
                "payload": compare.payload,
                "sides": compare.sides,
                "a": a,
                "b": b,
                "problems": problems,
                "plots": plots,
                "tasks": compare.tasks,
                "levels": levels,
                "filters": {
                    "change": change,
                    "task": task,
                    "level": level,
                    "truncated": truncated,
                    "no_answer": no_answer,
                },
                "changes": CHANGES,
                "damaged": compare.damaged,
            },
        )

    @app.get("/problem", response_class=HTMLResponse)
    def problem_page(request: Request, task: str, id: str, a: str | None = None, b: str | None = None):
        a, b = sides(a, b)
        problem = problem_or_404(task, id)
        columns = [
            (side, problem.sides[side].pass1, compare.shown(side, problem))
            for side in (a, b)
            if side in problem.sides
        ]
        return TEMPLATES.TemplateResponse(
            request,
            "problem.html",
            {
                "problem": problem,
                "prompt": compare.prompt(problem),
                "columns": columns,
                "a": a,
                "b": b,
                "marked": marked,
                "math": rendered,
            },
        )

    @app.get("/thinking")
    def thinking(task: str, id: str, side: str, sample: int, page: int = 0):
        problem = problem_or_404(task, id)
        if side not in problem.sides:
            raise HTTPException(404, f"no side {side!r} for this problem")
        if all(s.index != sample for s in problem.sides[side].samples):
            raise HTTPException(404, f"no sample {sample}")
        text = compare.thinking(side, problem, sample)
        pages = max(1, -(-len(text) // THINKING_PAGE_CHARS))
        chunk = text[page * THINKING_PAGE_CHARS : (page + 1) * THINKING_PAGE_CHARS]
        return JSONResponse({"text": chunk, "page": page, "pages": pages, "chars": len(text)})

    @app.get("/training", response_class=HTMLResponse)
    def training(request: Request):
        return TEMPLATES.TemplateResponse(request, "training.html", {"runs": load_runs(compare.folder)})

    @app.get("/files/{name}")
    def files(name: str):
        path = (compare.folder / name).resolve()
        if path.parent != compare.folder or path.suffix != ".png" or not path.is_file():
            raise HTTPException(404, "no such plot")
        return FileResponse(path)

    return app
