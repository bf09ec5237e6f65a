"""The console the table-printing commands write to.

Rich wraps at 80 columns when standard output is not a terminal, so `privlab destinations | less` or
`> file.txt` would fold every host name and value. A pipe or a file has no width: it gets the table at its
natural width. A terminal keeps its own width.
"""

from __future__ import annotations

import sys

from rich.console import Console

# Wide enough for any row privlab prints (excerpts are cut at 90 characters); rich never pads to it.
_PIPE_WIDTH = 4000


def table_console() -> Console:
    """A console for stdout: the terminal's width on a terminal, no wrapping into a pipe or file."""
    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, width=_PIPE_WIDTH, soft_wrap=True)
