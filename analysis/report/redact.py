"""Secrets in captured traffic are redacted from every export by default.

Captured requests carry the user's credentials: Authorization headers, cookies, session tokens,
passwords, API keys. A report handed to a court, a lawyer or the other side must not leak them, so
the report redacts them unless the operator passes `--no-redact`, and the report then says so.

What is redacted:
- headers whose name is a credential (`Authorization`, `Cookie`, `Set-Cookie`, `X-Tt-Token`, anything
  with token, session, secret, password, auth, api key or csrf in its name): the whole value;
- `name=value` pairs (query strings, forms, cookies) and JSON `"name": "value"` members whose name is a
  credential: the value;
- `Bearer`/`Basic` credentials, JSON Web Tokens, and `Cookie:`/`Authorization:` lines anywhere in text;
- `key: value` and `key = value` with a credential name in any quoting (YAML and INI lines, Python-style
  single-quoted dicts, XML attributes, JavaScript objects), XML elements named for a credential
  (`<password>x</password>`), and credentials in prose ("the password is x", "PIN was 4711").

What is kept: the matched data item itself (the `«…»` part of an excerpt). It is the evidence, a value
the lab planted or the device returned, not a credential of the user; hiding it would hide the finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"

# Credential-like names (headers, query/form/cookie keys, JSON members).
_SECRET_NAME = re.compile(
    r"token|secret|passw|passwd|pwd|session|sessid|^sid(_|$)|_sid$|auth|api[-_]?key|apikey|access[-_]?key|"
    r"cookie|csrf|xsrf|credential|bearer|private[-_]?key",
    re.IGNORECASE,
)

_BEARER = re.compile(r"\b(Bearer|Basic|Digest|Token)\s+[A-Za-z0-9._~+/=:-]{6,}", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_HEADER_LINE = re.compile(
    r"(?im)^(\s*(?:cookie|set-cookie|authorization|proxy-authorization|x-[\w-]*token[\w-]*)\s*:\s*)(.+)$"
)
_PAIR = re.compile(r"(?P<key>[A-Za-z0-9_.\[\]-]{1,64})=(?P<value>[^&;\s\"'<>,]*)")
_JSON_MEMBER = re.compile(r'(?P<key>"[^"\\]{1,64}")(?P<sep>\s*:\s*)(?P<value>"(?:[^"\\]|\\.)*"|[0-9.eE+-]+)')
# `key: value` / `key = value` in any quoting: YAML and INI lines, Python-style single-quoted dicts,
# XML/HTML attributes (`password="x"`), JavaScript objects. The key may be quoted either way.
_KEY_VALUE = re.compile(
    r"""(?P<key>(?<![\w-])(?P<q>['"]?)[A-Za-z_][\w.-]{0,63}(?P=q))(?P<sep>[ \t]*(?:=>|[:=])[ \t]*)"""
    r"""(?P<value>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|[^\s,;}&<>'"\])]+)"""
)
# An XML element whose name is a credential: `<password>x</password>`, `<ns:token a="1">x</ns:token>`.
_XML_ELEMENT = re.compile(r"<(?P<tag>[A-Za-z_][\w.:-]{0,63})(?P<attrs>[^<>]*)>(?P<value>[^<]*)</(?P=tag)\s*>")
# Credentials written in prose: "my password is hunter2", "the PIN was 4711", "api key: abc".
_PROSE = re.compile(
    r"(?i)\b(?P<key>password|passwort|passwd|passphrase|passcode|pwd|pin|secret|token|api[ -]?key|"
    r"access[ -]?key)(?P<sep>\s+(?:is|was|=|:)\s+|\s*[:=]\s*)"
    r"""(?P<value>[^\s,;'"<>(){}\[\]]{3,})"""
)
_URLENC_JSON_MEMBER = re.compile(r"(?P<key>%22[^%]{1,64}%22)(?P<sep>%3A)(?P<value>%22.*?%22)", re.IGNORECASE)

# Placeholder for protected spans (the matched data item) while redacting around them.
_KEEP = "\ue000{}\ue001"
_KEEP_RE = re.compile("\ue000(\\d+)\ue001")


def is_secret_name(name: str) -> bool:
    """True if a header, parameter or JSON member of this name holds a credential."""
    return bool(_SECRET_NAME.search(name.strip().strip('"')))


def redact_text(text: str) -> str:
    """`text` with credentials replaced by `[redacted]` (see the module docstring for what counts)."""
    if not text:
        return text
    out = _HEADER_LINE.sub(lambda m: m.group(1) + REDACTED, text)
    out = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", out)
    out = _JWT.sub(REDACTED, out)
    out = _PAIR.sub(
        lambda m: (
            f"{m.group('key')}={REDACTED}"
            if is_secret_name(m.group("key")) and m.group("value")
            else m.group(0)
        ),
        out,
    )
    out = _JSON_MEMBER.sub(
        lambda m: (
            f'{m.group("key")}{m.group("sep")}"{REDACTED}"' if is_secret_name(m.group("key")) else m.group(0)
        ),
        out,
    )
    out = _XML_ELEMENT.sub(
        lambda m: (
            f"<{m.group('tag')}{m.group('attrs')}>{REDACTED}</{m.group('tag')}>"
            if m.group("value").strip() and is_secret_name(m.group("tag").rsplit(":", 1)[-1])
            else m.group(0)
        ),
        out,
    )
    out = _KEY_VALUE.sub(_redact_key_value, out)
    out = _PROSE.sub(
        lambda m: (
            m.group(0) if m.group("value") == REDACTED else f"{m.group('key')}{m.group('sep')}{REDACTED}"
        ),
        out,
    )
    out = _URLENC_JSON_MEMBER.sub(
        lambda m: (
            f"{m.group('key')}{m.group('sep')}%22{REDACTED}%22"
            if is_secret_name(m.group("key")[3:-3])
            else m.group(0)
        ),
        out,
    )
    return out


def _redact_key_value(m: re.Match[str]) -> str:
    key = m.group("key").strip("'\"")
    value = m.group("value")
    already = m.string.startswith(REDACTED, m.start("value") + (1 if value[:1] in "'\"" else 0))
    if not is_secret_name(key) or already or not value.strip("'\"") or value.startswith("//"):
        return m.group(0)  # not a credential name, nothing to hide, or a URL (`auth=https://...` aside)
    quote = value[0] if value[0] in "'\"" else ""
    return f"{m.group('key')}{m.group('sep')}{quote}{REDACTED}{quote}"


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with the value of every credential header replaced, other values redacted as text."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        out.append((name, REDACTED if is_secret_name(name) else redact_text(value)))
    return out


def redact_segments(segments: Iterable[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Redact an excerpt split into (text, is_match) segments, keeping the matched segments intact.

    Redaction runs over the joined text (so `token=` before a segment boundary still redacts its value)
    with the matches swapped for placeholders, then the matches are put back.
    """
    segs = list(segments)
    kept = [t for t, m in segs if m]
    joined = ""
    n = 0
    for t, m in segs:
        if m:
            joined += _KEEP.format(n)
            n += 1
        else:
            joined += t
    red = redact_text(joined)
    out: list[tuple[str, bool]] = []
    pos = 0
    for mt in _KEEP_RE.finditer(red):
        if mt.start() > pos:
            out.append((red[pos : mt.start()], False))
        out.append((kept[int(mt.group(1))], True))
        pos = mt.end()
    if pos < len(red):
        out.append((red[pos:], False))
    if len([m for _, m in out if m]) != len(kept):
        # A placeholder was swallowed by a redacted value: the match sat inside a credential. Keep the
        # match visible (it is the evidence) and redact only the text around it.
        return [(t if m else redact_text(t), m) for t, m in segs]
    return out
