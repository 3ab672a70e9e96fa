"""W&B never blocks a run: credentials with no reachable server mean offline within seconds."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from recipes import wandb_env
from tests.e2e import closed_port

KEY = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def credentials(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv(wandb_env.REASON_VAR, raising=False)
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))


def test_a_closed_port_means_offline_at_once(credentials, monkeypatch):
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    mode, reason = wandb_env.resolve_mode()
    assert mode == "offline" and "did not answer within 3 s" in reason
    assert time.monotonic() - started < 2


def test_a_server_that_accepts_and_never_answers_costs_the_timeout_only(credentials, monkeypatch):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        held = []
        threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
        monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{server.getsockname()[1]}")
        started = time.monotonic()
        assert wandb_env.resolve_mode()[0] == "offline"
        assert time.monotonic() - started < wandb_env.PROBE_TIMEOUT_S + 2.5


def test_any_http_answer_means_online(credentials, monkeypatch):
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=httpd.handle_request, daemon=True).start()
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{httpd.server_port}")
    assert wandb_env.resolve_mode() == ("online", None)
    httpd.server_close()


def test_no_credentials_and_an_explicit_mode(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    assert wandb_env.resolve_mode() == ("offline", "no credentials")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_env.resolve_mode()[0] == "disabled"


def test_the_server_comes_from_wandbs_settings_file(credentials, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_BASE_URL", raising=False)
    settings = tmp_path / "wandb-config" / "settings"
    settings.parent.mkdir()
    settings.write_text("[default]\nbase_url = https://wandb.example.internal/\n")
    assert wandb_env.base_url() == "https://wandb.example.internal"
    settings.unlink()
    assert wandb_env.base_url() == wandb_env.DEFAULT_BASE_URL


def test_fresh_keeps_the_offline_runs_it_told_the_user_to_sync(tmp_path, capsys):
    """`make demo` twice (and any fresh=1) deleted the previous compare's offline W&B run, whose `wandb sync`
    command the tool had printed."""
    from recipes import load_recipe
    from tests.conftest import write_recipe
    from train.cli import remove_previous_run

    recipe = load_recipe(write_recipe(tmp_path / "r.yaml"))
    out = tmp_path / "outputs" / recipe.name
    unsynced = out / "compare" / "wandb" / "offline-run-20261206_010101-abc"
    synced = out / "wandb" / "offline-run-20261206_020202-def"
    for run in (unsynced, synced):
        run.mkdir(parents=True)
        (run / f"run-{run.name[-3:]}.wandb").write_bytes(b"records")
    (synced / "run-def.wandb.synced").write_text("")  # `wandb sync` uploaded this one
    remove_previous_run(recipe)
    said = capsys.readouterr().out
    kept = tmp_path / "outputs" / f"{recipe.name}.wandb-offline" / "compare" / "wandb" / unsynced.name
    assert not out.exists() and (kept / "run-abc.wandb").read_bytes() == b"records"
    assert f"wandb sync {kept}" in said and "def" not in said.split("upload")[1]
