"""Library logging for reasonlift's commands: lighteval and vLLM log every step; we print what a user needs."""

from __future__ import annotations

import logging
import os
import warnings


def quiet_libraries() -> None:
    # lighteval and vLLM log every step at INFO/WARNING; reasonlift prints what a user needs.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # also reaches vLLM's worker processes
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("lighteval", "datasets", "httpx", "vllm"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
