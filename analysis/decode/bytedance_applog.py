"""ByteDance app-log bodies as event rows (the `app_events` table).

The AppLog SDK that TikTok and other ByteDance apps use batches analytics into one JSON document per
request (`/service/2/app_log/`, `/service/2/device_register/`, `log_settings`), usually gzip'd and wrapped
in ttEncrypt: `magic_tag: "ss_app_log"`, a `header` (device and app identity), and lists of entries:
`event_v3` (name in `event`, values in `params`), the older `event` (`tag`/`label`), `log_data` (`log_type`),
`launch` and `terminate` (session start and end). Entries carry `session_id` and the device's time
(`local_time_ms`, or a `datetime` string). Each entry becomes one row, so a finding can say which event, at
what time, carried a value; `part` is the same part name detection gives (`body:event_v3[3]`), so a
detection at `body:event_v3[3].params.text` belongs to that row.
"""

from __future__ import annotations

import json
import json.encoder
from dataclasses import dataclass
from dataclasses import fields
from datetime import UTC
from datetime import datetime
from typing import Any

from analysis.decode.content_encoding import decompress
from analysis.decode.content_encoding import parse_content_encoding
from analysis.decode.content_encoding import sniff_compression
from analysis.decode.limits import DecodeFailure
from analysis.decode.limits import DecodeLimits
from analysis.decode.ttencrypt import TTEncryptError
from analysis.decode.ttencrypt import decrypt as tt_decrypt
from analysis.decode.ttencrypt import is_ttencrypted
from analysis.decode.views import json_path
from analysis.schema import FlowRecord

ENTRY_LISTS = ("event_v3", "event", "log_data", "launch", "terminate")
_NAME_KEYS = {"event_v3": ("event",), "event": ("tag", "event", "label"), "log_data": ("log_type", "event")}
_META = {"event", "tag", "session_id", "local_time_ms", "datetime", "params", "event_id", "log_type"}


@dataclass(frozen=True)
class AppEvent:
    """One app-log entry (a row of `app_events`)."""

    flow_id: str
    t_request: float
    kind: str  # event_v3 | event | log_data | launch | terminate
    event: str
    local_time: float | None  # epoch seconds, from local_time_ms or datetime (read as UTC)
    session_id: str | None
    params: str  # JSON text
    part: str  # body:event_v3[0]
    encoding: str  # e.g. ttencrypt>gzip>json


def body_document(
    rec: FlowRecord, limits: DecodeLimits | None = None, *, app_log_only: bool = False
) -> tuple[Any, str] | None:
    """The JSON document a request body holds under its content-codings, ttEncrypt and gzip, with the
    chain that unwrapped it; None when the body is not JSON (or cannot be unwrapped).

    `app_log_only`: None, without parsing, for a body whose text names neither key an app-log document
    has (`is_app_log`: `magic_tag`, `header`) nor escapes any character (a key may be spelled escaped).
    """
    limits = limits or DecodeLimits()
    data = rec.request_body
    if not data:
        return None
    ctype = next((v for k, v in rec.request_headers if k.lower() == "content-encoding"), None)
    chain: list[str] = []
    try:
        for coding in reversed(parse_content_encoding(ctype)):
            data = decompress(data, coding, limits)
            chain.append(coding)
        if is_ttencrypted(data):
            data = tt_decrypt(data).payload
            chain.append("ttencrypt")
        for _ in range(2):
            sniffed = sniff_compression(data)
            if not sniffed:
                break
            data = decompress(data, sniffed, limits)
            chain.append(sniffed)
    except (DecodeFailure, TTEncryptError):
        return None
    if data.lstrip()[:1] != b"{":
        return None
    # (`find`, not `in`: see `views.base64_label`)
    if (
        app_log_only
        and data.find(b'"header"') < 0
        and data.find(b'"magic_tag"') < 0
        and data.find(b"\\u") < 0
    ):
        return None  # most JSON bodies of a session are not app logs: not parsed a second time
    try:
        return json.loads(data), ">".join([*chain, "json"])
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def is_app_log(doc: Any) -> bool:
    """True for an app-log document: `magic_tag: ss_app_log`, or a `header` with event lists."""
    if not isinstance(doc, dict):
        return False
    if doc.get("magic_tag") == "ss_app_log":
        return True
    return isinstance(doc.get("header"), dict) and any(isinstance(doc.get(k), list) for k in ENTRY_LISTS)


def _local_time(entry: dict[str, Any]) -> float | None:
    ms = entry.get("local_time_ms")
    if isinstance(ms, int | float) and not isinstance(ms, bool) and ms > 0:
        return float(ms) / 1000.0
    text = entry.get("datetime")
    if isinstance(text, str):
        try:
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None
    return None


def _params(kind: str, entry: dict[str, Any]) -> Any:
    params = entry.get("params")
    if kind == "event_v3" and isinstance(params, str):
        try:
            return json.loads(params)
        except ValueError:
            return params
    if params is not None:
        return params
    return {k: v for k, v in entry.items() if k not in _META}


# `json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)`, ~12 times a request: the encoder
# `json.dumps` builds on every call (the C one where there is one, as `JSONEncoder.iterencode` makes it)
# is made once here, with its circular-reference markers emptied before each use as a new one's are.
_PARAMS_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
_PARAMS_MARKERS: dict[int, Any] = {}
_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_PARAMS_C = (
    _C_ENCODER(_PARAMS_MARKERS, str, json.encoder.encode_basestring, None, ": ", ", ", True, False, True)
    if _C_ENCODER is not None
    else None
)


def _params_json(params: Any) -> str:
    """`json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)`."""
    if _PARAMS_C is None or isinstance(params, str):
        return _PARAMS_JSON.encode(params)
    _PARAMS_MARKERS.clear()  # (left over only by an encoding that raised)
    return "".join(_PARAMS_C(params, 0))


# `AppEvent`'s fields, in order
EventRow = tuple[str, float, str, str, float | None, str | None, str, str, str]
EVENT_FIELDS = tuple(f.name for f in fields(AppEvent))  # the names of an `EventRow`'s items


def app_event_rows(
    rec: FlowRecord, limits: DecodeLimits | None = None, document: tuple[Any, str] | None = None
) -> list[EventRow]:
    """`app_events` as tuples of `AppEvent`'s fields (what the table is built from: a TikTok-like session
    has ~12 entries a request). `document`: the body's `body_document`, when the caller already has it."""
    found = document if document is not None else body_document(rec, limits, app_log_only=True)
    if found is None or not is_app_log(found[0]):
        return []
    doc, encoding = found
    header_session = (doc.get("header") or {}).get("session_id")
    flow_id, t_request = rec.flow_id, rec.t_request
    out: list[EventRow] = []
    for kind in ENTRY_LISTS:
        items = doc.get(kind)
        if not isinstance(items, list):
            continue
        name_keys = _NAME_KEYS.get(kind, ())
        prefix = "body:" + json_path("", kind)
        for i, entry in enumerate(items):
            if not isinstance(entry, dict):
                continue
            name = kind
            for k in name_keys:
                if entry.get(k):
                    name = str(entry[k])
                    break
            session = entry.get("session_id", header_session)
            out.append(
                (
                    flow_id,
                    t_request,
                    kind,
                    name,
                    _local_time(entry),
                    str(session) if session is not None else None,
                    _params_json(_params(kind, entry)),
                    f"{prefix}[{i}]",  # json_path(json_path("", kind), i)
                    encoding,
                )
            )
    return out


def app_events(
    rec: FlowRecord, limits: DecodeLimits | None = None, document: tuple[Any, str] | None = None
) -> list[AppEvent]:
    """The app-log entries of one request, in body order; [] when its body is not an app log."""
    return [AppEvent(*row) for row in app_event_rows(rec, limits, document)]


def event_for_part(events: list[AppEvent] | Any, flow_id: str, part: str) -> AppEvent | None:
    """The app-log entry a detection's part lies in (`body:event_v3[2].params.x` -> entry 2), if any."""
    for e in events:
        if e.flow_id == flow_id and (part == e.part or part.startswith(e.part + ".")):
            return e
    return None
