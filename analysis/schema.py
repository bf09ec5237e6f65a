"""The tables every part of privlab shares, defined once.

Each table has a typed record (a dataclass, for code that builds rows) and an Arrow schema (for Parquet
and pandas). Nothing else in the package may define the columns of these tables: a module that writes
or reads `derived/*.parquet` takes its columns from here.

Times are float seconds since the epoch in records and `timestamp[us, UTC]` in Arrow, so pandas gives
timezone-aware timestamps.
"""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from typing import Any

import pyarrow as pa

from analysis.vocabulary import CanarySource
from analysis.vocabulary import DataType
from analysis.vocabulary import EncodingStep

SCHEMA_VERSION = 1

TIME = pa.timestamp("us", tz="UTC")
HEADERS = pa.list_(pa.struct([("name", pa.string()), ("value", pa.string())]))

# Canary kinds accepted in canaries.json (the detection contract): `analysis.vocabulary.DataType`.
CANARY_KINDS: tuple[DataType, ...] = tuple(DataType)


@dataclass(frozen=True)
class Canary:
    """One ground-truth value planted on, or read from, the device (a line of canaries.json)."""

    id: str
    kind: str
    value: str
    source: str = CanarySource.PLANTED  # vocabulary.CanarySource: planted | read-from-device | runtime-value
    t: float | None = None
    note: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Canary:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class WebSocketMessage:
    """One WebSocket message of a flow, as recorded at capture time."""

    t: float
    from_client: bool
    is_text: bool
    content: bytes


@dataclass
class FlowRecord:
    """One HTTP(S) exchange (a row of `flows`), plus the raw request body for detection.

    Built by exactly one function, `analysis.session.flows.record_from_flow`, both at capture time (the
    capture writes these to `flows.jsonl` once the proxy stops) and when reading a `.mitm` or HAR file.
    """

    flow_id: str
    t_request: float
    t_response: float | None
    client: str  # "ip:port"
    server_ip: str | None
    server_port: int | None
    sni: str | None
    host: str
    scheme: str
    http_version: str
    method: str
    url: str
    path: str
    query: str
    status: int | None
    request_headers: list[tuple[str, str]]
    response_headers: list[tuple[str, str]]
    request_body_size: int
    response_body_size: int
    request_content_type: str | None
    response_content_type: str | None
    via: str = "proxy"  # proxy | pcap-only
    error: str | None = None
    phase: str | None = None
    session_id: str | None = None
    # Raw request body exactly as sent (content-encoded), and WebSocket messages; not Parquet columns.
    request_body: bytes = b""
    websocket: list[WebSocketMessage] = field(default_factory=list)


FLOWS = pa.schema(
    [
        ("flow_id", pa.string()),
        ("t_request", TIME),
        ("t_response", TIME),
        ("client", pa.string()),
        ("server_ip", pa.string()),
        ("server_port", pa.int32()),
        ("sni", pa.string()),
        ("host", pa.string()),
        ("scheme", pa.string()),
        ("http_version", pa.string()),
        ("method", pa.string()),
        ("url", pa.string()),
        ("path", pa.string()),
        ("query", pa.string()),
        ("status", pa.int32()),
        ("request_headers", HEADERS),
        ("response_headers", HEADERS),
        ("request_body_size", pa.int64()),
        ("response_body_size", pa.int64()),
        ("request_content_type", pa.string()),
        ("response_content_type", pa.string()),
        ("via", pa.string()),
        ("error", pa.string()),
        ("phase", pa.string()),
        ("websocket_messages", pa.int32()),
    ]
)


@dataclass
class HookEvent:
    """One access the Frida agent saw (a line of hooks.jsonl).

    `seq` is numbered by the runner across all of the app's processes; `t` is the epoch time of the
    call (ms resolution); bytes anywhere in `args`/`ret` are `{"$b64": "<base64>"}`. Categories
    (`analysis.vocabulary.HookCategory`): clipboard, identifiers, location, contacts, installed_apps,
    webview, watch (Java; `stack` is the Java stack, innermost first); tls-plaintext (SSL_write/_ex:
    plaintext in args[1]; SSL_read/_ex: plaintext in ret; args[0] = {ssl, lib}), network (getaddrinfo, connect), tls (pinning checks the
    agent bypassed) with native `stack` as "lib+0xoffset"; agent and runner (ready, warnings, gaps,
    process ends, unknown or malformed messages kept verbatim) with tid 0.
    """

    seq: int
    t: float
    pid: int
    tid: int
    category: str
    api: str
    args: list[Any]
    ret: Any
    stack: list[str]
    sdk: str | None = None
    entity: str | None = None


HOOK_EVENTS = pa.schema(
    [
        ("seq", pa.int64()),
        ("t", TIME),
        ("pid", pa.int64()),
        ("tid", pa.int64()),
        ("category", pa.string()),
        ("api", pa.string()),
        ("args", pa.string()),  # JSON text: argument values are heterogeneous
        ("ret", pa.string()),  # JSON text
        ("stack", pa.list_(pa.string())),
        ("sdk", pa.string()),
        ("entity", pa.string()),
    ]
)

# One row per DNS message, per TLS ClientHello, per QUIC client Initial (by destination connection id),
# and per connection ("tcp" / "udp" rows: src = initiator, totals over both directions, with the SNI /
# HTTP host found in it). Built by analysis.packets.build_packets from the pcap alone.
PACKETS = pa.schema(
    [
        ("t", TIME),  # first packet of the row's event or connection
        ("proto", pa.string()),  # dns | tls | quic | tcp | udp
        ("src", pa.string()),  # "ip:port" ("[v6]:port" for IPv6)
        ("dst", pa.string()),
        ("app", pa.string()),  # connection rows: tls | quic | gquic | http | dns | "" (unknown)
        ("dns_qname", pa.string()),
        ("dns_qtype", pa.string()),  # A, AAAA, HTTPS, ...
        ("dns_response", pa.bool_()),
        ("dns_answers", pa.list_(pa.string())),  # A/AAAA: address; CNAME: name; other types: "TYPE data"
        ("sni", pa.string()),
        ("http_host", pa.string()),  # plain-HTTP Host header or CONNECT target
        ("quic_version", pa.string()),  # e.g. "0x00000001", "Q046"
        ("bytes", pa.int64()),  # on-the-wire bytes (original length, even when the capture truncated it)
        ("packets", pa.int64()),
        ("note", pa.string()),  # e.g. "truncated by snaplen", "gQUIC, not IETF QUIC", "malformed DNS"
        # Connection rows (tcp/udp) only, null on event rows: last packet, on-the-wire bytes each way.
        ("t_last", TIME),
        ("bytes_up", pa.int64()),  # initiator -> responder (what the app sent)
        ("bytes_down", pa.int64()),
    ]
)

DETECTIONS = pa.schema(
    [
        ("detection_id", pa.string()),
        ("flow_id", pa.string()),
        ("part", pa.string()),
        ("data_type", pa.string()),
        ("canary_id", pa.string()),
        ("encoding", pa.string()),  # outermost first, e.g. "gzip>json>base64>sha256"
        ("method", pa.string()),  # canary | runtime-value | pattern
        ("confidence", pa.float64()),
        ("excerpt", pa.string()),
    ]
)


@dataclass(frozen=True)
class Detection:
    """One data item found in one part of one message (a row of `detections`).

    `flow_id` is the mitmproxy flow id, or `hook:<seq>` for a Frida plaintext record.
    `excerpt` shows the matched text between `«` and `»` with some context either side.
    """

    detection_id: str
    flow_id: str
    part: str
    data_type: str
    canary_id: str | None
    encoding: str
    method: str
    confidence: float
    excerpt: str


# Parts of a message that could not be decoded (corrupt gzip, decompression bomb, ...): reported per
# flow and skipped, so the rest of the session is still analysed.
DECODE_ISSUES = pa.schema(
    [
        ("flow_id", pa.string()),
        ("part", pa.string()),
        ("encoding", pa.string()),  # the chain that led to the failing step
        ("issue", pa.string()),  # corrupt | bomb | too-large | too-deep
        ("detail", pa.string()),
    ]
)

# One row per host contacted (built by analysis.attribute.destinations.build_destinations). `entity` is the owner
# the registry names for the host, `parent` its ultimate parent, `hq_country` the entity's own HQ.
# IPs are the ones recorded at capture time (flow server address, DNS answers and connections in the
# pcap), never a lookup at analysis time; loopback/private addresses get the country label "loopback" /
# "private". `sources` names and dates every database used for the row.
DESTINATIONS = pa.schema(
    [
        ("host", pa.string()),
        ("etld1", pa.string()),
        ("entity", pa.string()),
        ("legal_name", pa.string()),
        ("parent", pa.string()),
        ("hq_country", pa.string()),
        ("party", pa.string()),  # first | third | unknown
        ("category", pa.string()),
        ("purpose", pa.string()),
        ("ips", pa.list_(pa.string())),
        ("ip_countries", pa.list_(pa.string())),  # geolocated country per IP (same order as ips)
        ("ip_registered_countries", pa.list_(pa.string())),  # registry (RIR) country per IP
        ("asn", pa.list_(pa.string())),
        ("ip_evidence", pa.list_(pa.string())),  # per IP: flow | dns | pcap (comma-joined when several)
        ("jurisdiction", pa.string()),  # EEA | adequacy | third-country | unknown (server countries)
        ("jurisdiction_note", pa.string()),  # the basis, e.g. the adequacy decision, or why unknown
        ("hq_jurisdiction", pa.string()),  # same scale, for the ultimate parent's HQ country
        ("via", pa.string()),  # proxy | pcap-only
        ("bytes", pa.int64()),
        ("flows", pa.int64()),
        ("sources", pa.string()),  # registry facts + PSL + geolocation + registry-country + jurisdiction data
        (
            "endpoint_purpose",
            pa.string(),
        ),  # ByteDance endpoint purposes of the paths seen (bytedance_endpoints.toml)
        ("party_reason", pa.string()),  # the fact that made the party first/third/unknown (attribute.parties)
        # Request bodies of the host's proxy flows plus on-the-wire bytes the device sent on connections to
        # it seen only in the pcap, cleartext ones read into flows included (attribute.connections): the
        # report's "bytes sent" and the CLI's agree.
        ("bytes_sent", pa.int64()),
    ]
)

# The findings as the report states them (built once by `privlab analyze`, analysis/findings/): one row per
# finding, with its exhibits, access events and provisions nested, so the report and the notebooks read
# the finding itself, never rebuild it. `analysis.findings.rows` converts rows <-> `Finding` records.
CUSTODY_REF = pa.struct(
    [
        ("seq", pa.int64()),
        ("file", pa.string()),
        ("offset", pa.int64()),
        ("length", pa.int64()),
        ("sha256", pa.string()),
    ]
)
EXHIBIT = pa.struct(
    [
        ("ref", pa.string()),  # E-<n>, numbered across the report
        ("flow_id", pa.string()),
        ("t", TIME),
        ("method", pa.string()),
        ("url", pa.string()),
        ("host", pa.string()),
        ("server_ip", pa.string()),
        ("status", pa.int64()),
        ("http_version", pa.string()),
        ("via", pa.string()),
        ("part", pa.string()),
        ("data_type", pa.string()),
        ("encoding", pa.string()),
        ("detection_method", pa.string()),
        ("confidence", pa.float64()),
        ("canary_id", pa.string()),
        ("excerpt", pa.string()),
        ("request_headers", HEADERS),
        ("custody", CUSTODY_REF),  # null: the flow has no custody record
    ]
)
ACCESS_EVENT = pa.struct(
    [
        ("seq", pa.int64()),
        ("t", TIME),
        ("api", pa.string()),
        ("category", pa.string()),
        ("data_type", pa.string()),
        ("sdk", pa.string()),
        ("entity", pa.string()),
        ("value", pa.string()),
        ("stack_top", pa.list_(pa.string())),
        ("link", pa.string()),  # value | type | access
        ("delay_s", pa.float64()),
    ]
)
PROVISION = pa.struct([("instrument", pa.string()), ("article", pa.string()), ("note", pa.string())])
FINDINGS = pa.schema(
    [
        ("finding_id", pa.string()),
        ("kind", pa.string()),  # transmission | access
        ("data_type", pa.string()),
        ("entity", pa.string()),
        ("country", pa.string()),
        ("phase", pa.string()),
        ("first_seen", TIME),
        ("last_seen", TIME),
        ("count", pa.int64()),
        ("flow_ids", pa.list_(pa.string())),
        ("access_seqs", pa.list_(pa.int64())),
        ("sdk", pa.string()),
        ("parent", pa.string()),
        ("jurisdiction", pa.string()),
        ("party", pa.string()),
        ("hosts", pa.list_(pa.string())),
        ("apis", pa.list_(pa.string())),
        ("methods", pa.list_(pa.string())),
        ("encodings", pa.list_(pa.string())),
        ("canary_ids", pa.list_(pa.string())),
        ("confidence", pa.float64()),
        ("exhibits", pa.list_(EXHIBIT)),
        ("access", pa.list_(ACCESS_EVENT)),
        ("related", pa.list_(pa.string())),  # access <-> transmission finding ids
        ("provisions", pa.list_(PROVISION)),
        ("summary", pa.string()),
        ("endpoint_purpose", pa.string()),  # ByteDance endpoint purposes of the exhibits' requests
    ]
)

# What the session could and could not see (`findings.Coverage`): one row, written with the findings.
COVERAGE = pa.schema(
    [
        ("flows_total", pa.int64()),
        ("flows_decrypted", pa.int64()),
        ("flows_pcap_only", pa.int64()),
        ("flows_with_error", pa.int64()),
        ("tls_failures", pa.int64()),
        ("tls_failure_hosts", pa.list_(pa.struct([("sni", pa.string()), ("count", pa.int64())]))),
        ("quic_packets", pa.int64()),
        ("quic_hosts", pa.list_(pa.string())),
        ("pcap_tls_hosts_not_decrypted", pa.list_(pa.string())),
        ("pcap_present", pa.bool_()),
        ("pcap_connections", pa.int64()),
        ("pcap_only_connections", pa.int64()),
        ("pcap_only_hosts", pa.list_(pa.struct([("host", pa.string()), ("bytes", pa.int64())]))),
        ("registry_hosts", pa.int64()),
        ("registry_hosts_attributed", pa.int64()),
        ("registry_unattributed", pa.list_(pa.string())),
        ("hook_events", pa.int64()),
        ("hook_events_attributed", pa.int64()),
        ("hook_modules_attached", pa.list_(pa.string())),
        ("hook_modules_failed", pa.list_(pa.struct([("module", pa.string()), ("error", pa.string())]))),
        ("frida_recorded", pa.bool_()),
        ("canaries_planted", pa.list_(pa.string())),
        ("canaries_found", pa.list_(pa.string())),
        ("canaries_missing", pa.list_(pa.string())),
        ("detections", pa.int64()),
        ("detections_by_method", pa.list_(pa.struct([("method", pa.string()), ("count", pa.int64())]))),
        ("consent_marks", pa.list_(pa.struct([("t", pa.float64()), ("label", pa.string())]))),
        ("notes", pa.list_(pa.string())),
    ]
)

# One row per flow with the receiver the findings attribute it to (charts, notebooks).
FLOW_DESTINATIONS = pa.schema(
    [
        ("flow_id", pa.string()),
        ("t", TIME),
        ("host", pa.string()),
        ("entity", pa.string()),
        ("country", pa.string()),
        ("jurisdiction", pa.string()),
        ("bytes_sent", pa.int64()),
        ("via", pa.string()),
    ]
)

# Capability vs observed, per data type (`analysis.apk.capability.CapabilityRow`), when the session holds
# the static analysis of its APK (apk/static.json).
CAPABILITY = pa.schema(
    [
        ("data_type", pa.string()),
        ("permission_required", pa.bool_()),
        ("permissions_held", pa.list_(pa.string())),
        ("permission_held", pa.bool_()),  # null when no permission is required
        ("api_referenced", pa.bool_()),
        ("call_sites", pa.int64()),
        ("referenced_by", pa.list_(pa.string())),
        ("observed_read", pa.int64()),  # null: no hook events given
        ("read_by", pa.list_(pa.string())),
        ("observed_sent", pa.int64()),  # null: no detections given
    ]
)

# One row per entry of a ByteDance app-log body (event_v3, event, log_data, launch, terminate), built by
# analysis.decode.bytedance_applog. `part` is the detection part of the entry (`body:event_v3[3]`): a
# detection whose part starts with it was carried by that event.
APP_EVENTS = pa.schema(
    [
        ("flow_id", pa.string()),
        ("t_request", TIME),
        ("kind", pa.string()),  # event_v3 | event | log_data | launch | terminate
        (
            "event",
            pa.string(),
        ),  # event name (event_v3 `event`, event `tag`, log_data `log_type`, or the kind)
        ("local_time", TIME),  # the device's own time for the entry (local_time_ms, or datetime read as UTC)
        ("session_id", pa.string()),
        ("params", pa.string()),  # JSON text
        ("part", pa.string()),
        ("encoding", pa.string()),  # chain that unwrapped the body, e.g. ttencrypt>gzip>json
    ]
)

# One row per request to a ByteDance host or carrying a ByteDance layer, built by
# analysis.attribute.bytedance_layers: what could and could not be read through ttEncrypt, the signature
# headers and the security SDK's payloads (the coverage statement's ByteDance lines).
BYTEDANCE_LAYERS = pa.schema(
    [
        ("flow_id", pa.string()),
        ("host", pa.string()),
        ("path", pa.string()),
        ("purpose", pa.string()),  # analysis/attribute/data/bytedance_endpoints.toml, None when unknown
        ("ttencrypt", pa.string()),  # decrypted | failed | announced-without-magic | None
        ("ttencrypt_detail", pa.string()),
        ("signatures_decoded", pa.list_(pa.string())),  # "x-khronos: time 1700000000"
        ("signatures_opaque", pa.list_(pa.string())),  # "x-helios: no public algorithm: classified only"
        ("opaque", pa.string()),  # why the payload stayed unreadable; None when it was read
    ]
)


TABLES: dict[str, pa.Schema] = {
    "flows": FLOWS,
    "hook_events": HOOK_EVENTS,
    "packets": PACKETS,
    "detections": DETECTIONS,
    "destinations": DESTINATIONS,
    "findings": FINDINGS,
    "coverage": COVERAGE,
    "flow_destinations": FLOW_DESTINATIONS,
    "capability": CAPABILITY,
    "decode_issues": DECODE_ISSUES,
    "app_events": APP_EVENTS,
    "bytedance_layers": BYTEDANCE_LAYERS,
}


# -- method validation ---------------------------------------------------------------------------
#
# Encoding chains (detections.encoding and PlantedPart.encoding) use one vocabulary, outermost first,
# joined by ">" with no spaces:
#   content-encodings  gzip deflate br zstd
#   containers         json form multipart protobuf   (body parts only; query/header/cookie/path: none)
#   value transforms   base64 base64url hex url md5 sha1 sha256 upper lower nosep e6 e7 swapped rounded
#   ByteDance layers   ttencrypt (body envelope) mixmode (XOR 5 + hex) argus ladon gorgon (signature headers)
#   a bare value in a query, header, cookie or path segment is "plain".
# Example: a gzip JSON body whose field holds base64 of the SHA-256 of the value: "gzip>json>base64>sha256".

ENCODING_STEPS: tuple[EncodingStep, ...] = tuple(EncodingStep)  # defined in analysis.vocabulary

PROBE_HEADER = "x-privlab-probe"  # the control app tags each request so ground truth can name it


@dataclass(frozen=True)
class PlantedPart:
    """Ground truth from the control app: request `probe` carries canary `canary_id` in `part`.

    `expect="absent"` marks a near-miss decoy: a value close to a canary that must never be reported.
    For locations, `part` is where the latitude is.
    """

    probe: str
    canary_id: str | None
    data_type: str
    part: str
    encoding: str
    expect: str = "present"
    note: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlantedPart:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
