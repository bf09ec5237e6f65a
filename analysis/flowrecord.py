"""One mitmproxy flow -> one `schema.FlowRecord`, and the `flows.jsonl` line format.

`record_from_flow` is the only place a flow's facts are taken from mitmproxy objects: the capture
(`capture/flowindex.py`, writing `flows.jsonl` beside `flows.mitm`), imports and analysis all call it,
so every path gives the same record for the same flow.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import http
from mitmproxy import io as mitm_io
from mitmproxy.exceptions import FlowReadException

from analysis.errors import PrivlabError
from analysis.schema import FlowRecord
from analysis.schema import WebSocketMessage


def _addr(address: Any) -> tuple[str | None, int | None]:
    if not address:
        return None, None
    return str(address[0]), int(address[1])


def _headers(headers: http.Headers | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    return [(k.decode("utf-8", "replace"), v.decode("utf-8", "replace")) for k, v in headers.fields]


def _bytes(content: bytes | str) -> bytes:
    # Flows upgraded from old dump formats can carry text where bytes are expected.
    return content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")


def record_from_flow(flow: http.HTTPFlow) -> FlowRecord:
    """The analysis-ready record of one HTTP(S) or WebSocket flow."""
    req = flow.request
    resp = flow.response
    client_ip, client_port = _addr(flow.client_conn.peername)
    server_ip, server_port = _addr(flow.server_conn.peername)
    split = urlsplit(req.pretty_url)
    ws: list[WebSocketMessage] = []
    if flow.websocket is not None:
        ws = [
            WebSocketMessage(
                t=m.timestamp, from_client=m.from_client, is_text=m.is_text, content=_bytes(m.content)
            )
            for m in flow.websocket.messages
        ]
    return FlowRecord(
        flow_id=flow.id,
        t_request=req.timestamp_start,
        t_response=resp.timestamp_end if resp is not None else None,
        client=f"{client_ip}:{client_port}" if client_ip else "",
        server_ip=server_ip,
        server_port=server_port,
        sni=flow.server_conn.sni or flow.client_conn.sni,
        host=req.pretty_host,
        scheme=req.scheme,
        http_version=req.http_version,
        method=req.method,
        url=req.pretty_url,
        path=split.path,
        query=split.query,
        status=resp.status_code if resp is not None else None,
        request_headers=_headers(req.headers),
        response_headers=_headers(resp.headers) if resp is not None else [],
        request_body_size=len(req.raw_content or b""),
        response_body_size=len(resp.raw_content or b"") if resp is not None else 0,
        request_content_type=req.headers.get("content-type"),
        response_content_type=resp.headers.get("content-type") if resp is not None else None,
        via="proxy",
        error=flow.error.msg if flow.error else None,
        phase=flow.metadata.get("privlab.phase"),
        session_id=flow.metadata.get("privlab.session"),
        request_body=req.raw_content or b"",
        websocket=ws,
    )


def record_to_json(rec: FlowRecord) -> dict[str, Any]:
    """The `flows.jsonl` object for a record (bytes as base64, headers as pairs)."""
    d = {k: v for k, v in rec.__dict__.items() if k not in ("request_body", "websocket")}
    d["request_headers"] = [list(h) for h in rec.request_headers]
    d["response_headers"] = [list(h) for h in rec.response_headers]
    d["request_body_b64"] = base64.b64encode(rec.request_body).decode()
    d["websocket"] = [
        {
            "t": m.t,
            "from_client": m.from_client,
            "is_text": m.is_text,
            "content_b64": base64.b64encode(m.content).decode(),
        }
        for m in rec.websocket
    ]
    return d


def record_from_json(d: dict[str, Any]) -> FlowRecord:
    """Inverse of `record_to_json`."""
    fields = {k: v for k, v in d.items() if k not in ("request_body_b64", "websocket")}
    fields["request_headers"] = [tuple(h) for h in d.get("request_headers", [])]
    fields["response_headers"] = [tuple(h) for h in d.get("response_headers", [])]
    return FlowRecord(
        **fields,
        request_body=base64.b64decode(d.get("request_body_b64", "")),
        websocket=[
            WebSocketMessage(
                t=m["t"],
                from_client=m["from_client"],
                is_text=m["is_text"],
                content=base64.b64decode(m["content_b64"]),
            )
            for m in d.get("websocket", [])
        ],
    )


def record_line(rec: FlowRecord) -> bytes:
    """One `flows.jsonl` line, newline included."""
    return json.dumps(record_to_json(rec), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def read_jsonl(path: Path) -> Iterator[FlowRecord]:
    """Records from a `flows.jsonl`; a torn last line (writer killed) is skipped."""
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.endswith(b"\n"):
                return
            try:
                yield record_from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as e:
                raise PrivlabError(f"{path}: line {n} is not a flow record ({e})") from None


def read_mitm(path: Path) -> Iterator[http.HTTPFlow]:
    """HTTP flows from a mitmproxy dump; a one-line PrivlabError for files that are not one.

    A flow file cut short (the writer was killed mid-flow) yields every complete flow before the cut.
    """
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise PrivlabError(f"{path}: cannot open ({e.strerror})") from None
    with fh:
        try:
            for flow in mitm_io.FlowReader(fh).stream():
                if isinstance(flow, http.HTTPFlow):
                    yield flow
        except FlowReadException as e:
            msg = str(e).splitlines()[0] if str(e) else "unreadable"
            if "flow format version" in msg:
                raise PrivlabError(f"{path}: flow file too old for this mitmproxy ({msg})") from None
            raise PrivlabError(f"{path}: not a readable mitmproxy flow file ({msg})") from None
        except (ValueError, KeyError, TypeError) as e:
            raise PrivlabError(f"{path}: not a mitmproxy flow file ({type(e).__name__}: {e})") from None
