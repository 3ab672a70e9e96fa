"""`reasonlift`: the one command line (`reasonlift train | compare | eval | plan | ...`), on typer and click.

A subcommand is one declaration: a typed function in the stage that owns it, named in pyproject.toml's
`[project.entry-points."reasonlift.commands"]`. The core knows no stage: commands are found through those entry
points and imported only when asked for (`reasonlift plan` imports no eval module; `reasonlift -h`, which lists
every command's help, imports them all), so the layers stay one way.
`python -m <module>` runs the same command (the Slurm scripts and the tests use it), with the same parser.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

GROUP = "reasonlift.commands"
# rich_markup_mode=None: typer's rich panels are many lines; click's own error ends in one `Error: ...` line
SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 110}
OVERRIDE_HELP = (
    "override a recipe key (dotted, e.g. train.args.learning_rate=1e-5); repeatable; validated like the file"
)

# The parameters several commands share, declared once (typer reads them from the annotations)
RecipeArgument = Annotated[str, typer.Argument(metavar="RECIPE", help="path to a recipe YAML file")]
Overrides = Annotated[list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help=OVERRIDE_HELP)]
NoWandb = Annotated[bool, typer.Option("--no-wandb", help="no W&B run")]


def _app(**kwargs: Any) -> typer.Typer:
    return typer.Typer(
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
        context_settings=SETTINGS,
        **kwargs,
    )


def command(function: Callable[..., Any], name: str | None = None):
    """The command typer builds from `function`'s typed signature (its docstring is the help)."""
    app = _app()
    app.command(name=name or function.__name__.replace("_", "-"))(function)
    return typer.main.get_command(app)


def run(function: Callable[..., Any], argv: Sequence[str] | None = None) -> None:
    """Parse `argv` (default: sys.argv) for `function` and call it: `python -m <module>`, and the tests. A usage
    mistake exits 2 with one `Error:` line; success returns (no SystemExit(0) for an in-process caller)."""
    cmd = command(function)
    try:
        cmd.main(list(sys.argv[1:] if argv is None else argv), prog_name=f"reasonlift {cmd.name}")
    except SystemExit as done:
        if done.code not in (0, None):
            raise


class Commands(TyperGroup):
    """The subcommands the installed stages declare (entry points), each imported only when it runs."""

    def list_commands(self, ctx) -> list[str]:
        return sorted({point.name for point in entry_points(group=GROUP)})

    def get_command(self, ctx, name: str):
        found = list(entry_points(group=GROUP, name=name))
        if not found:
            return None
        try:
            function = found[0].load()
        except Exception as err:  # a broken or partial install: one line, not a traceback
            print(
                f"error: reasonlift {name}: cannot load {found[0].value} ({type(err).__name__}: {err}); "
                "run `make install`",
                file=sys.stderr,
            )
            raise SystemExit(2) from None
        return command(function, name)


app = _app(cls=Commands, name="reasonlift", no_args_is_help=True)


@app.callback()
def reasonlift() -> None:
    """Fine-tune DeepSeek-R1-Distill-Qwen-1.5B with TRL and measure whether it reasons better."""


def main() -> None:
    if not list(entry_points(group=GROUP)):
        print("error: no reasonlift commands are installed: run `make install`", file=sys.stderr)
        raise SystemExit(2)
    typer.main.get_command(app).main(prog_name="reasonlift")


if __name__ == "__main__":
    main()
