"""Every part of a request decoded into views: what was sent, and what it says once unwrapped.

A `View` is one piece of text or bytes to search, the request part it came from (`query:uid`,
`body:$.user.email`, `body:protobuf:3.1`, ...) and the chain of decodings that produced it, outermost
first (`gzip>json>base64`), in the vocabulary of `schema.ENCODING_STEPS`. Decoding is recursive —
content-encodings, form, multipart, JSON values and keys, schemaless protobuf, base64/hex runs, percent
escapes — under `DecodeLimits`; a step that fails or would exceed a limit is recorded as a `DecodeIssue`
and the rest of the message is still decoded.

Sniff, don't trust, the content type: after its content-codings (and any gzip/zstd/zlib magic), a body
is tried against every decoder in `DECODERS` whose signature it matches, the ones its declared type
names first; brotli (no magic) is tried on binary no decoder took; a body no decoder accepts is searched
as bytes. Firebase Analytics uploads (labelled as forms, protobuf inside) get field names from
`firebase.py`. Leaves are looked into too: JSON text, forms and URLs (query and fragment) inside strings,
JSON keys and long field names, base64/hex runs and percent escapes.

Adding a container decoder: write `decode(dec, data, ctype, part, chain, depth, root) -> bool` (emit
views through `dec.emit`/`dec.value`/`dec.body`, return False when the bytes are not yours), a cheap
`sniff(data, declared) -> bool` and `declared(content_type) -> bool`, and call
`register_decoder(Decoder(name, declared, sniff, decode))` once at import of your module (import it
from `analysis/decode/__init__.py` so it is always registered). Nothing else changes.

Views of names (`View.name`): field, header and cookie names and JSON keys are searched as well (values
hide in them), flagged so that key-vocabulary patterns never match a key against itself.

Part names: a body's own parts are `body:<json path>` (`body:header.sim[0].id`), `body:form:<name>`,
`body:multipart:<name>`, `body:protobuf:<field path>`, or `body` when unstructured; client WebSocket
messages are `websocket:<json path>` or `websocket`. A container found inside a part's value (base64
JSON in a JSON field) keeps the outer part, and the chain says what was unwrapped: `body:payload` with
`json>base64>json`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

from analysis.decode.bytedance import request_layers
from analysis.decode.content_encoding import decompress
from analysis.decode.content_encoding import parse_content_encoding
from analysis.decode.content_encoding import sniff_compression
from analysis.decode.firebase import is_measurement_upload
from analysis.decode.firebase import name_path as firebase_name_path
from analysis.decode.limits import Budget
from analysis.decode.limits import DecodeFailure
from analysis.decode.limits import DecodeIssue
from analysis.decode.limits import DecodeLimits
from analysis.decode.protobuf import ProtoLeaf
from analysis.decode.protobuf import parse_message
from analysis.decode.text import is_printable_text
from analysis.decode.text import looks_ascii_printable
from analysis.decode.ttencrypt import is_ttencrypted
from analysis.decode.ttencrypt import unwrap as unwrap_ttencrypt
from analysis.jsontext import json_loads
from analysis.schema import PROBE_HEADER
from analysis.schema import FlowRecord

Chain = tuple[str, ...]

_B64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")
_B64_WHOLE = re.compile(rb"[A-Za-z0-9+/_-]{8,}={0,2}")
_HEX_RUN = re.compile(rb"(?:[0-9a-fA-F]{2}){8,}")
_HEX_ONLY = re.compile(rb"[0-9a-fA-F]+")
_PCT = re.compile(rb"%[0-9A-Fa-f]{2}")
# One `name=value` (or bare `name`) field of a form; a body is checked field by field, never with one
# pattern over the whole body (an optional `=` between overlapping classes backtracks exponentially).
_FORM_FIELD = re.compile(rb"[A-Za-z_][\w.%\[\]-]{0,63}(?:=[^&\s]*)?")
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_URL_TAIL = re.compile(rb"[?#]([^?#\s\"'<>]*)")
_NAME_HOLDS_MORE = re.compile(rb"[%:/?=@{\[+]")
# A name that is one run of base64 or hex with letters and digits (`TURBd01EQXdN...`) may be an encoded
# value (base64 of base64 has no padding or symbol to give it away): decoded like a value too.
_NAME_ENCODED = re.compile(rb"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MIN_KEY = 6  # shorter JSON keys cannot hold a value worth finding
_JSON_KINDS = frozenset({dict, list, str, int, float})
_KEY_FACTS: dict[str, tuple[str, str, bytes | None, bool]] = {}  # JSON key -> `_key_facts(key)`
_KEY_FACTS_MAX = 65536  # entries (keys repeat: an app's few hundred field names); cleared when full


class View(NamedTuple):
    """One decoded piece of a message to search.

    A named tuple, not a dataclass: a message makes hundreds of views and a frozen dataclass's
    `__init__` was a tenth of the decoding time.
    """

    part: str
    chain: Chain
    data: bytes
    name: bool = False  # a field, header or cookie name (or text inside one), not the part's value

    @property
    def encoding(self) -> str:
        return ">".join(self.chain) or "plain"


# `View(...)` goes through the named tuple's Python-level `__new__`; the decoder's hot paths build the
# same tuple directly (`_new_view(View, (part, chain, data, name))`), a third of the cost.
_new_view = tuple.__new__


def json_path(parent: str, key: str | int) -> str:
    """`a.b[0].c` (no leading `$`), with `a["odd key"]` for keys that are not identifiers."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENT.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


def _key_facts(key: str) -> tuple[str, str, bytes | None, bool]:
    """What the JSON walk needs of a key, cached: its path step after a parent (`.key`, `["odd key"]`),
    its path at the root (as `json_path` writes them), its bytes when it is long enough to be searched as a
    name (else None), and whether that name may hold more and is looked into like a value (see `name`)."""
    if _IDENT.fullmatch(key):
        dot, bare = "." + key, key
    else:
        dot = bare = f"[{json.dumps(key, ensure_ascii=False)}]"
    data = None
    more = False
    if len(key) >= _MIN_KEY:
        data = key.encode("utf-8", "surrogatepass")
        more = len(key) > 32 or bool(_NAME_HOLDS_MORE.search(data) or _NAME_ENCODED.fullmatch(data))
    facts = (dot, bare, data, more)
    if len(key) <= 64:  # long keys (URLs, addresses) are rarely repeated: not kept
        if len(_KEY_FACTS) >= _KEY_FACTS_MAX:
            _KEY_FACTS.clear()
        _KEY_FACTS[key] = facts
    return facts


def _child(base: str, name: str, root: bool) -> str:
    """A container's own part (`body:a.b`); inside a part's value the part stays the outer one."""
    return f"{base}:{name}" if root and name else base


def base64_label(text: bytes, part: str) -> str:
    """`base64` or `base64url` for base64 text; when neither alphabet's own characters occur the text
    is valid in both, and the part decides (the URL-safe alphabet is what URLs and cookies carry)."""
    # `b"-"[0] in text` (an int, folded at compile time) and not `b"-" in text` in this package's hot
    # paths: CPython 3.12 first tries a bytes operand of `in` as an int, raising and clearing a
    # TypeError, which made the test ~15x slower (380 ns, not 22). Longer needles: `find`.
    if b"-"[0] in text or b"_"[0] in text:
        return "base64url"
    if b"+"[0] in text or b"/"[0] in text:
        return "base64"
    return "base64url" if part.startswith(("query:", "url:", "cookie:")) else "base64"


def _b64decode(run: bytes, part: str) -> tuple[bytes, str] | None:
    body = run.rstrip(b"=")
    urlsafe = b"-"[0] in body or b"_"[0] in body
    if urlsafe and (b"+"[0] in body or b"/"[0] in body):
        return None  # mixed alphabets: an identifier or a path, not base64
    if len(body) % 4 == 1:
        body = body[:-1]
    padded = body + b"=" * (-len(body) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded), "base64url"
        return base64.b64decode(padded, validate=True), base64_label(body, part)
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class Decoder:
    """A container format a body (or a decoded view) may be in.

    `declared(ct)`: the content type names this format (such decoders are tried first);
    `sniff(data, declared)`: the bytes carry its signature (cheap, no parse);
    `decode(dec, data, ct, part, chain, depth, root)`: parse and emit views, False when the bytes are
    not this format after all. Every decoder whose signature matches is tried, whatever the content type
    says: apps label protobuf as a form, JSON as text/plain.
    """

    name: str
    declared: Callable[[str], bool]
    sniff: Callable[[bytes, bool], bool]
    decode: Callable[[MessageDecoder, bytes, str, str, Chain, int, bool], bool]


DECODERS: list[Decoder] = []


def register_decoder(decoder: Decoder, first: bool = False) -> None:
    """Add a container decoder (once); `first` puts it before the built-in ones."""
    if any(d.name == decoder.name for d in DECODERS):
        return
    DECODERS.insert(0, decoder) if first else DECODERS.append(decoder)


class ValueMemo:
    """The views `MessageDecoder.value` gave for a value, kept across the messages of a session.

    Apps send the same values in request after request (the user agent, the common query fields, the
    device's ids, tokens). What `value` emits depends only on its arguments and the decoder's limits: not
    on the message around it (a value's own parts are the part it was given; no message state is read),
    so a value seen before, under the same part, chain, depth and flags, gives the same views again. Only
    a decoding that reported no issue and lost no view to the message budget is kept; replayed views go
    through the budget of the message they are replayed into, as the first ones did.
    """

    MAX_BYTES = 4096  # longer values are rarely repeated (and decode to many views): not kept
    MAX_VIEWS = 256  # a value that gave more views is not kept
    MAX_ENTRY_BYTES = 64 * 1024  # nor one whose views hold more (4 KB of base64 gzip may inflate to 1 MB)
    MAX_TOTAL_BYTES = 32 * 1024 * 1024  # what all entries may hold (values and views); the oldest go first

    def __init__(self, limits: DecodeLimits) -> None:
        self.limits = limits
        self.entries: dict[tuple[bytes, str, Chain, int, bool, bool, bool], tuple[View, ...]] = {}
        self.sizes: dict[tuple[bytes, str, Chain, int, bool, bool, bool], int] = {}
        self.total = 0  # bytes held (values and their views' data)

    def keep(self, key: tuple[bytes, str, Chain, int, bool, bool, bool], views: list[View]) -> None:
        if len(views) > self.MAX_VIEWS or key in self.entries:
            return
        size = len(key[0]) + sum(len(v.data) for v in views)
        if size > self.MAX_ENTRY_BYTES:
            return
        while self.entries and self.total + size > self.MAX_TOTAL_BYTES:
            oldest = next(iter(self.entries))
            del self.entries[oldest]
            self.total -= self.sizes.pop(oldest)
        self.entries[key] = tuple(views)
        self.sizes[key] = size
        self.total += size


class MessageDecoder:
    """Decodes one message (a request, a WebSocket message, a TLS plaintext record) into views."""

    def __init__(self, limits: DecodeLimits | None = None, memo: ValueMemo | None = None) -> None:
        self.limits = limits or DecodeLimits()
        self.budget = Budget(self.limits)
        self.views: list[View] = []
        # values decoded in earlier messages (under the same limits only: they decide what a value gives)
        self.memo = memo if memo is not None and memo.limits == self.limits else None
        self.dropped = False  # a view was lost to the message budget (a replay then is not kept)
        self.proto_names: Callable[[str], str] | None = None  # a known schema for this message's protobuf
        self.in_name = False  # views emitted now are (inside) a name
        # The request body's JSON document and the chain that unwrapped it (`gzip>json`), as
        # `bytedance_applog.body_document` reads it, kept when the decoding found it: the app-log
        # table is built from it without a second decompression and parse (`analysis.analyze.stages`).
        self.document: tuple[Any, str] | None = None
        self._document_of: bytes | None = None  # the bytes whose root JSON container is `document`

    # -- entry points ------------------------------------------------------------------------------

    def request(self, rec: FlowRecord) -> tuple[list[View], list[DecodeIssue]]:
        """All views of a flow's request: host, path, query, headers, cookies, body, client WebSocket messages."""
        depth = self.limits.max_depth
        if rec.host:
            self.emit("url:host", (), rec.host.encode("utf-8", "surrogateescape"))
        if rec.path:
            path = rec.path.encode("utf-8", "surrogateescape")
            self.value(path, "url:path", (), depth)
        for name, raw in _split_pairs(rec.query, b"&", plus=True):
            self.name(name, f"query:{name}", (), depth)
            self.query_value(raw, f"query:{name}", (), depth)
        if is_measurement_upload(rec.host, rec.path):
            self.proto_names = firebase_name_path
        content_type = content_encoding = first_encoding = None
        for name, value in rec.request_headers:
            lname = name.lower()
            if lname == PROBE_HEADER:
                continue
            if lname == "content-type":
                content_type = value
            elif lname == "content-encoding":
                content_encoding = value
                first_encoding = value if first_encoding is None else first_encoding
            self.name(name, f"header:{lname}", ())
            if lname == "cookie":
                for cname, craw in _split_pairs(value, b";"):
                    self.name(cname, f"cookie:{cname}", ())
                    self.value(unquote_to_bytes(craw), f"cookie:{cname}", (), depth)
                continue
            self.value(value.encode("utf-8", "surrogateescape"), f"header:{lname}", (), depth)
        if rec.request_body:
            self.body(
                rec.request_body, content_type, parse_content_encoding(content_encoding), "body", (), depth,
                # `body_document` reads the first Content-Encoding, this decoding the last one
                document=content_encoding == first_encoding,
            )  # fmt: skip
        # ByteDance signature headers and mix_mode fields, decrypted (analysis.decode.bytedance)
        for layer in request_layers(rec.request_headers, rec.query, rec.request_body):
            self.body(layer.data, layer.container, [], layer.part, layer.chain, depth)
        for msg in rec.websocket:
            if msg.from_client and msg.content:
                self.body(msg.content, None, [], "websocket", (), depth)
        return self.views, self.budget.issues

    def message(self, data: bytes, part: str = "body") -> tuple[list[View], list[DecodeIssue]]:
        """Views of one free-standing message (a TLS plaintext record, a WebSocket message).

        Plaintext that is an HTTP/1 request is read as one (path, query, headers, body parts);
        anything else (HTTP/2 frames, a bare payload) as a body.
        """
        rec = http1_request(data)
        if rec is not None:
            return self.request(rec)
        self.body(data, None, [], part, (), self.limits.max_depth)
        return self.views, self.budget.issues

    # -- recursion ---------------------------------------------------------------------------------

    def emit(self, part: str, chain: Chain, data: bytes) -> None:
        budget = self.budget
        if budget.views < self.limits.max_views and budget.total + len(data) <= self.limits.max_total:
            budget.views += 1
            budget.total += len(data)
            self.views.append(_new_view(View, (part, chain, data, self.in_name)))
            return
        self.dropped = True
        if not any(i.issue == "too-many-views" for i in budget.issues):
            budget.report(part, chain, "too-many-views", "message view budget spent; rest not searched")

    def name(
        self, name: str, part: str, chain: Chain, depth: int = 1, errors: str = "surrogateescape"
    ) -> None:
        """A field, header or cookie name: values hide in names too (`?<device id>=1`, URL-keyed maps).

        A name that may hold more (long, or with URL or encoding characters: a whole URL sent as a
        query name, a map keyed by URL or e-mail address) is looked into like a value; plain
        identifiers (`event_v3`) are only searched, which keeps JSON-heavy bodies cheap.
        """
        if len(name) < _MIN_KEY:
            return
        outer, self.in_name = self.in_name, True
        data = name.encode("utf-8", errors)
        if len(name) > 32 or _NAME_HOLDS_MORE.search(data) or _NAME_ENCODED.fullmatch(data):
            self.value(data, part, chain, depth)
        else:
            self.emit(part, chain, data)
        self.in_name = outer

    def query_value(self, raw: bytes, part: str, chain: Chain, depth: int) -> None:
        """A query or form value: percent-decoded; '+' read as space in an extra view."""
        value = unquote_to_bytes(raw)
        self.value(value, part, chain, depth)
        if b"+"[0] in raw:
            plus = unquote_to_bytes(raw.replace(b"+", b" "))
            if b" "[0] in plus.strip():
                self.emit(part, chain, plus)

    def body(
        self,
        data: bytes,
        ctype: str | None,
        codings: list[str],
        part: str,
        chain: Chain,
        depth: int,
        root: bool = True,
        *,
        document: bool = False,
    ) -> None:
        """A body (or a multipart section): content-codings, then every container its bytes may be.

        The declared type only orders the attempts; a body no decoder accepts is searched as bytes.
        `document`: the request's body, whose JSON document is kept (`self.document`) when every step
        of its unwrapping succeeded (as `bytedance_applog.body_document` requires).
        """
        failed = False
        clean = True  # no step of the unwrapping failed
        for coding in reversed(codings):
            try:
                data = decompress(data, coding, self.limits)
            except DecodeFailure as f:
                self.budget.report(part, (*chain, coding), f.issue, f.detail)
                failed = True
                break  # search the bytes as they are: the value may still be in them
            chain = (*chain, coding)
        if not failed and is_ttencrypted(data):  # ByteDance's envelope: analysis.decode.ttencrypt
            data, unwrapped = unwrap_ttencrypt(data, part, chain, self.budget)
            clean = unwrapped != chain  # on failure the chain comes back as it was
            chain = unwrapped
        for _ in range(0 if failed else 2):
            sniffed = sniff_compression(data)
            if not sniffed:
                break
            try:
                data = decompress(data, sniffed, self.limits)
            except DecodeFailure as f:
                # Two bytes of zlib header occur by chance; only a corrupt gzip/zstd stream is worth a note.
                if sniffed != "deflate" or f.issue != "corrupt":
                    self.budget.report(part, (*chain, sniffed), f.issue, f.detail)
                clean = False
                break
            chain = (*chain, sniffed)
        if not data:
            return
        if depth <= 0:
            self.budget.report(part, chain, "too-deep", f"nesting deeper than {self.limits.max_depth}")
            self.emit(part, chain, data)
            return
        keep = document and clean and not failed and data.lstrip()[:1] == b"{"
        if keep:
            self._document_of = data
        accepted = self.containers(data, ctype or "", part, chain, depth, root)
        if keep:
            self._document_of = None
        if accepted:
            return
        if not failed and self.brotli(data, part, chain, depth, root):
            return
        self.value(data, part, chain, depth, try_json=False)

    def containers(self, data: bytes, ctype: str, part: str, chain: Chain, depth: int, root: bool) -> bool:
        """Every registered container whose signature the bytes match, declared ones first."""
        ct = ctype.lower()
        declared = [d.declared(ct) for d in DECODERS]
        order = sorted(range(len(DECODERS)), key=lambda i: not declared[i])
        accepted = False
        for i in order:
            d = DECODERS[i]
            if d.sniff(data, declared[i]) and d.decode(self, data, ctype, part, chain, depth, root):
                accepted = True
        return accepted

    def brotli(self, data: bytes, part: str, chain: Chain, depth: int, root: bool) -> bool:
        """Brotli has no magic bytes: binary that decompresses to text or a container is taken as brotli."""
        if len(data) < 8 or is_printable_text(data[:4096], 0.9):
            return False
        try:
            out = decompress(data, "br", self.limits)
        except DecodeFailure:
            return False
        if not out or not (is_printable_text(out[:4096], 0.9) or sniff_compression(out)):
            return False
        self.body(out, None, [], part, (*chain, "br"), depth - 1, root=root)
        return True

    def json_container(self, data: bytes, part: str, chain: Chain, depth: int, root: bool) -> bool:
        try:
            obj = json_loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return False
        if not isinstance(obj, dict | list):
            return False
        if root and data is self._document_of:
            self.document = (obj, ">".join((*chain, "json")))
            self._document_of = None
        self.json(obj, part, (*chain, "json"), depth - 1, root)
        return True

    def form(self, data: bytes, part: str, chain: Chain, depth: int, root: bool) -> bool:
        for name, raw in _split_pairs(data.strip(), b"&", plus=True):
            sub = _child(part, f"form:{name}", root)
            self.name(name, sub, (*chain, "form"), depth - 1)
            self.query_value(raw, sub, (*chain, "form"), depth - 1)
        return True

    def protobuf_container(self, data: bytes, part: str, chain: Chain, depth: int, root: bool) -> bool:
        leaves = parse_message(data, self.limits.max_depth)
        if not leaves:
            return False
        self.protobuf(leaves, part, (*chain, "protobuf"), depth - 1, root)
        return True

    def value(
        self, data: bytes, part: str, chain: Chain, depth: int, try_json: bool = True, urls: bool = True
    ) -> None:
        """A leaf: searched as is, then looked into (JSON, forms, URLs, base64 or hex runs, escapes)."""
        memo = self.memo
        if memo is None or len(data) > memo.MAX_BYTES or type(data) is not bytes:
            self._value(data, part, chain, depth, try_json, urls)
            return
        key = (data, part, chain, depth, try_json, urls, self.in_name)
        seen = memo.entries.get(key)
        if seen is not None:
            self._replay(seen)
            return
        n_views, n_issues = len(self.views), len(self.budget.issues)
        self._value(data, part, chain, depth, try_json, urls)
        if not self.dropped and len(self.budget.issues) == n_issues:
            memo.keep(key, self.views[n_views:])

    def _replay(self, seen: tuple[View, ...]) -> None:
        """Views an identical value gave in an earlier message, emitted again in order (`ValueMemo`)."""
        budget = self.budget
        max_views, max_total = self.limits.max_views, self.limits.max_total
        for v in seen:
            if budget.views < max_views and budget.total + len(v.data) <= max_total:
                budget.views += 1
                budget.total += len(v.data)
                self.views.append(v)
            else:
                flag, self.in_name = self.in_name, v.name
                self.emit(v.part, v.chain, v.data)
                self.in_name = flag

    def _value(
        self, data: bytes, part: str, chain: Chain, depth: int, try_json: bool = True, urls: bool = True
    ) -> None:
        """`value` itself (without the memo)."""
        self.emit(part, chain, data)
        if depth <= 0 or len(data) < 8:
            return
        stripped = data.strip()
        if (
            try_json
            and stripped[:1] in (b"{", b"[")
            and self.json_container(stripped, part, chain, depth, False)
        ):
            return
        if b"="[0] in stripped[:256] and _looks_like_form(stripped):  # (the check's own first test, inline)
            self.form(stripped, part, chain, depth, False)
        elif urls and (b"?"[0] in stripped or b"#"[0] in stripped):
            self.url(stripped, part, chain, depth)
            urls = False  # its values are decoded there: the unescaped whole is not read as a URL again
        # Hex ids and digests are valid base64 too, but decode to noise: the hex run below reads them.
        if _B64_WHOLE.fullmatch(stripped) and not _HEX_ONLY.fullmatch(stripped):
            decoded = _b64decode(stripped, part)
            if decoded and self.decoded(decoded[0], part, (*chain, decoded[1]), depth):
                return
        for m in _B64_RUN.finditer(data) if len(data) >= 16 else ():
            run = m.group()
            if run == stripped or _HEX_ONLY.fullmatch(run):
                continue
            decoded = _b64decode(run, part)
            if decoded:
                self.decoded(decoded[0], part, (*chain, decoded[1]), depth)
        for m in _HEX_RUN.finditer(data) if len(data) >= 16 else ():
            run = m.group()
            # A digits-only run is usually a decimal number; `text_only` keeps it only when it decodes to
            # text (hex of digits and letters can be all digits: "0000000a" is 3030303030303061).
            self.decoded(binascii.unhexlify(run), part, (*chain, "hex"), depth, text_only=True)
        if b"%"[0] in data and _PCT.search(data) and looks_ascii_printable(data):
            unq = unquote_to_bytes(data)
            if unq != data:
                self.value(unq, part, (*chain, "url"), depth - 1, urls=urls)

    def url(self, data: bytes, part: str, chain: Chain, depth: int) -> None:
        """URLs inside a string: the query's and the fragment's values, percent-decoded (`url`), under the outer part."""
        for m in _URL_TAIL.finditer(data):
            tail = m.group(1)
            if b"="[0] in tail:
                for _name, raw in _split_pairs(tail, b"&", plus=True):
                    self.query_value(raw, part, (*chain, "url"), depth - 1)

    def decoded(self, raw: bytes, part: str, chain: Chain, depth: int, text_only: bool = False) -> bool:
        """Bytes out of base64/hex: kept when compressed, text, or a protobuf message."""
        if len(raw) < 4:
            return False
        compressed = sniff_compression(raw)
        if compressed and not text_only:
            self.body(raw, None, [], part, chain, depth - 1, root=False)
            return True
        if is_printable_text(raw):
            self.value(raw, part, chain, depth - 1)
            return True
        if text_only or len(raw) < 8:
            return False
        leaves = parse_message(raw, self.limits.max_depth)
        if leaves:
            self.protobuf(leaves, part, (*chain, "protobuf"), depth - 1, False)
            return True
        return False

    def json(self, obj: Any, part: str, chain: Chain, depth: int, root: bool) -> None:
        """Every key and leaf of a parsed JSON document, depth first, a dict's key names before its values.

        The hot loop of a JSON-heavy session (an app-log body is ~60 views): it does for each leaf what
        `name`/`value`/`emit` would, with the key facts cached (`_key_facts`) and the plain cases (a simple
        key name, a number, a string under 8 bytes: only emitted) inlined. The views and their order are
        those of the plain recursion: key names of a dict in reverse order when the dict is reached.
        """
        budget = self.budget
        max_views, max_total = self.limits.max_views, self.limits.max_total
        views = self.views
        flag = self.in_name  # JSON inside a name: its leaves are (inside) a name too
        # A stack entry's path is the node's whole part (`body:a.b[0]`), "" for the document itself; inside
        # a part's value (not `root`) every view has that part, and no path is built.
        prefix = part + ":" if root else ""
        stack: list[tuple[str, Any]] = [("", obj)]
        pop, push = stack.pop, stack.append
        # The budget's counts, kept in locals here and handed back around every call that emits itself.
        count, total = budget.views, budget.total
        while stack:
            path, node = pop()
            kind: type | None = type(node)
            if kind not in _JSON_KINDS:
                # bool, None, or (never out of json.loads) a subclass: read as `isinstance` would
                kind = next((t for t in (bool, dict, list, str, int, float) if isinstance(node, t)), None)
            if kind is dict:
                for key, val in reversed(node.items()):
                    facts = _KEY_FACTS.get(key) or _key_facts(key)
                    if root:
                        sub = path + facts[0] if path else prefix + facts[1]
                    data = facts[2]
                    if data is not None:
                        # A key is a value too: maps keyed by URL or by e-mail address.
                        sub_part = sub if root else part
                        if not facts[3] and count < max_views and total + len(data) <= max_total:
                            count += 1
                            total += len(data)
                            views.append(_new_view(View, (sub_part, chain, data, True)))
                        else:
                            budget.views, budget.total = count, total
                            self.in_name = True
                            if facts[3]:
                                self.value(data, sub_part, chain, depth)
                            else:
                                self.emit(sub_part, chain, data)
                            self.in_name = flag
                            count, total = budget.views, budget.total
                    push((sub if root else "", val))
            elif kind is list:
                if root:
                    base = path or prefix
                    for i in range(len(node) - 1, -1, -1):
                        push((f"{base}[{i}]", node[i]))
                else:
                    stack.extend([("", item) for item in reversed(node)])
            elif kind is str or kind is int or kind is float:
                leaf_part = path if root and path else part
                if kind is str:
                    data = node.encode("utf-8", "surrogatepass")
                    if len(data) >= 8:
                        budget.views, budget.total = count, total
                        self.value(data, leaf_part, chain, depth)
                        count, total = budget.views, budget.total
                        continue
                else:
                    data = repr(node).encode()
                if count < max_views and total + len(data) <= max_total:
                    count += 1
                    total += len(data)
                    views.append(_new_view(View, (leaf_part, chain, data, flag)))
                else:
                    budget.views, budget.total = count, total
                    self.emit(leaf_part, chain, data)
                    count, total = budget.views, budget.total
        budget.views, budget.total = count, total

    def protobuf(self, leaves: list[ProtoLeaf], part: str, chain: Chain, depth: int, root: bool) -> None:
        names = self.proto_names if root and part == "body" else None
        for leaf in leaves:
            sub = _child(part, f"protobuf:{names(leaf.path) if names else leaf.path}", root)
            if leaf.kind == "text":
                self.value(leaf.data, sub, chain, depth)
            elif leaf.kind == "bytes":
                self.emit(sub, chain, leaf.data)
                if depth > 0:
                    compressed = sniff_compression(leaf.data)
                    if compressed:
                        self.body(leaf.data, None, [], sub, chain, depth - 1, root=False)
            else:
                self.emit(sub, chain, leaf.data)

    def multipart(self, data: bytes, ctype: str, part: str, chain: Chain, depth: int, root: bool) -> bool:
        # The boundary is case-sensitive (`----WebKitFormBoundaryAbC`): read it from the header as sent.
        m = _BOUNDARY.search(ctype)
        if not m:
            return False
        delim = b"--" + m.group(1).encode("latin-1")
        sections = data.split(delim)
        if len(sections) < 3:
            return False
        inner = (*chain, "multipart")
        for n, section in enumerate(sections[1:-1]):
            section = section[2:] if section.startswith(b"\r\n") else section.lstrip(b"\n")
            head, sep, content = section.partition(b"\r\n\r\n")
            if not sep:
                head, sep, content = section.partition(b"\n\n")
            if content.endswith(b"\r\n"):
                content = content[:-2]
            elif content.endswith(b"\n"):
                content = content[:-1]
            headers = _section_headers(head)
            disp = headers.get("content-disposition", "")
            name_m = re.search(r'\bname="([^"]*)"', disp) or re.search(r"\bname=([^;\s]+)", disp)
            name = name_m.group(1) if name_m else str(n)
            sub = _child(part, f"multipart:{name}", root)
            self.in_name = True
            self.emit(sub, inner, head)  # the section's own headers (names, file names, types)
            self.in_name = False
            self.body(
                content,
                headers.get("content-type"),
                parse_content_encoding(headers.get("content-encoding")),
                sub,
                inner,
                depth - 1,
                root=False,
            )
        return True


# -- the built-in containers, in the order tried when the content type names none of them --------------


def _declared_json(ct: str) -> bool:
    return "json" in ct


def _declared_form(ct: str) -> bool:
    return "x-www-form-urlencoded" in ct


def _declared_protobuf(ct: str) -> bool:
    return "proto" in ct


register_decoder(
    Decoder(
        "multipart",
        lambda ct: ct.startswith("multipart/"),
        lambda data, declared: declared,
        lambda dec, data, ct, part, chain, depth, root: dec.multipart(data, ct, part, chain, depth, root),
    )
)
register_decoder(
    Decoder(
        "json",
        _declared_json,
        lambda data, declared: data.lstrip()[:1] in (b"{", b"["),
        lambda dec, data, ct, part, chain, depth, root: dec.json_container(data, part, chain, depth, root),
    )
)
register_decoder(
    Decoder(
        "form",
        _declared_form,
        # A declared form is taken at its word only when it is text with fields (not protobuf, not JSON).
        lambda data, declared: (
            _looks_like_form(data)
            or (
                declared
                and b"="[0] in data[:4096]
                and data.lstrip()[:1] not in (b"{", b"[")
                and is_printable_text(data[:4096], 0.95)
            )
        ),
        lambda dec, data, ct, part, chain, depth, root: dec.form(data, part, chain, depth, root),
    )
)
register_decoder(
    Decoder(
        "protobuf",
        _declared_protobuf,
        lambda data, declared: declared or not is_printable_text(data[:4096], 0.9),
        lambda dec, data, ct, part, chain, depth, root: dec.protobuf_container(
            data, part, chain, depth, root
        ),
    )
)


_HTTP1_REQUEST = re.compile(rb"([A-Z]{3,7}) (\S+) HTTP/1\.[01]\r?\n")


def http1_request(data: bytes) -> FlowRecord | None:
    """An HTTP/1 request written in plaintext (what `SSL_write` sees), as a record; None if it is not one."""
    m = _HTTP1_REQUEST.match(data)
    if not m:
        return None
    rest = data[m.end() :]
    head, _, body = (b"", b"", rest[2:]) if rest.startswith(b"\r\n") else rest.partition(b"\r\n\r\n")
    headers = []
    for line in head.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon:
            headers.append((name.strip().decode("latin-1"), value.strip().decode("utf-8", "replace")))
    target = m.group(2).decode("utf-8", "surrogateescape")
    path, _, query = target.partition("?")
    host = next((v for k, v in headers if k.lower() == "host"), "")
    return FlowRecord(
        flow_id="", t_request=0.0, t_response=None, client="", server_ip=None, server_port=None, sni=None,
        host=host, scheme="https", http_version="HTTP/1.1", method=m.group(1).decode(), url=target, path=path,
        query=query, status=None, request_headers=headers, response_headers=[], request_body_size=len(body),
        response_body_size=0, request_content_type=None, response_content_type=None, request_body=body,
    )  # fmt: skip


def _looks_like_form(data: bytes) -> bool:
    """`a=1&b=2` without a content type; one field needs a value that is not base64 padding (`YQ==`)."""
    if b"="[0] not in data[:256] or not looks_ascii_printable(data):
        return False
    text = data.strip()
    fields = text.split(b"&")
    if b"="[0] not in fields[0] or not all(_FORM_FIELD.fullmatch(f) for f in fields):
        return False
    if b"&"[0] in text:
        return True
    value = text.partition(b"=")[2]
    return bool(value) and not value.startswith(b"=")


def _section_headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def _split_pairs(text: str | bytes, sep: bytes, plus: bool = False) -> list[tuple[str, bytes]]:
    """`a=1&b=2` (or cookies `a=1; b=2`) as (percent-decoded name, raw value) pairs.

    `plus`: form encoding, where `+` in a name is a space (`no_key_found+(protobuf)` is read
    `no_key_found (protobuf)`, the name a person reads).
    """
    out: list[tuple[str, bytes]] = []
    if not text:
        return out
    raw_text = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    for item in raw_text.split(sep):
        item = item.strip()
        if not item:
            continue
        name, _, raw = item.partition(b"=")
        if plus:
            name = name.replace(b"+", b" ")
        out.append((unquote_to_bytes(name).decode("utf-8", "replace"), raw))
    return out


def request_views(
    rec: FlowRecord, limits: DecodeLimits | None = None
) -> tuple[list[View], list[DecodeIssue]]:
    """All views of one flow's request, and what could not be decoded."""
    return MessageDecoder(limits).request(rec)


def message_views(
    data: bytes, part: str = "body", limits: DecodeLimits | None = None
) -> tuple[list[View], list[DecodeIssue]]:
    """All views of one free-standing message body."""
    return MessageDecoder(limits).message(data, part)
