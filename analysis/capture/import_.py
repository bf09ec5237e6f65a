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
import bisect
import contextlib
import json
import mmap
import os
import re
import tempfile
import uuid
import zlib
from collections.abc import Callable
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

from analysis.capture.flowindex import IndexedRange
from analysis.capture.flowindex import LineFacts
from analysis.capture.flowindex import index_range
from analysis.errors import PrivlabError
from analysis.errors import require_file
from analysis.schema import Canary
from analysis.schema import FlowRecord
from analysis.session import FLOWS_JSONL
from analysis.session import FLOWS_MITM
from analysis.session import PCAP
from analysis.session import Session
from analysis.session import load_canaries
from analysis.session.custody import sha256_file
from analysis.session.flows import map_ranges
from analysis.session.flows import read_flows
from analysis.session.flows import record_from_flow
from analysis.session.flows import record_line
from analysis.session.flows import record_to_json
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
    """Records of a .mitm dump; a dump damaged after some flows keeps those (with a warning)."""
    out: list[FlowRecord] = []
    try:
        out.extend(read_flows(path))
    except PrivlabError as e:
        if not out:
            raise
        warnings.append(f"{e}; imported the {len(out)} flows before the damage")
    return out


def mitm_lines(path: Path, spool: LineSpool, warnings: list[str]) -> None:
    """A dump's flows.jsonl lines into `spool`, by several processes at once when it is large (see
    `flowindex.index_range`); damage keeps the flows before it, with a warning."""
    parts: Iterable[IndexedRange] = (
        (part for _, _, part in map_ranges(path, index_range)) if use_workers(path) else [_whole(path)]
    )
    for part in parts:
        if part.damage is not None and not spool.count and not part.count:
            if use_workers(path):  # damage before any flow: one process over the whole file, where
                part = _whole(path)  # mitmproxy's reader names the damage
            if not part.count:
                raise PrivlabError(part.damage or f"{path}: not a readable mitmproxy flow file")
        spool.write(part.lines, part.count, part.facts)
        if part.damage is not None:
            warnings.append(f"{part.damage}; imported the {spool.count} flows before the damage")
            return


def _whole(path: Path) -> IndexedRange:
    return index_range(path, 0, path.stat().st_size)


# -- HAR ----------------------------------------------------------------------------------------------------


# A HAR is read as a stream of entries: the file (or, for a .zhar, its inflated form in a temporary
# file, never in memory) is mapped, a scanner finds where each entry of `log.entries` starts and ends, and
# only one entry at a time is parsed. Memory follows the largest entry, not the file: an entry larger than
# _MAX_ENTRY is refused before it is decoded, and a .zhar that inflates past _MAX_ZHAR is refused while it
# is inflated (a decompression bomb never reaches the disk in full).
_MAX_ENTRY = 256 * 1024 * 1024
_Buffer = mmap.mmap | bytes
_STRUCTURE = re.compile(rb'["{}\[\]]')
_STRING_END = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[,}\]\s]")
_SPACE = re.compile(rb"[ \t\r\n]*")


def _string_end(data: _Buffer, i: int) -> int:
    """The offset after the JSON string whose opening quote is at `i`."""
    j = i + 1
    while (m := _STRING_END.search(data, j)) is not None:
        if data[m.start()] == 0x5C:  # a backslash escapes the next character
            j = m.start() + 2
            continue
        return m.start() + 1
    raise ValueError(f"a string starting at byte {i} never ends")


def _value_end(data: _Buffer, i: int) -> int:
    """The offset after the JSON value starting at `i` (not parsed, only delimited)."""
    if i >= len(data):
        raise ValueError("the file ends where a value should be")
    first = data[i]
    if first == 0x22:
        return _string_end(data, i)
    if first not in b"{[":
        m = _SCALAR_END.search(data, i)
        return m.start() if m else len(data)
    depth = 0
    j = i
    while (m := _STRUCTURE.search(data, j)) is not None:
        k = m.start()
        if data[k] == 0x22:
            j = _string_end(data, k)
            continue
        depth += 1 if data[k] in b"{[" else -1
        j = k + 1
        if depth == 0:
            return j
    raise ValueError(f"the value starting at byte {i} never ends")


def _skip_space(data: _Buffer, i: int) -> int:
    m = _SPACE.match(data, i)
    return m.end() if m else i


def _members(data: _Buffer, i: int) -> Iterator[tuple[str, int, int]]:
    """(key, value start, value end) of the members of the JSON object at `i`."""
    if i >= len(data) or data[i] != 0x7B:
        raise ValueError(f"expected an object at byte {i}")
    i = _skip_space(data, i + 1)
    if i < len(data) and data[i] == 0x7D:
        return
    while True:
        if i >= len(data) or data[i] != 0x22:
            raise ValueError(f"expected a member name at byte {i}")
        key_end = _string_end(data, i)
        key = json.loads(data[i:key_end])
        i = _skip_space(data, key_end)
        if i >= len(data) or data[i] != 0x3A:
            raise ValueError(f"expected ':' at byte {i}")
        start = _skip_space(data, i + 1)
        end = _value_end(data, start)
        yield key, start, end
        if (after := _next_item(data, end, 0x7D)) is None:
            return
        i = after


def _elements(data: _Buffer, i: int) -> Iterator[tuple[int, int]]:
    """(start, end) of the elements of the JSON array at `i`."""
    i = _skip_space(data, i + 1)
    if i < len(data) and data[i] == 0x5D:
        return
    while True:
        end = _value_end(data, i)
        yield i, end
        if (after := _next_item(data, end, 0x5D)) is None:
            return
        i = after


def _next_item(data: _Buffer, end: int, close: int) -> int | None:
    """After an item ending at `end`: where the next one starts, or None at the closing bracket `close`."""
    i = _skip_space(data, end)
    if i < len(data) and data[i] == 0x2C:
        return _skip_space(data, i + 1)
    if i < len(data) and data[i] == close:
        return None
    raise ValueError(f"expected ',' or '{chr(close)}' at byte {i}")


@contextlib.contextmanager
def _har_bytes(path: Path) -> Iterator[mmap.mmap | bytes]:
    """The HAR's JSON bytes, mapped: the file itself, or a .zhar inflated into a temporary file."""
    with open(path, "rb") as fh:
        compressed = path.suffix.lower() == ".zhar" or fh.read(1) == b"\x78"
        fh.seek(0)
        if not compressed:
            if os.fstat(fh.fileno()).st_size == 0:
                yield b""
                return
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                yield data
            return
        with tempfile.TemporaryFile(prefix="privlab-zhar-") as tmp:
            inflater = zlib.decompressobj()
            total = 0
            try:
                while chunk := fh.read(1 << 20):
                    while chunk:
                        out = inflater.decompress(chunk, 1 << 24)
                        total += len(out)
                        if total > _MAX_ZHAR:
                            raise PrivlabError(
                                f"{path}: compressed HAR inflates to more than {_MAX_ZHAR >> 20} MB; "
                                "not imported (a decompression bomb or a capture too large to import here)"
                            )
                        tmp.write(out)
                        chunk = inflater.unconsumed_tail
                    if inflater.eof:
                        break
                tmp.write(inflater.flush())
            except zlib.error as e:
                raise PrivlabError(f"{path}: compressed HAR is corrupt ({e})") from None
            if not inflater.eof:
                raise PrivlabError(f"{path}: compressed HAR is cut short (the zlib stream does not end)")
            tmp.flush()
            if tmp.tell() == 0:
                yield b""
                return
            with mmap.mmap(tmp.fileno(), 0, access=mmap.ACCESS_READ) as data:
                yield data


_RELEASE_AFTER = 16 * 1024 * 1024


def _release(data: mmap.mmap | bytes) -> None:
    """Drop the mapped pages read so far from this process's memory (the file keeps them): a scanned
    or parsed large entry's bytes are not held a second time beside its parsed form."""
    if isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        data.madvise(mmap.MADV_DONTNEED)


@dataclass
class HarLog:
    """What a HAR's `log` holds besides its entries, and where each entry is in the file."""

    fields: dict[str, Any]  # creator, browser, version
    entries: list[tuple[int, int]] | None  # None: no `log.entries` list


def _har_log(path: Path, data: mmap.mmap | bytes) -> HarLog:
    fields: dict[str, Any] = {}
    entries: list[tuple[int, int]] | None = None
    view = memoryview(data)
    try:
        start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
        for key, a, _ in _members(data, _skip_space(data, start)):
            if key != "log" or data[a] != 0x7B:
                continue
            for name, c, d in _members(data, a):
                if name == "entries" and data[c] == 0x5B:
                    entries = list(_elements(data, c))
                elif name in ("creator", "browser", "version") and d - c < 1 << 20:
                    fields[name] = json.loads(str(view[c:d], "utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise PrivlabError(f"{path}: not valid HAR JSON ({e})") from None
    finally:
        view.release()
    return HarLog(fields, entries)


def har_entries(path: Path) -> Iterator[tuple[int, dict[str, Any]] | HarLog]:
    """The HarLog of a HAR, then each entry (position, parsed object), one at a time."""
    with _har_bytes(path) as data:
        log = _har_log(path, data)
        _release(data)
        if log.entries is None:
            raise PrivlabError(f"{path}: not a HAR file (no log.entries list)")
        yield log
        view = memoryview(data)
        try:
            for n, (a, b) in enumerate(log.entries):
                if b - a > _MAX_ENTRY:
                    raise PrivlabError(
                        f"{path}: entry {n} is {(b - a) >> 20} MB of JSON, more than the "
                        f"{_MAX_ENTRY >> 20} MB one HAR entry may hold here; not imported"
                    )
                try:
                    text = str(view[a:b], "utf-8")
                    if b - a > _RELEASE_AFTER:
                        _release(data)  # the text holds the entry now; its mapped bytes are not kept too
                    entry = json.loads(text)
                except (ValueError, UnicodeDecodeError) as e:
                    raise PrivlabError(f"{path}: not valid HAR JSON (entry {n}: {e})") from None
                except RecursionError:
                    raise PrivlabError(f"{path}: entry {n} is nested too deeply to read") from None
                del text
                yield n, entry if isinstance(entry, dict) else {}
                del entry
        finally:
            view.release()


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
    post = req.get("postData")
    _set_body(request, har_body(post, request.headers.get("content-type", "")))
    if isinstance(post, dict):
        post.pop("text", None)  # the bytes stand for it now: a large body is not held twice
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
        content = resp.get("content")
        _set_body(response, har_body(content, response.headers.get("content-type", "")))
        if isinstance(content, dict):
            content.pop("text", None)
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


def har_stream(path: Path, source_sha: str, warnings: list[str]) -> Iterator[HarLog | FlowRecord]:
    """A HAR file's HarLog, then the record of each of its entries, one entry in memory at a time."""
    for item in har_entries(path):
        if isinstance(item, HarLog):
            yield item
            continue
        n, entry = item
        try:
            rec = har_record(entry, _flow_id(source_sha, n))
        except (ValueError, TypeError, KeyError) as e:
            warnings.append(f"{path}: entry {n} skipped ({e})")
            continue
        encoded = any(k.lower() == "content-encoding" for k, _ in rec.request_headers)
        if not encoded and rec.request_body_size != len(rec.request_body):
            # The exporter's text does not give back the bytes it says were sent: say so, keep both.
            warnings.append(
                f"{path}: entry {n} ({rec.url[:80]}): the body text gives {len(rec.request_body)} bytes, "
                f"the HAR states bodySize {rec.request_body_size}; the exporter did not keep this body "
                "byte for byte"
            )
        del entry, item  # the entry's text is not kept beside the record's bytes
        yield rec


def har_records(path: Path, source_sha: str, warnings: list[str]) -> list[FlowRecord]:
    """Records of a HAR file's entries."""
    return [r for r in har_stream(path, source_sha, warnings) if isinstance(r, FlowRecord)]


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
    data: bytes,
    time_at: Callable[[int], float],
    client: tuple[str, int],
    server: tuple[str, int],
    warn: Callable[[str], None] = lambda _: None,
) -> list[PcapRequest]:
    """The requests one after another in a client stream. `time_at(offset)` is the capture time of the
    packet that carried that byte: each request of a keep-alive stream has its own time."""
    out = []
    pos = 0
    while (m := _REQUEST_LINE.match(data, pos)) is not None:
        start = pos
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
            declared = lower.get(b"content-length", b"0")
            try:
                length = int(declared)
            except ValueError:
                length = 0
            if not 0 <= length <= len(data) - pos:
                # The request says more (or less) than the stream holds: a capture that ended mid-body,
                # lost packets, or a lie (10^20). The bytes that are there are its body; the import says so.
                held = len(data) - pos
                warn(
                    f"request {m.group(1).decode('latin-1')} {m.group(2).decode('latin-1')[:80]} "
                    f"({client[0]}:{client[1]} -> {server[0]}:{server[1]}) declares Content-Length "
                    f"{declared.decode('latin-1')[:40]}, but {held} bytes follow its headers in the capture; "
                    "its body is those bytes"
                )
                length = held
            body, pos = data[pos : pos + length], pos + length
        host = lower.get(b"host")
        out.append(
            PcapRequest(
                time_at(start),
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


def _segment_times(segments: list[tuple[float, bytes]]) -> Callable[[int], float]:
    """offset in the joined stream -> capture time of the segment holding that byte."""
    starts, times = [], []
    offset = 0
    for t, payload in segments:
        starts.append(offset)
        times.append(t)
        offset += len(payload)
    return lambda pos: times[max(0, bisect.bisect_right(starts, pos) - 1)]


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
            out.extend(
                _parse_requests(
                    data,
                    _segment_times([tp for _, tp in ordered]),
                    (src, sport),
                    (dst, dport),
                    lambda w: warnings.append(f"{path}: {w}"),
                )
            )
    out.sort(key=lambda r: r.t)
    return out


def pcap_records(path: Path, source_sha: str, warnings: list[str]) -> list[FlowRecord]:
    """Cleartext HTTP/1 requests found in a pcap's TCP streams (encrypted traffic has none)."""
    out = []
    for n, req in enumerate(http_requests(path, warnings)):
        client = connection.Client(peername=req.client, sockname=("", 0), timestamp_start=req.t)
        # The address the packets went to is the server's peer address: the flow record's server IP.
        server = connection.Server(address=req.server, peername=req.server)
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


class LineSpool:
    """flows.jsonl lines made before the session folder exists, kept in a temporary file (not in memory:
    a 100k-flow import holds about 300 MB of lines; a failure leaves no folder behind)."""

    def __init__(self, near: Path | None = None) -> None:
        # Beside the sessions when that folder exists (the same disk; /tmp may be memory), else the system's.
        self.folder = near if near is not None and near.is_dir() else None
        self.file = tempfile.TemporaryFile(prefix=".privlab-import-", dir=self.folder)
        self.count = 0
        self.facts = LineFacts()

    def write(self, lines: bytes, count: int, facts: LineFacts | None = None) -> None:
        """Add `count` complete lines (and their records' facts, when the spool's are wanted)."""
        self.file.write(lines)
        self.count += count
        if facts is not None:
            self.facts.extend(facts)

    def add(self, rec: FlowRecord) -> None:
        """Add one record's line; a large body is base64-encoded piecewise into the file, never whole in
        memory (the bytes are those of `record_line`, checked by tests/test_import.py)."""
        self.count += 1
        self.facts.note(rec)
        if len(rec.request_body) < _PIECEWISE:
            self.file.write(record_line(rec))
            return
        head = record_line(replace(rec, request_body=b"", websocket=[]))
        if not head.endswith(_EMPTY_TAIL):
            raise AssertionError("flows.jsonl line format changed: request_body_b64 is not last but one")
        self.file.write(head[: -len(_EMPTY_TAIL)] + b'"request_body_b64":"')
        body = memoryview(rec.request_body)
        for k in range(0, len(body), _B64_PIECE):
            self.file.write(base64.b64encode(body[k : k + _B64_PIECE]))
        ws = record_to_json(replace(rec, request_body=b""))["websocket"]
        self.file.write(b'","websocket":' + json.dumps(ws, separators=(",", ":")).encode() + b"}\n")

    def chunks(self) -> Iterator[bytes]:
        """The lines in chunks of about _CHUNK bytes, each ending at a line end."""
        self.file.flush()
        self.file.seek(0)
        while chunk := self.file.read(_CHUNK):
            yield chunk + (self.file.readline() if not chunk.endswith(b"\n") else b"")

    def mapped(self) -> mmap.mmap | bytes:
        """The whole spool, mapped read-only (b"" when empty)."""
        self.file.flush()
        if self.file.seek(0, os.SEEK_END) == 0:
            return b""
        return mmap.mmap(self.file.fileno(), 0, access=mmap.ACCESS_READ)

    def close(self) -> None:
        self.file.close()


_PIECEWISE = 4 * 1024 * 1024
_B64_PIECE = 3 * 1024 * 1024  # a multiple of 3: the pieces' base64 joins into the whole's
_EMPTY_TAIL = b'"request_body_b64":"","websocket":[]}\n'


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(64 * 1024 * 1024):
            yield chunk


def har_creator(log: dict[str, Any]) -> dict[str, str]:
    """The HAR's `log.creator` (and `log.browser`) as `{tool, version, detail}`; empty when absent."""
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


def _latest_states(spool: LineSpool, ids: list[str], path: Path, warnings: list[str]) -> LineSpool:
    """The spool with one record per flow id: the last one, where the first one stood.

    mitmproxy may save one flow twice (a WebSocket flow at its upgrade and again when it ends, with the
    same id); the later record is the same flow in a later state. Two records with one id would make an
    exhibit ambiguous, so the last state is kept and the import says so. The source file keeps both.
    """
    if len(set(ids)) == len(ids):
        return spool
    last: dict[str, tuple[int, int]] = {}
    data = spool.mapped()
    out = LineSpool(spool.folder)
    try:
        pos = 0
        for fid in ids:
            end = data.find(b"\n", pos) + 1
            last[fid] = (pos, end)
            pos = end
        for a, b in last.values():
            out.write(data[a:b], 1)
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
        spool.close()
    repeated = len(ids) - len(last)
    warnings.append(
        f"{path}: {repeated} record(s) repeat the id of an earlier flow (mitmproxy saved the same flow again "
        f"in a later state); the last state of each of those flows is used, {len(last)} flows in all"
    )
    return out


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
    src = require_file(Path(source), "a capture file (.mitm, HAR or pcap)")
    fmt = detect_format(src)
    planted: list[Canary] = (
        load_canaries(require_file(Path(canaries), "a canaries.json file")) if canaries else []
    )
    source_sha = sha256_file(src)
    warnings: list[str] = []
    har_log: dict[str, Any] = {}
    # The flows.jsonl lines are made before the folder exists (in a temporary file): a failure leaves
    # nothing behind.
    spool = LineSpool(Path(out))
    try:
        if fmt == "mitm":
            mitm_lines(src, spool, warnings)
        elif fmt == "har":
            for item in har_stream(src, source_sha, warnings):
                if isinstance(item, HarLog):
                    har_log = item.fields
                else:
                    spool.add(item)
                    del item
        else:
            for rec in pcap_records(src, source_sha, warnings):
                spool.add(rec)
        facts = spool.facts
        ids, first, last = facts.ids, facts.first, facts.last
        spool = _latest_states(spool, ids, src, warnings)
        count = spool.count
        session = _make_session(
            src, out, fmt, source_sha, warnings, count, first, last, har_log, planted, app, first_party, owner
        )
        for n, chunk in enumerate(spool.chunks()):
            session.append(FLOWS_JSONL, chunk, kind="flow-records", ref=f"import:{src.name}#{n}")
    finally:
        spool.close()
    _seal(session, session.meta["import"])
    return ImportResult(session, fmt, count, warnings, session.meta["import"]["packets"])


def _make_session(
    src: Path,
    out: Path | str,
    fmt: str,
    source_sha: str,
    warnings: list[str],
    count: int,
    first: float | None,
    last: float | None,
    har_log: dict[str, Any],
    planted: list[Canary],
    app: str | None,
    first_party: list[str] | tuple[str, ...],
    owner: str | None,
) -> Session:
    """The session folder with session.json, the chain's first record and the source's bytes."""
    import time

    from analysis.session import tool_versions

    packets: int | None = None
    if fmt == "pcap":
        packets, first, last = pcap_time_range(src)
        creator = pcap_creator(src)
    else:
        creator = har_creator(har_log) if fmt == "har" else mitm_creator(src)
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
    return session


def _seal(session: Session, source_info: dict[str, Any]) -> None:
    """Sealed at import (the source's sha256 in the seal): later changes to the session are detected."""
    seal_imported(session, source_info)
