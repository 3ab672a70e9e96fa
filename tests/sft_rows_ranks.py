"""One rank of a 2-process CPU job (gloo) reading SFT's rows, as train/sft.py does: prints whether this rank
tokenised the conversations itself or read the main process's cached measurement.

    python tests/sft_rows_ranks.py RECIPE RANK PORT
"""

from __future__ import annotations

import logging
import os
import sys


def main(recipe_path: str, rank: int, port: int) -> None:
    os.environ.update(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    import datasets
    from trl import SFTConfig

    from recipes import load_recipe
    from train import common
    from train.data import sft_rows
    from train.run import base_model_folder, describe

    recipe = load_recipe(recipe_path)
    run = describe(recipe, model=base_model_folder(recipe))
    tokenizer = common.load_tokenizer(run)
    config = run.trl_config(SFTConfig, run_name=recipe.name)
    cached: list[str] = []

    class Hits(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "Loading cached processed dataset" in record.getMessage():
                cached.append(record.getMessage())

    datasets.logging.set_verbosity_info()
    datasets.logging.get_logger().addHandler(Hits())
    rows = sft_rows(recipe.train.dataset, tokenizer, config)
    print(f"rank {rank}: {len(rows)} rows, {'cached' if cached else 'measured'}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
