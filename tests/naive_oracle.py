"""A deliberately simple matcher that detection must never lose to (issue 14).

It knows nothing of containers or codings: it URL-decodes the whole request (URL, headers, body) up to
three times, lower-cases it, and looks for each canary's plain, MD5, SHA-1, SHA-256 and base64 forms.
Whatever it finds, privlab must find too; the oracle is kept this naive on purpose, so that a miss is
privlab's and not the oracle's.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import unquote_to_bytes

from analysis.schema import PROBE_HEADER
from analysis.schema import Canary
from analysis.schema import FlowRecord


def request_bytes(rec: FlowRecord) -> bytes:
    """The whole request as one byte string: URL, headers, body, client WebSocket messages."""
    parts = [rec.url.encode("utf-8", "surrogateescape")]
    # The control app's probe tag is the harness's, not the app's: privlab skips it by design.
    parts += [
        f"{k}: {v}".encode("utf-8", "surrogateescape")
        for k, v in rec.request_headers
        if k.lower() != PROBE_HEADER
    ]
    parts.append(rec.request_body or b"")
    parts += [m.content for m in rec.websocket if m.from_client]
    return b"\n".join(parts)


def haystacks(rec: FlowRecord) -> list[bytes]:
    """The request as sent and URL-decoded once, twice and three times, lower-cased."""
    text = request_bytes(rec)
    out = [text.lower()]
    for _ in range(3):
        text = unquote_to_bytes(text)
        out.append(text.lower())
    return out


def forms(value: str) -> dict[str, bytes]:
    """The forms the oracle searches, lower-cased like the haystack."""
    raw = value.encode()
    return {
        "plain": raw.lower(),
        "md5": hashlib.md5(raw).hexdigest().encode(),
        "sha1": hashlib.sha1(raw).hexdigest().encode(),
        "sha256": hashlib.sha256(raw).hexdigest().encode(),
        "base64": base64.b64encode(raw).rstrip(b"=").lower(),
    }


def oracle_finds(rec: FlowRecord, canaries: list[Canary]) -> dict[str, str]:
    """Canary id -> the first form the naive matcher finds in this request."""
    hay = haystacks(rec)
    found: dict[str, str] = {}
    for c in canaries:
        if c.kind == "location":
            continue  # a coordinate's text is not its identity (rounding, E6/E7): privlab's own table
        for name, needle in forms(c.value).items():
            if any(needle in h for h in hay):
                found[c.id] = name
                break
    return found
