"""Weights & Biases without surprises: online when the server answers, offline (and say how to sync) when not.

A cluster's compute nodes usually hold credentials (`wandb login` on the login node) and no network; there,
`wandb.init` waits ~90 s and raises. So before any run starts, reasonlift asks the W&B server for one page
with a 3-second timeout, and goes offline at once when nothing answers.
"""

from __future__ import annotations

import configparser
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

from recipes.log import info

# wandb 0.31's default server (wandb/sdk/lib/urls.py); WANDB_BASE_URL or `wandb login --host` change it.
DEFAULT_BASE_URL = "https://api.forge.coreweave.com"
PROBE_TIMEOUT_S = 3.0
# Why a run went offline, handed from the launcher to the training processes so they can say it.
REASON_VAR = "REASONLIFT_WANDB_OFFLINE_REASON"


def has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        text = netrc.read_text()
    except OSError:
        return False
    host = base_url().split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return "api.wandb.ai" in text or (bool(host) and host in text)


def base_url() -> str:
    """The server wandb will talk to, read the way wandb reads it, without importing wandb (which would
    freeze its settings before we get to choose the mode)."""
    if os.environ.get("WANDB_BASE_URL"):
        return os.environ["WANDB_BASE_URL"].rstrip("/")
    config_dir = Path(os.environ.get("WANDB_CONFIG_DIR") or Path.home() / ".config" / "wandb")
    parser = configparser.ConfigParser()
    try:
        parser.read(config_dir / "settings")
        url = parser.get("default", "base_url", fallback=None)
    except configparser.Error:
        url = None
    return (url or DEFAULT_BASE_URL).rstrip("/")


def server_reachable(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """True when anything answers HTTP at `url` within the timeout (an error status still means it is up).

    Runs in a daemon thread with a hard cap, since a DNS lookup on a node without network is not covered by
    the socket timeout."""
    answer: list[bool] = []

    def probe() -> None:
        try:
            with urllib.request.urlopen(urllib.request.Request(f"{url}/healthz"), timeout=timeout_s):
                answer.append(True)
        except urllib.error.HTTPError as err:
            # any status from the server means it is up, but a proxy refusing the way out means it is not
            answer.append(err.code not in (403, 407))
        except Exception:  # refused, timed out, no route, TLS failure, bad URL: not reachable
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout_s + 2)
    return bool(answer and answer[0])


def resolve_mode() -> tuple[str, str | None]:
    """(mode, why offline). The user's explicit WANDB_MODE wins; otherwise online only with credentials and
    a server that answers."""
    explicit = os.environ.get("WANDB_MODE")
    if explicit:
        return explicit, os.environ.get(REASON_VAR) or (
            "WANDB_MODE=offline" if explicit == "offline" else None
        )
    if not has_credentials():
        return "offline", "no credentials"
    url = base_url()
    if not server_reachable(url):
        return "offline", f"{url} did not answer within {PROBE_TIMEOUT_S:.0f} s"
    return "online", None


def choose_mode() -> str:
    """Decide the mode once and fix it in the environment (for this process and the ones it starts)."""
    mode, reason = resolve_mode()
    os.environ["WANDB_MODE"] = mode
    if reason:
        os.environ[REASON_VAR] = reason
    if mode == "online":
        # a backstop if the server answered the probe but stalls later: fail in 30 s, not 90
        os.environ.setdefault("WANDB_INIT_TIMEOUT", "30")
    return mode


def configure(
    project: str, entity: str | None, group: str, wandb_dir: Path, job_type: str | None = None
) -> str:
    """Set the environment variables TRL's and our own W&B runs read. Returns the mode."""
    mode = choose_mode()
    wandb_dir.mkdir(parents=True, exist_ok=True)
    os.environ["WANDB_PROJECT"] = project
    os.environ["WANDB_RUN_GROUP"] = group
    os.environ["WANDB_DIR"] = str(wandb_dir)
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_CONSOLE", "off")
    if entity:
        os.environ["WANDB_ENTITY"] = entity
    if job_type:
        os.environ["WANDB_JOB_TYPE"] = job_type
    return mode


def start_run(**init_args):
    """`wandb.init` in the mode chosen above; a server that answered the probe but fails the run (bad key,
    stalled) costs at most WANDB_INIT_TIMEOUT, and the run is then kept offline instead of lost.
    Returns (run, mode)."""
    import wandb

    mode = os.environ.get("WANDB_MODE", "offline")
    try:
        return wandb.init(**init_args), mode
    except wandb.errors.Error as err:
        if mode != "online":
            raise
        info(f"notice: W&B did not start online ({type(err).__name__}); logging offline instead")
        os.environ[REASON_VAR] = "the server did not accept the run"
        return wandb.init(**init_args, mode="offline"), "offline"


def offline_runs(wandb_dir: Path) -> list[Path]:
    root = wandb_dir / "wandb"
    return sorted(root.glob("offline-run-*"), key=lambda p: p.stat().st_mtime) if root.exists() else []


def sync_hint(run_dir: Path) -> str:
    reason = os.environ.get(REASON_VAR) or "offline"
    return f"W&B is offline ({reason}): run kept in {run_dir}; upload it later with: wandb sync {run_dir}"


def unsynced_runs(folder: Path) -> list[Path]:
    """Offline W&B runs anywhere under `folder` that `wandb sync` has not uploaded (it leaves a `*.synced` file
    beside a run's `.wandb` file once it has)."""
    return [
        run
        for run in sorted(folder.rglob("offline-run-*"))
        if run.is_dir() and not any(run.glob("*.wandb.synced"))
    ]


def keep_unsynced_runs(folder: Path) -> Path | None:
    """Before `folder` is deleted (`fresh=1`): move its unsynced offline W&B runs to `<folder>.wandb-offline/`,
    beside it, and say where and how to upload them. Returns that folder, or None when there were none."""
    import shutil

    runs = unsynced_runs(folder)
    if not runs:
        return None
    kept = folder.with_name(folder.name + ".wandb-offline")
    moved = []
    for run in runs:
        target = kept / run.relative_to(folder).parent / run.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(run), str(target))
        moved.append(target)
    info(
        f"kept {len(moved)} offline W&B run(s) not uploaded yet: moved to {kept}; upload them with: "
        f"wandb sync {' '.join(str(p) for p in moved)}"
    )
    return kept
