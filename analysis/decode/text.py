"""Is a byte string text a person or a parser would read? (used to keep only meaningful views)."""

from __future__ import annotations

_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


_ASCII_CONTROL = bytes(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0D)) + b"\x7f"


def is_printable_text(data: bytes, min_ratio: float = 0.95) -> bool:
    """UTF-8 text with at least `min_ratio` printable characters (empty is not text)."""
    if not data:
        return False
    if data.isascii():
        # The common case at C speed: ASCII, where only the control bytes are not printable.
        control = len(data) - len(data.translate(None, _ASCII_CONTROL))
        return len(data) - control >= min_ratio * len(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\t\r\n")
    return printable >= min_ratio * len(text)


def looks_ascii_printable(data: bytes) -> bool:
    """Fast check on the first 256 bytes: ASCII printable only (no UTF-8 decoding)."""
    head = data[:256]
    return bool(head) and all(b in _PRINTABLE for b in head)
