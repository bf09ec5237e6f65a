"""Errors a user can cause and fix. The CLI prints them as one line and exits 2; they never become tracebacks."""

from __future__ import annotations


class PrivlabError(Exception):
    """A problem with the user's input or environment, phrased for the user (one line, names the file)."""


class SessionError(PrivlabError):
    """A session folder is missing, unreadable, or not in the state the command needs."""


class CaptureError(PrivlabError):
    """Capture could not start or had to stop."""
