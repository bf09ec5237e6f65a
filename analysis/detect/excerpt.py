"""A short readable excerpt of a match with the match marked `«...»`."""

from __future__ import annotations

CONTEXT = 32
MAX_MATCH = 120


def _readable(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    if text.isprintable():  # the common case, at C speed: nothing to replace
        return text
    return "".join(ch if ch.isprintable() else "\u00b7" for ch in text)


def excerpt(data: bytes, start: int, end: int, context: int = CONTEXT) -> str:
    """`...before«match»after...` with non-printable bytes shown as a middle dot."""
    match = data[start:end]
    shown = _readable(match[:MAX_MATCH]) + ("\u2026" if len(match) > MAX_MATCH else "")
    before = data[max(0, start - context) : start]
    after = data[end : end + context]
    lead = "\u2026" if start > context else ""
    tail = "\u2026" if end + context < len(data) else ""
    return f"{lead}{_readable(before)}«{shown}»{_readable(after)}{tail}"
