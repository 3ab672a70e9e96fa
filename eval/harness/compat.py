"""The small layer that keeps reasonlift working with lighteval 0.13.0's internals.

lighteval 0.13.0 builds its task registry by importing every built-in task module, and one of them
downloads a file at import time, so an offline machine cannot even start an evaluation. This layer
loads only reasonlift's own task module. It is pinned to the version it was written against: a
different lighteval fails loudly here instead of misbehaving somewhere deeper.

lighteval 0.13.0 also pins latex2sympy2_extended==1.0.6 and checks the pin whenever its own math metrics
are built, some at import time. reasonlift grades with math-verify 0.9, which needs latex2sympy2_extended
1.11, and never calls lighteval's math grading: `accept_grader_latex2sympy` lets lighteval import beside it.
It must run before any `lighteval.metrics` module is imported (lighteval reads the pin when those modules
load), which is why `eval/__init__.py` calls it: every reasonlift module that imports lighteval is in eval/.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import metadata
from types import ModuleType

SUPPORTED_LIGHTEVAL = "0.13."
GRADER_LATEX2SYMPY = "latex2sympy2_extended>=1.0.6"


def accept_grader_latex2sympy() -> None:
    """Relax lighteval's latex2sympy2_extended pin in its own requirement table, before any lighteval module
    that checks it is imported (eval/__init__.py calls this)."""
    try:
        from lighteval.utils.imports import required_dependencies
    except ImportError:  # lighteval is not installed: nothing to relax
        return
    from packaging.requirements import Requirement

    deps, by_extra = required_dependencies()
    name = "latex2sympy2_extended"
    if name in deps:
        deps[name] = Requirement(GRADER_LATEX2SYMPY)
        for requirements in by_extra.values():
            requirements[:] = [deps[name] if r.name == name else r for r in requirements]


def check_lighteval_version() -> str:
    version = metadata.version("lighteval")
    if not version.startswith(SUPPORTED_LIGHTEVAL):
        raise RuntimeError(
            f"reasonlift's lighteval compatibility layer supports lighteval {SUPPORTED_LIGHTEVAL}x, found {version}; "
            "reinstall with `make install` or update eval/harness/compat.py"
        )
    return version


@contextlib.contextmanager
def only_project_tasks(module: ModuleType) -> Iterator[None]:
    """While active, lighteval's Registry sees exactly the tasks in `module` and imports none of its own."""
    check_lighteval_version()
    from lighteval.tasks.registry import Registry

    original = Registry.__dict__["load_all_task_configs"]

    def load_project_configs(custom_tasks=None, load_multilingual=False):
        return Registry._extract_configs(module)

    Registry.load_all_task_configs = staticmethod(load_project_configs)
    try:
        yield
    finally:
        Registry.load_all_task_configs = original


class NoSampleCache:
    """Stands in for lighteval's SampleCache, which keys on the model config rather than the weights.

    reasonlift's GenerationStore keys on a fingerprint of the weights instead; the Pipeline only needs
    this hook to exist on the model.
    """

    def _init_registry(self, registry) -> None:
        self.registry = registry


@contextlib.contextmanager
def grad_mode_kept() -> Iterator[None]:
    """lighteval 0.13's transformers backend turns autograd off for the whole process when its module is
    imported (`torch.set_grad_enabled(False)` at module level), and `lighteval.pipeline` imports it: a process
    that evaluates and then trains (the bench, the tests) would train nothing. Import lighteval inside this."""
    import torch

    enabled = torch.is_grad_enabled()
    try:
        yield
    finally:
        torch.set_grad_enabled(enabled)
