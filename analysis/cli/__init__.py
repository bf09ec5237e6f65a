"""The `privlab` command line: one verb a stage.

Every module in this package defines `commands`, a list of click commands; they are discovered here,
so adding a verb means adding one module. User errors (`PrivlabError`) become one red line and exit 2.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

import click
from rich.console import Console

from analysis.errors import PrivlabError

err_console = Console(stderr=True, highlight=False)


class PrivlabGroup(click.Group):
    """A click group that turns PrivlabError (and Ctrl-C) into one line instead of a traceback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["privlab.argv"] = list(args)  # for the one-line error, which names the input
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PrivlabError as e:
            err_console.print(f"[bold red]privlab: error:[/] {e}", soft_wrap=True)
            sys.exit(2)
        except (RecursionError, MemoryError, OverflowError) as e:
            # Last line of defence against hostile input (nesting, sizes, numbers no reader expects).
            what = {RecursionError: "is nested too deeply", MemoryError: "asks for more memory than there is",
                    OverflowError: "holds a number too large"}[type(e)]  # fmt: skip
            args = " ".join(ctx.meta.get("privlab.argv", []))[:300]
            err_console.print(f"[bold red]privlab: error:[/] `privlab {args}`: the input {what} to process "
                              f"({type(e).__name__})", soft_wrap=True)  # fmt: skip
            sys.exit(2)
        except KeyboardInterrupt:
            err_console.print("[yellow]privlab: interrupted[/]")
            sys.exit(130)


@click.group(cls=PrivlabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="privlab")
def main() -> None:
    """privlab: capture and prove what a mobile app transmits."""


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "commands", []):
            main.add_command(command)


_register()
