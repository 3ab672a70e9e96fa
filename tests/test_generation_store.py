from eval.stores.generations import GenerationStore, Sample, SamplingSettings

SETTINGS = SamplingSettings(n=2, temperature=0.6, top_p=0.95, max_new_tokens=8, seed=1)


def test_samples_survive_a_reopen(tmp_path):
    store = GenerationStore("f" * 64, SETTINGS, root=tmp_path)
    samples = [Sample("a", 3, "stop"), Sample("b", 8, "length")]
    store.put("prompt one", samples, problem_id="p1")
    again = GenerationStore("f" * 64, SETTINGS, root=tmp_path)
    assert again.get("prompt one") == samples
    assert again.get("prompt two") is None


def test_interrupted_write_loses_only_that_prompt(tmp_path):
    store = GenerationStore("f" * 64, SETTINGS, root=tmp_path)
    store.put("p1", [Sample("a", 1, "stop")] * 2, problem_id="1")
    with open(store.path, "a") as f:  # a write cut off half way by a kill
        f.write('{"key": "abc", "problem_id": "2", "samp')
    resumed = GenerationStore("f" * 64, SETTINGS, root=tmp_path)
    assert len(resumed) == 1
    resumed.put("p3", [Sample("c", 2, "stop")] * 2, problem_id="3")
    final = GenerationStore("f" * 64, SETTINGS, root=tmp_path)
    assert final.get("p1") and final.get("p3") and len(final) == 2


def test_keys_separate_weights_and_settings(tmp_path):
    a = GenerationStore("a" * 64, SETTINGS, root=tmp_path)
    a.put("p", [Sample("x", 1, "stop")] * 2, problem_id="1")
    assert GenerationStore("b" * 64, SETTINGS, root=tmp_path).get("p") is None
    other = SamplingSettings(n=2, temperature=1.0, top_p=0.95, max_new_tokens=8, seed=1)
    assert GenerationStore("a" * 64, other, root=tmp_path).get("p") is None


def test_weights_fingerprint_follows_content_not_path(tmp_path):
    from eval.stores.fingerprint import weights_fingerprint

    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        (folder / "model.safetensors").write_bytes(b"weights-v1")
    assert weights_fingerprint(one) == weights_fingerprint(two)
    (two / "model.safetensors").write_bytes(b"weights-v2")  # re-trained into the same folder
    assert weights_fingerprint(one) != weights_fingerprint(two)


def test_a_checkpoint_and_the_same_weights_saved_as_the_final_model_share_a_fingerprint(
    tmp_path, isolated_cache
):
    from eval.stores.fingerprint import weights_fingerprint

    checkpoint, final = tmp_path / "checkpoint-42", tmp_path / "final"
    for folder in (checkpoint, final):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"weights")
        (folder / "config.json").write_text("{}")
    for name in ("optimizer.pt", "scheduler.pt", "training_args.bin", "rng_state.pth", "scaler.pt"):
        (checkpoint / name).write_bytes(b"training state")
    assert weights_fingerprint(checkpoint) == weights_fingerprint(final)
    (final / "model.safetensors").write_bytes(b"other weights")
    assert weights_fingerprint(checkpoint) != weights_fingerprint(final)
