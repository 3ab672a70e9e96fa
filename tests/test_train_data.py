"""SFT data: `max_samples` is a seeded random subset, and rows longer than max_length are counted and dropped
(or knowingly cut)."""

from __future__ import annotations

import json

import pytest

from recipes.schema import DatasetSpec
from train.data import drop_or_keep_long, load_train_dataset


def write_rows(path, count):
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a " * (i % 7)}]}
        for i in range(count)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_max_samples_is_a_seeded_random_subset(tmp_path):
    data = write_rows(tmp_path / "d.jsonl", 200)
    first = load_train_dataset(DatasetSpec(path=str(data), max_samples=20))
    again = load_train_dataset(DatasetSpec(path=str(data), max_samples=20))
    other = load_train_dataset(DatasetSpec(path=str(data), max_samples=20, seed=1))
    questions = [r["messages"][0]["content"] for r in first]
    assert len(questions) == 20 and questions != [f"q{i}" for i in range(20)]
    assert questions == [r["messages"][0]["content"] for r in again]
    assert questions != [r["messages"][0]["content"] for r in other]


def test_rows_longer_than_max_length_are_counted_and_dropped_or_kept(tmp_path, capsys):
    from transformers import AutoTokenizer

    from recipes.builtins import resolve

    tokenizer = AutoTokenizer.from_pretrained(resolve("builtin:tiny-qwen2"))
    data = write_rows(tmp_path / "d.jsonl", 70)
    dataset = load_train_dataset(DatasetSpec(path=str(data)))
    lengths = [len(tokenizer.apply_chat_template(r["messages"], tokenize=True)["input_ids"]) for r in dataset]
    limit = sorted(lengths)[len(lengths) // 2]
    too_long = sum(n > limit for n in lengths)
    assert 0 < too_long < len(lengths)
    kept = drop_or_keep_long(dataset, tokenizer, limit, "drop")
    assert len(kept) == len(dataset) - too_long and kept.column_names == ["messages"]
    assert f"{too_long} of 70 rows" in capsys.readouterr().out
    assert len(drop_or_keep_long(dataset, tokenizer, limit, "truncate")) == 70
    assert "cut at max_length" in capsys.readouterr().out
    assert drop_or_keep_long(dataset, tokenizer, max(lengths), "drop") is dataset


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n\n", "holds no rows"),
        (b'{"messages": []}\n{"messages": [\n', "line 2 is not valid JSON"),
        (b'{"messages": []}\n[1, 2]\n', "line 2 is not a JSON object"),
        (b'\xef\xbb\xbf{"messages": []}\n{"messages": [\n', "line 2 is not valid JSON"),  # a BOM is fine
        # latin-1, not UTF-8: it passed the check, then failed inside datasets with a 60-line traceback
        (
            b'{"messages": []}\n{"messages": [{"role": "user", "content": "caf\xe9"}]}\n',
            "line 2 is not UTF-8",
        ),
    ],
)
def test_a_broken_training_file_is_one_line_naming_the_line(tmp_path, content, message, capsys):
    from tests.conftest import write_recipe
    from train.cli import main

    data = tmp_path / "train.jsonl"
    data.write_bytes(content)
    recipe = write_recipe(tmp_path / "r.yaml", **{"train.dataset.path": str(data)})
    with pytest.raises(SystemExit) as exited:
        main([str(recipe)])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and message in error, error


@pytest.mark.slow
def test_sft_rows_are_measured_once_per_machine_not_once_per_rank(tmp_path):
    """Two ranks of a CPU job (gloo): the main process tokenises every conversation for the length filter, the
    other reads its cached measurement (train.data.sft_rows under the trainer's main_process_first)."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO, write_recipe
    from tests.e2e import closed_port

    data = write_rows(tmp_path / "d.jsonl", 300)
    recipe = write_recipe(
        tmp_path / "r.yaml", **{"train.dataset.path": str(data), "train.args.max_length": 24}
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_DATASETS_CACHE": str(tmp_path / "datasets")}
    port = str(closed_port())
    ranks = [
        subprocess.Popen(
            [sys.executable, "tests/sft_rows_ranks.py", str(recipe), str(rank), port],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    outputs = [rank.communicate(timeout=300) for rank in ranks]
    for rank, (_, err) in zip(ranks, outputs, strict=True):
        assert rank.returncode == 0, err[-3000:]
    said = [out.strip().splitlines()[-1] for out, _ in outputs]
    kept = said[0].split()[2]
    assert said == [f"rank 0: {kept} rows, measured", f"rank 1: {kept} rows, cached"]
