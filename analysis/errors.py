"""Errors a user can cause and fix. The CLI prints them as one line and exits 2; they never become tracebacks."""

from __future__ import annotations

import stat
from pathlib import Path


class PrivlabError(Exception):
    """A problem with the user's input or environment, phrased for the user (one line, names the file)."""


class SessionError(PrivlabError):
    """A session folder is missing, unreadable, or not in the state the command needs."""


class CaptureError(PrivlabError):
    """Capture could not start or had to stop."""


_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is a FIFO (named pipe)"),
    (stat.S_ISSOCK, "is a socket"),
    (stat.S_ISCHR, "is a character device"),
    (stat.S_ISBLK, "is a block device"),
)


def path_kind(path: Path) -> str | None:
    """What a path that is not a regular file is ("is a directory", "is a FIFO (named pipe)", "does not
    exist", ...), or None for a regular file (symlinks followed). Checked before opening: opening a FIFO
    to read it would wait for a writer forever."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file" if not path.is_symlink() else "is a broken symbolic link"
    except NotADirectoryError:
        return "no such file (a parent in the path is not a directory)"
    except PermissionError:
        return "cannot be read (permission denied)"
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if stat.S_ISREG(mode):
        return None
    return next((text for test, text in _KINDS if test(mode)), "is not a regular file")


def require_file(path: Path, what: str) -> Path:
    """`path` if it is a regular file; else a PrivlabError saying what it is instead, e.g.
    `x: is a directory, not a capture file`."""
    kind = path_kind(path)
    if kind is None:
        return path
    if kind.startswith("is "):
        raise PrivlabError(f"{path}: {kind}, not {what}")
    raise PrivlabError(f"{path}: {kind}")
