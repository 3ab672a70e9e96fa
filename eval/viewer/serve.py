"""Start the viewer: resolve the compare folder, check the port, print the URL, serve until Ctrl-C."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from recipes.errors import UserError
from recipes.log import info


def compare_folder(recipe: str | None, folder: str | None, overrides: list[str] | None = None) -> Path:
    """recipe=R: its compare folder; dir=D: a compare folder, or a trained model's folder holding compare/."""
    if recipe:
        from recipes import load_recipe
        from recipes.runs import compare_dir

        return compare_dir(load_recipe(recipe, check_paths=False, overrides=overrides or []))
    if not folder:
        raise UserError("view needs recipe=R or dir=PATH (a compare folder, or a model folder with compare/)")
    path = Path(folder).expanduser()
    if not path.exists():
        raise UserError(f"dir={folder}: no such folder")
    return path / "compare" if not (path / "compare.json").exists() and (path / "compare").is_dir() else path


def check_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} on {host} is in use: pick another with port=N") from None
            raise UserError(f"cannot listen on {host}:{port} ({err.strerror})") from None


def serve(folder: Path, host: str = "127.0.0.1", port: int = 8765) -> None:
    import uvicorn

    from eval.viewer.app import create_app
    from eval.viewer.data import CompareFolder

    compare = CompareFolder(folder)
    if compare.damaged:
        more = f" and {len(compare.damaged) - 3} more" if len(compare.damaged) > 3 else ""
        info(f"warning: skipped damaged lines in details/: {', '.join(compare.damaged[:3])}{more}")
    check_port(host, port)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    info(
        f"reasonlift view: {len(compare.problems)} problems of {', '.join(compare.tasks)} from {compare.folder}\n"
        f"open http://{shown}:{port}/  (Ctrl-C stops; on a cluster node: ssh -L {port}:localhost:{port} NODE)"
    )
    uvicorn.run(create_app(compare), host=host, port=port, log_level="warning")
