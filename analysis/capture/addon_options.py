"""Options shared by several addons, declared with one signature (mitmproxy accepts identical re-declarations)."""

from __future__ import annotations

from typing import Any

SESSION_OPTION = "privlab_session"


def declare_session_option(loader: Any) -> None:
    """Declare `privlab_session`, the session folder the addons write into."""
    loader.add_option(
        name=SESSION_OPTION,
        typespec=str,
        default="",
        help="Path of the privlab session folder (captures/<id>) whose raw files and custody chain are written.",
    )
