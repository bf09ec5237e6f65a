"""`privlab import`: a capture made elsewhere -> a session folder the same analysis runs on.

Sources: a mitmproxy `.mitm` dump (copied byte for byte into `flows.mitm`), a HAR file (HTTP Toolkit,
PCAPdroid, browsers, Charles; a BOM, missing fields and a zlib-compressed `.zhar` are accepted), or a
pcap/pcapng (copied into `traffic.pcap`; cleartext HTTP/1 requests in it become flows with
`via = "pcap-only"`). The session has status `imported`; its custody chain records the source file's
sha256 before anything else is added, and flows.jsonl holds the analysis-ready records.

Flow ids: a `.mitm` keeps mitmproxy's ids; HAR and pcap flows get ids derived from the source file's
hash and the entry's position, so importing the same file twice gives the same ids.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import uuid
import zlib
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mitmproxy import connection
from mitmproxy import http
from mitmproxy.flow import Error
from mitmproxy.net.http.headers import infer_content_encoding
from mitmproxy.websocket import WebSocketData
from mitmproxy.websocket import WebSocketMessage

from analysis.errors import PrivlabError
from analysis.schema import Canary
from analysis.schema import FlowRecord
from analysis.session import FLOWS_JSONL
from analysis.session import FLOWS_MITM
from analysis.session import PCAP
from analysis.session import Session
from analysis.session import load_canaries
from analysis.session.custody import sha256_file
from analysis.session.flows import jsonl_range
from analysis.session.flows import map_ranges
from analysis.session.flows import read_flows
from analysis.session.flows import read_range
from analysis.session.flows import record_from_flow
from analysis.session.flows import record_line
from analysis.session.flows import use_workers
from analysis.session.seal import seal_imported

_ID_NAMESPACE = uuid.UUID("6f2b1c1e-7d1a-4c55-9a43-0c1b5a1d2e90")
_CHUNK = 8 * 1024 * 1024
_MAX_ZHAR = 1 << 30
_PCAP_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)


@dataclass
class ImportResult:
    """What an import made."""

    session: Session
    source_format: str
    flows: int
    warnings: list[str]
    packets: int | None = None  # pcap imports: packets in the file


def detect_format(path: Path) -> str:
    """`mitm`, `har` or `pcap`, from the first bytes (and the name for HAR/zhar)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as e:
        raise PrivlabError(f"{path}: cannot read ({e.strerror})") from None
    if head[:4] in _PCAP_MAGICS:
        return "pcap"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{") or path.suffix.lower() in (".har", ".zhar"):
        return "har"
    if path.suffix.lower() in (".mitm", ".flows", ".flow", ".dump") or head[:1].isdigit():
        return "mitm"  # mitmproxy's tnetstring dumps start with a length, e.g. `4223:`
    raise PrivlabError(f"{path}: not a .mitm, HAR or pcap/pcapng file (unrecognised first bytes)")


def _flow_id(source_sha: str, n: int) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{source_sha}:{n}"))


# -- mitm -------------------------------------------------------------------------------------------------


def mitm_records(path: Path, warnings: list[str]) -> list[FlowRecord]:
    """Records of a .mitm dump; a dump damaged after some flows keeps those (with a warning).

    A large dump is read by several processes at once (mitmproxy's reader is the slow part).
    """
    out: list[FlowRecord] = []
    try:
        if use_workers(path):
            for _, _, chunk in map_ranges(path, read_range):
                out.extend(chunk)
        else:
            out.extend(read_flows(path))
    except PrivlabError as e:
        if not out:
            raise
        warnings.append(f"{e}; imported the {len(out)} flows before the damage")
    return out


def mitm_jsonl_parallel(path: Path, warnings: list[str]) -> tuple[list[bytes], int]:
    """A large dump's flows.jsonl lines, made by several processes at once; damage keeps what came before."""
    chunks: list[bytes] = []
    count = 0
    try:
        for _, _, (lines, n) in map_ranges(path, jsonl_range):
            chunks.append(lines)
            count += n
    except PrivlabError as e:
        if not count:
            raise
        warnings.append(f"{e}; imported the {count} flows before the damage")
    return chunks, count


# -- HAR ----------------------------------------------------------------------------------------------------


def _har_json(path: Path) -> Any:
    data = path.read_bytes()
    if path.suffix.lower() == ".zhar" or data[:1] == b"\x78":
        try:
            d = zlib.decompressobj()
            data = d.decompress(data, _MAX_ZHAR)
        except zlib.error as e:
            raise PrivlabError(f"{path}: compressed HAR is corrupt ({e})") from None
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PrivlabError(f"{path}: not valid HAR JSON ({e})") from None


def _har_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _har_headers(items: Any) -> list[tuple[bytes, bytes]]:
    out = []
    for h in items if isinstance(items, list) else []:
        if isinstance(h, dict) and isinstance(h.get("name"), str):
            name = h["name"]
            if name.startswith(":"):
                continue  # HTTP/2 pseudo-headers are in the URL and method already
            out.append((name.encode(), str(h.get("value", "")).encode("utf-8", "surrogateescape")))
    return out


def har_text_bytes(text: str, content_type: str) -> bytes:
    """The bytes an exporter turned into HAR `text`: the inverse of mitmproxy's `Message.get_text`.

    mitmproxy (and browsers) decode a body with the charset of its content type, latin-1 when none is
    known, and fall back to UTF-8 with surrogate escapes; encoding the text the same way gives the bytes
    back (a binary protobuf exported as latin-1 text must not be re-encoded as UTF-8, which grows it).
    """
    enc = infer_content_encoding(content_type or "")
    try:
        return text.encode(enc)
    except (UnicodeEncodeError, LookupError):
        return text.encode("utf-8", "surrogateescape")


def har_body(container: Any, content_type: str = "") -> bytes:
    """The body bytes of a HAR `postData` or response `content` object (text, base64 text or params)."""
    if not isinstance(container, dict):
        return b""
    text = container.get("text")
    if isinstance(text, str):
        if container.get("encoding") == "base64":
            try:
                return base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                pass  # declared base64 but is not: keep the text as the exporter wrote it
        mime = container.get("mimeType")
        return har_text_bytes(text, content_type or (mime if isinstance(mime, str) else ""))
    params = container.get("params")
    if isinstance(params, list):
        from urllib.parse import quote_plus

        # A form the exporter wrote only as params (no text): the urlencoded body it came from.
        return "&".join(
            f"{quote_plus(str(p.get('name', '')))}={quote_plus(str(p.get('value', '')))}"
            for p in params
            if isinstance(p, dict)
        ).encode()
    return b""


def _set_body(message: http.Message, body: bytes) -> None:
    # HAR keeps the decoded body: re-apply any declared content-encoding so headers and body agree. The
    # compressor's bytes may differ from the original's (the decoded bytes are the same); the headers the
    # exporter wrote, content-length included, stay as written.
    length = message.headers.get_all("content-length")
    try:
        message.content = body
    except ValueError:
        message.raw_content = body
    if length:
        message.headers.set_all("content-length", length)
    elif "content-length" in message.headers:
        del message.headers["content-length"]  # the setter added one the exporter did not write


def _har_size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _har_response_end(entry: dict[str, Any], t0: float) -> float | None:
    # startedDateTime is when the request started; send + wait + receive end with the response's last
    # byte (connect/ssl/dns come before the request in mitmproxy's export and are not part of it).
    timings = entry.get("timings")
    if isinstance(timings, dict):
        parts = [timings.get(k) for k in ("send", "wait", "receive")]
        if any(isinstance(v, int | float) and v >= 0 for v in parts):
            return t0 + sum(v for v in parts if isinstance(v, int | float) and v >= 0) / 1000.0
    duration = entry.get("time")
    return t0 + duration / 1000.0 if isinstance(duration, int | float) and duration >= 0 else None


def har_flow(entry: dict[str, Any], flow_id: str) -> http.HTTPFlow:
    """One HAR entry as a mitmproxy flow; missing fields get neutral defaults. Raises ValueError if no URL."""
    req: dict[str, Any] = entry["request"] if isinstance(entry.get("request"), dict) else {}
    url = req.get("url")
    if not isinstance(url, str) or "://" not in url:
        raise ValueError("entry has no request URL")
    t0 = _har_time(entry.get("startedDateTime")) or 0.0
    t1 = _har_response_end(entry, t0)
    request = http.Request.make(str(req.get("method") or "GET"), url)
    request.headers = http.Headers(_har_headers(req.get("headers")))  # as written (make adds content-length)
    server_ip = entry.get("serverIPAddress")
    ip = server_ip.strip("[]") if isinstance(server_ip, str) and server_ip.strip("[]") else None
    client = connection.Client(peername=("", 0), sockname=("", 0), timestamp_start=t0)
    # The flow record takes the server IP from `peername` (the address actually connected to).
    server = connection.Server(
        address=(request.host, request.port), peername=(ip, request.port) if ip else None
    )
    flow = http.HTTPFlow(client, server)
    flow.id = flow_id
    _set_body(request, har_body(req.get("postData"), request.headers.get("content-type", "")))
    version = req.get("httpVersion")
    if isinstance(version, str) and version:
        request.http_version = version.upper() if version.lower().startswith("http/") else version
    request.timestamp_start = t0
    request.timestamp_end = t0
    flow.request = request
    resp = entry.get("response")
    if isinstance(resp, dict) and isinstance(resp.get("status"), int) and resp["status"] > 0:
        response = http.Response.make(resp["status"])
        response.headers = http.Headers(_har_headers(resp.get("headers")))
        rv = resp.get("httpVersion")
        if isinstance(rv, str) and rv.lower().startswith("http/"):
            response.http_version = rv.upper()
        reason = resp.get("statusText")
        if isinstance(reason, str):
            response.reason = reason
        _set_body(response, har_body(resp.get("content"), response.headers.get("content-type", "")))
        response.timestamp_start = t1 or t0
        response.timestamp_end = t1 or t0
        flow.response = response
    elif isinstance(resp, dict) and isinstance(resp.get("_error"), str):
        flow.error = Error(resp["_error"])
    messages = entry.get("_webSocketMessages")
    if isinstance(messages, list) and messages:
        ws = WebSocketData()
        for m in messages:
            if not isinstance(m, dict):
                continue
            text = m.get("opcode", 1) == 1
            data = (
                str(m.get("data", "")).encode() if text else base64.b64decode(str(m.get("data", "")) or b"")
            )
            ws.messages.append(
                WebSocketMessage(1 if text else 2, m.get("type") == "send", data, m.get("time"))
            )
        flow.websocket = ws
    return flow


def har_record(entry: dict[str, Any], flow_id: str) -> FlowRecord:
    """The flow record of one HAR entry; body sizes are the sizes on the wire when the HAR states them."""
    rec = record_from_flow(har_flow(entry, flow_id))
    req = entry.get("request") if isinstance(entry.get("request"), dict) else {}
    resp = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    sent = _har_size(req.get("bodySize")) if isinstance(req, dict) else None
    got = _har_size(resp.get("bodySize")) if isinstance(resp, dict) else None
    if sent is not None and sent != rec.request_body_size and sent > 0:
        rec = replace(rec, request_body_size=sent)
    if got is not None and rec.status is not None:
        rec = replace(rec, response_body_size=got)
    return rec


def har_records(path: Path, source_sha: str, warnings: list[str], doc: Any = None) -> list[FlowRecord]:
    """Records of a HAR file's entries (`doc`: the file already parsed, so a large HAR is read once)."""
    doc = _har_json(path) if doc is None else doc
    log = doc.get("log") if isinstance(doc, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise PrivlabError(f"{path}: not a HAR file (no log.entries list)")
    out = []
    for n, entry in enumerate(entries):
        try:
            rec = har_record(entry if isinstance(entry, dict) else {}, _flow_id(source_sha, n))
            out.append(rec)
            encoded = any(k.lower() == "content-encoding" for k, _ in rec.request_headers)
            if not encoded and rec.request_body_size != len(rec.request_body):
                # The exporter's text does not give back the bytes it says were sent: say so, keep both.
                warnings.append(
                    f"{path}: entry {n} ({rec.url[:80]}): the body text gives {len(rec.request_body)} bytes, "
                    f"the HAR states bodySize {rec.request_body_size}; the exporter did not keep this body "
                    "byte for byte"
                )
        except (ValueError, TypeError, KeyError) as e:
            warnings.append(f"{path}: entry {n} skipped ({e})")
    return out


# -- pcap ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PcapRequest:
    """One cleartext HTTP/1 request reassembled from a pcap's TCP stream."""

    t: float
    client: tuple[str, int]
    server: tuple[str, int]
    method: bytes
    target: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    host: str | None


_REQUEST_LINE = re.compile(rb"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\S+) (HTTP/1\.[01])\r?\n")


def _dechunk(data: bytes, pos: int) -> tuple[bytes, int]:
    out = bytearray()
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return bytes(out), len(data)
        try:
            size = int(data[pos:eol].split(b";")[0], 16)
        except ValueError:
            return bytes(out), len(data)
        pos = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            return bytes(out), (end + 4 if end >= 0 else len(data))
        out += data[pos : pos + size]
        pos += size + 2


def _parse_requests(
    data: bytes, t: float, client: tuple[str, int], server: tuple[str, int]
) -> list[PcapRequest]:
    out = []
    pos = 0
    while (m := _REQUEST_LINE.match(data, pos)) is not None:
        head_end = data.find(b"\r\n\r\n", m.end() - 2)
        if head_end < 0:
            break
        headers = []
        for line in data[m.end() : head_end].split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if sep:
                headers.append((name.strip(), value.strip()))
        lower = {k.lower(): v for k, v in headers}
        pos = head_end + 4
        if b"chunked" in lower.get(b"transfer-encoding", b"").lower():
            body, pos = _dechunk(data, pos)
        else:
            try:
                length = int(lower.get(b"content-length", b"0"))
            except ValueError:
                length = 0
            body, pos = data[pos : pos + length], pos + length
        host = lower.get(b"host")
        out.append(
            PcapRequest(
                t,
                client,
                server,
                m.group(1),
                m.group(2),
                m.group(3),
                headers,
                body,
                host.decode("latin-1") if host else None,
            )
        )
    return out


def http_requests(path: Path, warnings: list[str]) -> list[PcapRequest]:
    """Cleartext HTTP/1 requests in a pcap/pcapng, client streams reassembled by TCP sequence number."""
    from scapy.error import Scapy_Exception
    from scapy.layers.inet import IP
    from scapy.layers.inet import TCP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapReader

    streams: dict[tuple[str, int, str, int], dict[int, tuple[float, bytes]]] = {}
    count = 0
    try:
        with PcapReader(str(path)) as reader:
            for pkt in reader:
                count += 1
                if TCP not in pkt:
                    continue
                ip = pkt[IP] if IP in pkt else pkt[IPv6] if IPv6 in pkt else None
                payload = bytes(pkt[TCP].payload)
                if ip is None or not payload:
                    continue
                key = (str(ip.src), int(pkt[TCP].sport), str(ip.dst), int(pkt[TCP].dport))
                streams.setdefault(key, {}).setdefault(int(pkt[TCP].seq), (float(pkt.time), payload))
    except (Scapy_Exception, OSError, EOFError, ValueError) as e:
        if count == 0:
            raise PrivlabError(f"{path}: not a readable pcap/pcapng ({e})") from None
        warnings.append(f"{path}: packets after #{count} unreadable ({e})")
    out = []
    for (src, sport, dst, dport), segs in streams.items():
        ordered = sorted(segs.items())
        data = b"".join(payload for _, (_, payload) in ordered)
        if _REQUEST_LINE.match(data):
            out.extend(_parse_requests(data, ordered[0][1][0], (src, sport), (dst, dport)))
    out.sort(key=lambda r: r.t)
    return out


def pcap_records(path: Path, source_sha: str, warnings: list[str]) -> list[FlowRecord]:
    """Cleartext HTTP/1 requests found in a pcap's TCP streams (encrypted traffic has none)."""
    out = []
    for n, req in enumerate(http_requests(path, warnings)):
        client = connection.Client(peername=req.client, sockname=("", 0), timestamp_start=req.t)
        server = connection.Server(address=req.server)
        flow = http.HTTPFlow(client, server)
        flow.id = _flow_id(source_sha, n)
        flow.request = http.Request(
            req.server[0],
            req.server[1],
            req.method,
            b"http",
            b"",
            req.target,
            req.version,
            http.Headers(req.headers),
            req.body,
            None,
            req.t,
            req.t,
        )
        if req.host:
            flow.request.host_header = req.host
        out.append(replace(record_from_flow(flow), via="pcap-only"))
    return out


# -- the session ---------------------------------------------------------------------------------------------


def _jsonl_chunks(records: list[FlowRecord]) -> Iterator[bytes]:
    buf = bytearray()
    for rec in records:
        buf += record_line(rec)
        if len(buf) >= _CHUNK:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(64 * 1024 * 1024):
            yield chunk


def har_creator(path: Path, doc: Any = None) -> dict[str, str]:
    """The HAR's `log.creator` (and `log.browser`) as `{tool, version, detail}`; empty when absent."""
    try:
        log = (_har_json(path) if doc is None else doc).get("log")
    except (PrivlabError, AttributeError):
        return {}
    if not isinstance(log, dict):
        return {}
    c, b = log.get("creator"), log.get("browser")
    creator: dict[str, Any] = c if isinstance(c, dict) else {}
    browser: dict[str, Any] = b if isinstance(b, dict) else {}
    out = {
        "tool": str(creator.get("name") or "").strip(),
        "version": str(creator.get("version") or "").strip(),
        "detail": f"HAR {log.get('version') or '(no version)'}",
    }
    if creator.get("comment"):
        out["detail"] += f", {str(creator['comment']).strip()}"
    if browser.get("name"):
        out["detail"] += f", browser {browser.get('name')} {browser.get('version') or ''}".rstrip()
    return out if out["tool"] else {}


def mitm_creator(path: Path) -> dict[str, str]:
    """mitmproxy's flow-format version of a dump's first flow (the dump names no program version)."""
    from mitmproxy.io import tnetstring

    try:
        with open(path, "rb") as fh:
            state = tnetstring.load(fh)
    except (OSError, ValueError, TypeError, EOFError):
        return {"tool": "mitmproxy", "version": "", "detail": "flow format unreadable"}
    version = state.get("version") if isinstance(state, dict) else None
    if isinstance(version, bytes):
        version = version.decode("ascii", "replace")
    return {"tool": "mitmproxy", "version": f"(flow format {version})", "detail": "mitmproxy dump"}


def pcap_creator(path: Path) -> dict[str, str]:
    """The writing application named in a pcapng section header (shb_userappl, shb_os); pcap names none."""
    import struct

    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return {}
    if head[:4] != b"\x0a\x0d\x0d\x0a" or len(head) < 28:
        return {"tool": "", "version": "", "detail": "libpcap file (names no writing program)"}
    order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    (length,) = struct.unpack(order + "I", head[4:8])
    opts: dict[int, str] = {}
    pos, end = 24, min(length - 4, len(head))
    while pos + 4 <= end:
        code, size = struct.unpack(order + "HH", head[pos : pos + 4])
        if code == 0:
            break
        opts[code] = head[pos + 4 : pos + 4 + size].decode("utf-8", "replace").rstrip("\x00")
        pos += 4 + size + (-size % 4)
    app = opts.get(4, "")
    tool, _, version = app.partition(" ")
    detail = "pcapng" + (f", recorded on {opts[3]}" if 3 in opts else "")
    return {"tool": tool, "version": version, "detail": detail}


def pcap_time_range(path: Path) -> tuple[int, float | None, float | None]:
    """The packet count and first and last packet times of a pcap/pcapng (None when no packet is readable)."""
    from scapy.error import Scapy_Exception
    from scapy.utils import PcapReader

    first = last = None
    count = 0
    # A damaged file: the packets before the damage give the range; the import itself reports the damage.
    with contextlib.suppress(Scapy_Exception, OSError, EOFError, ValueError), PcapReader(str(path)) as reader:
        for pkt in reader:
            count += 1
            t = float(pkt.time)
            first = t if first is None else min(first, t)
            last = t if last is None else max(last, t)
    return count, first, last


# Every flows.jsonl line starts with these fields in this order (`record_to_json`): read them without
# parsing the whole line, so a 100k-flow import does not decode every body twice.
_LINE_HEAD = re.compile(rb'^\{"flow_id":"([^"]*)","t_request":([^,]*),"t_response":([^,]*),', re.MULTILINE)


def _line_facts(lines: list[bytes]) -> tuple[list[str], float | None, float | None]:
    """Flow ids in order, and the first and last request/response times, of flows.jsonl chunks."""
    ids: list[str] = []
    times: list[float] = []
    for chunk in lines:
        for m in _LINE_HEAD.finditer(chunk):
            ids.append(m.group(1).decode())
            for raw in (m.group(2), m.group(3)):
                if raw != b"null":
                    t = float(raw)
                    if t > 0:
                        times.append(t)
    return ids, (min(times) if times else None), (max(times) if times else None)


def _latest_states(lines: list[bytes], path: Path, warnings: list[str]) -> tuple[list[bytes], int]:
    """flows.jsonl chunks with one record per flow id: the last one, where the first one stood.

    mitmproxy may save one flow twice (a WebSocket flow at its upgrade and again when it ends, with the
    same id); the later record is the same flow in a later state. Two records with one id would make an
    exhibit ambiguous, so the last state is kept and the import says so. The source file keeps both.
    """
    ids, _, _ = _line_facts(lines)
    if len(set(ids)) == len(ids):
        return lines, len(ids)
    all_lines = [line for chunk in lines for line in chunk.splitlines(keepends=True)]
    last: dict[str, bytes] = {}
    for fid, line in zip(ids, all_lines, strict=True):
        last[fid] = line
    repeated = len(ids) - len(last)
    warnings.append(
        f"{path}: {repeated} record(s) repeat the id of an earlier flow (mitmproxy saved the same flow again "
        f"in a later state); the last state of each of those flows is used, {len(last)} flows in all"
    )
    return list(_line_chunks(last.values())), len(last)


def _line_chunks(lines: Iterable[bytes]) -> Iterator[bytes]:
    buf = bytearray()
    for line in lines:
        buf += line
        if len(buf) >= _CHUNK:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)


def import_capture(
    source: Path | str,
    out: Path | str = "captures",
    *,
    canaries: Path | str | None = None,
    app: str | None = None,
    first_party: list[str] | tuple[str, ...] = (),
    owner: str | None = None,
) -> ImportResult:
    """Make an `imported` session folder from a .mitm, HAR or pcap file; the source is not changed.

    `app` (package), `first_party` (the app's own domains) and `owner` (its company) are the analyst's
    declarations, kept in session.json `app` for the first/third-party attribution.
    """
    import time

    from analysis.session import tool_versions

    src = Path(source)
    if not src.is_file():
        raise PrivlabError(f"{src}: no such file")
    fmt = detect_format(src)
    planted: list[Canary] = load_canaries(Path(canaries)) if canaries else []
    source_sha = sha256_file(src)
    warnings: list[str] = []
    har_doc: Any = None
    # The flows.jsonl lines are made before the folder exists: a failure leaves nothing behind.
    if fmt == "mitm" and use_workers(src):
        flow_lines, count = mitm_jsonl_parallel(src, warnings)
    else:
        if fmt == "mitm":
            records = mitm_records(src, warnings)
        elif fmt == "har":
            har_doc = _har_json(src)
            records = har_records(src, source_sha, warnings, har_doc)
        else:
            records = pcap_records(src, source_sha, warnings)
        flow_lines, count = list(_jsonl_chunks(records)), len(records)
    flow_lines, count = _latest_states(flow_lines, src, warnings)
    _, first, last = _line_facts(flow_lines)
    packets: int | None = None
    if fmt == "pcap":
        packets, first, last = pcap_time_range(src)
        creator = pcap_creator(src)
    else:
        creator = har_creator(src, har_doc) if fmt == "har" else mitm_creator(src)
    imported_at = time.time()
    source_info = {
        "file": src.name,
        "sha256": source_sha,
        "size": src.stat().st_size,
        "format": fmt,
        "flows": count,
        "packets": packets,
        "warnings": warnings,
    }
    provenance = {
        "source": {k: source_info[k] for k in ("file", "size", "sha256", "format")},
        "made_by": creator or {"tool": "", "version": "", "detail": ""},
        "capture_time": {"first": first, "last": last},
        "channels": {
            "proxy_flows": fmt in ("mitm", "har"),
            "frida": False,
            "pcap": fmt == "pcap",
            "privlab_seal": False,
        },
        "imported_at": imported_at,
    }
    maker = " ".join(x for x in (creator.get("tool"), creator.get("version")) if x) or "unidentified"
    privlab_version = tool_versions().get("privlab", "")
    extra: dict[str, Any] = {
        "import": source_info,
        "provenance": provenance,
        # The session's times are the capture's, not the import's: timelines count from the first request.
        "created": first if first is not None else imported_at,
        "ended": last,
        "imported_at": imported_at,
        "tools": {
            "capture made by": maker + (f" ({creator['detail']})" if creator.get("detail") else ""),
            "imported by": f"privlab {privlab_version}".strip(),
        },
    }
    session = Session.create(
        Path(out),
        f"import-{src.stem}",
        mode="import",
        app={k: v for k, v in (("package", app), ("first_party", list(first_party)), ("owner", owner)) if v}
        or None,
        canaries=planted,
        status="imported",
        extra=extra,
    )
    session.chain.append("import-source", src.name, source_sha, size=source_info["size"], format=fmt)
    if fmt == "mitm":
        for chunk in _file_chunks(src):
            session.append(FLOWS_MITM, chunk, kind="flows", ref=f"import:{src.name}")
    elif fmt == "pcap":
        for chunk in _file_chunks(src):
            session.append(PCAP, chunk, kind="pcap", ref=f"import:{src.name}")
    else:
        session.add_file(f"source/{src.name}", src.read_bytes(), kind="import-source-copy")
    for n, chunk in enumerate(flow_lines):
        session.append(FLOWS_JSONL, chunk, kind="flow-records", ref=f"import:{src.name}#{n}")
    _seal(session, source_info)
    return ImportResult(session, fmt, count, warnings, packets)


def _seal(session: Session, source_info: dict[str, Any]) -> None:
    """Sealed at import (the source's sha256 in the seal): later changes to the session are detected."""
    seal_imported(session, source_info)
