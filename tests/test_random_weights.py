"""`make bench weights=random`: the recipe model's architecture without its weights."""

import json

import pytest

from eval.bench.hardware import model_sizes
from eval.stores.generations import SamplingSettings
from recipes.architectures import PUBLISHED_CONFIGS, architecture_config, architecture_dir, count_parameters
from recipes.errors import UserError
from tests.conftest import REPO
from train.bench_train import synthetic_sequences

R1_DISTILL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"


def test_published_config_builds_the_published_model_size():
    from transformers import AutoConfig

    config = AutoConfig.for_model(**architecture_config(R1_DISTILL))
    # 1,777,088,000: untied 151,936 x 1,536 embeddings and head, 28 layers with q/k/v biases (the "1.78B")
    assert count_parameters(config) == 1_777_088_000
    params, weight_bytes, kv_per_token = model_sizes(config, 2)
    assert weight_bytes == 2 * params
    assert kv_per_token == 2 * 28 * 2 * 128 * 2  # K and V, 28 layers, 2 KV heads of 128, bf16


def test_architecture_dir_holds_only_the_config(tmp_path, monkeypatch):
    monkeypatch.setenv("REASONLIFT_CACHE", str(tmp_path))
    folder = architecture_dir(R1_DISTILL)
    assert [p.name for p in folder.iterdir()] == ["config.json"]
    assert json.loads((folder / "config.json").read_text()) == PUBLISHED_CONFIGS[R1_DISTILL]
    assert architecture_dir(R1_DISTILL) == folder  # stable: a second call reuses it


def test_a_local_model_brings_its_own_config(tmp_path):
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "qwen2", "hidden_size": 64}))
    assert architecture_config(str(model))["hidden_size"] == 64


def test_unknown_models_say_how_to_get_a_config(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match=r"neither on disk nor among the published configs.*hf download"):
        architecture_config("someone/unheard-of-model")
    with pytest.raises(UserError, match="does not exist"):
        architecture_config(str(tmp_path / "missing"))


def test_synthetic_sequences_spread_over_the_length_limit():
    data = synthetic_sequences(vocab_size=1000, max_length=512, rows=200)
    lengths = [len(ids) for ids in data["input_ids"]]
    assert min(lengths) >= 64 and max(lengths) <= 512
    assert max(lengths) - min(lengths) > 300  # unequal, so padding and packing differ
    assert all(0 <= t < 1000 for ids in data["input_ids"] for t in ids)
    assert synthetic_sequences(1000, 512, 200)["input_ids"] == data["input_ids"]  # same seed, same data


def test_transformers_engine_with_random_weights_decodes_to_the_limit(tmp_path):
    from eval.engines.base import per_prompt
    from eval.engines.transformers_engine import TransformersEngine
    from recipes.builtins.tiny_model import tiny_model_path

    arch = tmp_path / "arch"
    arch.mkdir()
    (arch / "config.json").write_text((tiny_model_path() / "config.json").read_text())
    engine = TransformersEngine(str(arch), dtype="float32", random_weights=True)
    sampling = SamplingSettings(n=3, temperature=0.6, top_p=0.95, max_new_tokens=12, seed=0)
    outputs = dict(per_prompt(engine, [[5, 6, 7], [8, 9]], [1, 2], sampling))
    assert sorted(outputs) == [0, 1]
    for samples in outputs.values():
        assert [(s.tokens, s.finish_reason) for s in samples] == [(12, "length")] * 3


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--stages", "generation,tokenize"], "stages: unknown tokenize"),
        (["--weights", "pretend"], "'pretend' is not one of 'trained', 'random'"),
        (
            ["--max-new-tokens", "0"],
            "Invalid value for '--max-new-tokens': Input should be greater than or equal to 1",
        ),
    ],
)
def test_bench_refuses_bad_flags_in_one_line(flags, message, capsys):
    from eval.cli import bench
    from recipes.cli import run

    with pytest.raises(SystemExit) as exited:
        run(bench, [str(REPO / "recipes" / "smoke" / "sft.yaml"), *flags])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and message in error and "Traceback" not in error
