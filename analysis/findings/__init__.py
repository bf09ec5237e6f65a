"""Findings: what was read on the device, what was sent, to whom, in which country, and when.

A *transmission finding* is one data type sent to one receiving entity in one country in one consent
phase. It carries the first and last time it was seen, how many flows carried it, the flows that prove
it (exhibits, each with the custody hash of the flow's raw bytes) and, where a Frida hook saw the value
first, the access events that preceded it: api, time, delay to the first transmission, the SDK that made
the call.

An *access finding* is one data type read on the device by one SDK (or the app) in one phase. It stands
alone: reading information stored on a device needs consent by itself (ePrivacy Art. 5(3)), whether or
not it is ever sent.

`Coverage` states what the session could and could not see: flows decrypted vs seen only in the pcap,
failed TLS handshakes (pinning), QUIC that was not intercepted, hook modules attached or failed, and
canaries planted vs found. An expert needs it to say what the absence of a finding means.

Inputs are the tables of `analysis/schema.py` as pandas DataFrames (`FLOWS`, `HOOK_EVENTS`,
`DETECTIONS`, `DESTINATIONS`, `PACKETS`), session.json, and optionally canaries, TLS failures and the
custody hashes of flows. Nothing here reads or writes the session folder; `analysis.report` does that.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections import Counter
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from datetime import UTC
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pyarrow as pa

from analysis.schema import DESTINATIONS
from analysis.schema import DETECTIONS
from analysis.schema import FINDINGS
from analysis.schema import FLOWS
from analysis.schema import HOOK_EVENTS
from analysis.schema import PACKETS
from analysis.schema import Canary
from analysis.session import CUSTODY
from analysis.session import TLS_FAILURES_JSONL
from analysis.session import Session
from analysis.session import read_jsonl_records

# Exhibits and access events listed per finding; every flow id stays in `flow_ids` regardless.
MAX_EXHIBITS = 5
MAX_ACCESS_EVENTS = 10

PHASE_BEFORE = "before-consent"
PHASE_AFTER = "after-consent"
PHASE_REFUSED = "after-refusal"
PHASE_WITHDRAWN = "after-withdrawal"
PHASES = (PHASE_BEFORE, PHASE_AFTER, PHASE_REFUSED, PHASE_WITHDRAWN)

# Mark labels that change the consent state. Labels are free text set by the operator (`privlab mark`),
# so the match is on words, not on one spelling.
_ACCEPT_WORDS = ("accept", "grant", "given", "agree", "allow")
_REFUSE_WORDS = ("declin", "reject", "refus", "deny", "denied")
_WITHDRAW_WORDS = ("withdraw", "revok")

# Hook APIs -> data type, for hook categories that cover several data types (`identifiers`).
# Checked in order; the first keyword found in the api (lower case) wins.
_API_DATA_TYPES: tuple[tuple[str, str], ...] = (
    ("clipboard", "clipboard"),
    ("getprimaryclip", "clipboard"),
    ("android_id", "android_id"),
    ("advertisingid", "advertising_id"),
    ("getimei", "imei"),
    ("getdeviceid", "imei"),
    ("getmeid", "imei"),
    ("getmacaddress", "mac"),
    ("gethardwareaddress", "mac"),
    ("getsimserialnumber", "iccid"),
    ("getsubscriberid", "imsi"),
    ("getline1number", "phone"),
    ("getserial", "serial"),
    ("location", "location"),
    ("getlatitude", "location"),
    ("contacts", "contact"),
    ("getinstalledpackages", "installed_apps"),
    ("getinstalledapplications", "installed_apps"),
    ("queryintentactivities", "installed_apps"),
)
# Hook categories that read the device (ePrivacy Art. 5(3)); the others (network, tls-plaintext, tls,
# and the agent's and runner's own records) describe transport or the capture, not a read of the device.
ACCESS_CATEGORIES = frozenset(
    {
        "clipboard",
        "identifiers",
        "location",
        "contacts",
        "installed-apps",
        "installed_apps",
        "webview",
        "watch",
    }
)

_CATEGORY_DATA_TYPES = {
    "clipboard": "clipboard",
    "location": "location",
    "contacts": "contact",
    "contact": "contact",
    "packages": "installed_apps",
    "installed_apps": "installed_apps",
    "installed-apps": "installed_apps",
}

JURISDICTION_RANK = {"third-country": 3, "unknown": 2, "adequacy": 1, "EEA": 0}


# -- records ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provision:
    """A legal provision a finding may engage, phrased as support for an expert, not a conclusion."""

    instrument: str
    article: str
    note: str


@dataclass(frozen=True)
class HookRead:
    """What every hook event says about a read: when, which API, what data, which SDK."""

    seq: int
    t: float
    api: str
    category: str
    data_type: str
    sdk: str | None
    entity: str | None


@dataclass(frozen=True)
class AccessEvent(HookRead):
    """One hook event that read the data, as shown beside a finding."""

    value: str  # what the hook saw returned (JSON text), shortened
    stack_top: tuple[str, ...]
    link: str  # value: the hook returned the exact value sent | type: same kind of data | access
    delay_s: float | None  # seconds to the first transmission of the finding at or after t


@dataclass(frozen=True)
class Exhibit:
    """One flow that proves a transmission finding, with the part and the matched excerpt."""

    ref: str  # E-<n>, numbered across the report
    flow_id: str
    t: float
    method: str
    url: str
    host: str
    server_ip: str | None
    status: int | None
    http_version: str
    via: str
    part: str
    data_type: str
    encoding: str
    detection_method: str
    confidence: float
    canary_id: str | None
    excerpt: str  # the match between « and »
    request_headers: tuple[tuple[str, str], ...]
    custody: Mapping[str, Any] | None  # {file, offset, length, sha256, seq} of the flow's raw bytes


@dataclass
class Finding:
    """One finding: a transmission (data type x entity x country x phase) or an access."""

    finding_id: str
    kind: str  # transmission | access
    data_type: str
    entity: str
    parent: str | None
    country: str
    jurisdiction: str
    party: str
    hosts: list[str]
    phase: str
    first_seen: float
    last_seen: float
    count: int
    flow_ids: list[str] = field(default_factory=list)
    access_seqs: list[int] = field(default_factory=list)
    sdk: str | None = None
    apis: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    encodings: list[str] = field(default_factory=list)
    canary_ids: list[str] = field(default_factory=list)
    confidence: float = 1.0
    exhibits: list[Exhibit] = field(default_factory=list)
    access: list[AccessEvent] = field(default_factory=list)
    related: list[str] = field(default_factory=list)  # access <-> transmission finding ids
    provisions: list[Provision] = field(default_factory=list)
    summary: str = ""


@dataclass
class Coverage:
    """What the session could see, and what it could not."""

    flows_total: int = 0
    flows_decrypted: int = 0
    flows_pcap_only: int = 0
    flows_with_error: int = 0
    tls_failures: int = 0
    tls_failure_hosts: list[tuple[str, int]] = field(default_factory=list)  # (sni, count), most first
    quic_packets: int = 0
    quic_hosts: list[str] = field(default_factory=list)
    pcap_tls_hosts_not_decrypted: list[str] = field(default_factory=list)
    pcap_present: bool = False
    hook_events: int = 0
    hook_events_attributed: int = 0
    hook_modules_attached: list[str] = field(default_factory=list)
    hook_modules_failed: list[tuple[str, str]] = field(default_factory=list)  # (module, error)
    frida_recorded: bool = False
    canaries_planted: list[str] = field(default_factory=list)
    canaries_found: list[str] = field(default_factory=list)
    canaries_missing: list[str] = field(default_factory=list)
    detections: int = 0
    detections_by_method: dict[str, int] = field(default_factory=dict)
    consent_marks: list[tuple[float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TableSet:
    """The five tables findings are built from; any object with these attributes works too.

    `analysis.tables.load_session` returns such an object; tests and benchmarks build one directly.
    A missing table is an empty frame with the schema's columns.
    """

    def __init__(
        self,
        flows: pd.DataFrame | None = None,
        hook_events: pd.DataFrame | None = None,
        detections: pd.DataFrame | None = None,
        destinations: pd.DataFrame | None = None,
        packets: pd.DataFrame | None = None,
    ) -> None:
        self.flows = flows if flows is not None else empty_frame(FLOWS)
        self.hook_events = hook_events if hook_events is not None else empty_frame(HOOK_EVENTS)
        self.detections = detections if detections is not None else empty_frame(DETECTIONS)
        self.destinations = destinations if destinations is not None else empty_frame(DESTINATIONS)
        self.packets = packets if packets is not None else empty_frame(PACKETS)

    @classmethod
    def from_rows(
        cls,
        *,
        flows: Sequence[Mapping[str, Any]] = (),
        hook_events: Sequence[Mapping[str, Any]] = (),
        detections: Sequence[Mapping[str, Any]] = (),
        destinations: Sequence[Mapping[str, Any]] = (),
        packets: Sequence[Mapping[str, Any]] = (),
    ) -> TableSet:
        """Tables from row dicts (times as epoch seconds), typed exactly like the schema's tables."""
        return cls(
            flows=frame_from_rows(FLOWS, flows),
            hook_events=frame_from_rows(HOOK_EVENTS, hook_events),
            detections=frame_from_rows(DETECTIONS, detections),
            destinations=frame_from_rows(DESTINATIONS, destinations),
            packets=frame_from_rows(PACKETS, packets),
        )


def empty_frame(schema: pa.Schema) -> pd.DataFrame:
    """An empty DataFrame with the columns (and dtypes) of a schema table."""
    return schema.empty_table().to_pandas()


def frame_from_rows(schema: pa.Schema, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts, times as epoch seconds or datetimes) -> a DataFrame typed exactly like the table."""
    fixed: list[dict[str, Any]] = []
    for row in rows:
        out: dict[str, Any] = {}
        for f in schema:
            v = row.get(f.name)
            if pa.types.is_timestamp(f.type) and isinstance(v, int | float):
                v = datetime.fromtimestamp(float(v), tz=UTC)
            out[f.name] = v
        fixed.append(out)
    return pa.Table.from_pylist(fixed, schema=schema).to_pandas()


def table(tables: Any, name: str, schema: pa.Schema) -> pd.DataFrame:
    """Table `name` from an object (attribute) or a mapping (key); empty with the schema's columns if absent."""
    df = tables.get(name) if isinstance(tables, Mapping) else getattr(tables, name, None)
    if df is None:
        return empty_frame(schema)
    missing = [c for c in schema.names if c not in df.columns]
    if missing:
        df = df.copy()
        for c in missing:
            df[c] = None
    return df


# -- small conversions --------------------------------------------------------------------------------


def epoch(v: Any) -> float | None:
    """A table time (pandas Timestamp, datetime, float seconds) as float epoch seconds, None if missing."""
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else float(v.value) / 1e9
    if isinstance(v, datetime):
        return v.timestamp()
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    s = str(v)
    return s if s else None


def _int(v: Any) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else int(f)


def _list(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, float) and math.isnan(v):
        return []
    try:
        return list(v)
    except TypeError:
        return []


def _headers(v: Any) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for h in _list(v):
        if isinstance(h, Mapping):
            out.append((str(h.get("name", "")), str(h.get("value", ""))))
        elif isinstance(h, list | tuple) and len(h) == 2:
            out.append((str(h[0]), str(h[1])))
    return tuple(out)


def _epochs(col: pd.Series) -> list[float | None]:
    """A time column as epoch seconds, vectorised (itertuples over 100k rows is the slow part)."""
    if len(col) == 0:
        return []
    if pd.api.types.is_numeric_dtype(col):
        vals = col.astype(float)
    else:
        ts = pd.to_datetime(col, utc=True)
        vals = (ts - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    return [None if v is None or math.isnan(v) else float(v) for v in vals.tolist()]


def _pylist(col: pd.Series) -> list[Any]:
    """A column as Python values through Arrow (pandas' own iteration of Arrow strings is slow)."""
    try:
        return list(pa.array(col, from_pandas=True).to_pylist())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        return list(col.tolist())


def _texts(col: pd.Series) -> list[str | None]:
    return [_text(v) for v in _pylist(col)]


def _columns(df: pd.DataFrame, names: Sequence[str]) -> dict[str, list[Any]]:
    return {n: _pylist(df[n]) for n in names}


def short_id(*parts: Any) -> str:
    """A stable id from the parts that define a finding (same session -> same ids)."""
    raw = json.dumps([str(p) for p in parts], separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:12]


# -- consent phases -----------------------------------------------------------------------------------


def consent_transitions(marks: Iterable[Mapping[str, Any]]) -> list[tuple[float, str, str]]:
    """(t, label, phase after it) for each mark that changes the consent state, in time order."""
    out: list[tuple[float, str, str]] = []
    ordered = sorted(
        ((epoch(m.get("t")), str(m.get("label", ""))) for m in marks if isinstance(m, Mapping)),
        key=lambda tl: (tl[0] if tl[0] is not None else -1.0, tl[1]),
    )
    for t, label in ordered:
        low = label.lower()
        if t is None or "consent" not in low:
            continue
        if any(w in low for w in _WITHDRAW_WORDS):
            out.append((t, label, PHASE_WITHDRAWN))
        elif any(w in low for w in _REFUSE_WORDS):
            out.append((t, label, PHASE_REFUSED))
        elif any(w in low for w in _ACCEPT_WORDS):
            out.append((t, label, PHASE_AFTER))
    return out


def phase_at(t: float, transitions: Sequence[tuple[float, str, str]]) -> str:
    """The consent phase at time t: before any consent mark, or after the last one at or before t."""
    phase = PHASE_BEFORE
    for mt, _label, after in transitions:
        if mt <= t:
            phase = after
        else:
            break
    return phase


# -- hook events --------------------------------------------------------------------------------------


def hook_data_type(category: str | None, api: str | None) -> str:
    """The data type a hook event read, from its api (precise) or else its category."""
    low = (api or "").lower()
    for key, dtype in _API_DATA_TYPES:
        if key in low:
            return dtype
    cat = (category or "").lower()
    return _CATEGORY_DATA_TYPES.get(cat, cat or "unknown")


@dataclass(frozen=True)
class _Hook(HookRead):
    ret: str
    args: str
    stack: tuple[str, ...]


def _hooks(df: pd.DataFrame) -> list[_Hook]:
    out: list[_Hook] = []
    times = _epochs(df["t"])
    c = _columns(df, ["seq", "category", "api", "sdk", "entity", "ret", "args", "stack"])
    for i, t in enumerate(times):
        if t is None:
            continue
        category, api = _text(c["category"][i]), _text(c["api"][i])
        out.append(
            _Hook(
                seq=_int(c["seq"][i]) or 0,
                t=t,
                api=api or "",
                category=category or "",
                data_type=hook_data_type(category, api),
                sdk=_text(c["sdk"][i]),
                entity=_text(c["entity"][i]),
                ret=_text(c["ret"][i]) or "",
                args=_text(c["args"][i]) or "",
                stack=tuple(str(x) for x in _list(c["stack"][i])),
            )
        )
    out.sort(key=lambda h: (h.t, h.seq))
    return out


def _access_event(h: _Hook, link: str, delay: float | None) -> AccessEvent:
    value = h.ret if len(h.ret) <= 200 else h.ret[:200] + "…"
    read = {f.name: getattr(h, f.name) for f in fields(HookRead)}
    return AccessEvent(**read, value=value, stack_top=h.stack[:6], link=link, delay_s=delay)


# -- destinations -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dest:
    entity: str
    parent: str | None
    party: str
    jurisdiction: str
    hq_country: str | None
    ip_country: dict[str, str]  # ip -> geolocated country


def _destinations(df: pd.DataFrame) -> dict[str, _Dest]:
    out: dict[str, _Dest] = {}
    for r in df.itertuples(index=False):
        host = _text(r.host)
        if not host:
            continue
        ips = [str(i) for i in _list(r.ips)]
        countries = [str(c) if c is not None else "" for c in _list(r.ip_countries)]
        out[host.lower()] = _Dest(
            entity=_text(r.entity) or _text(r.etld1) or host,
            parent=_text(r.parent),
            party=_text(r.party) or "unknown",
            jurisdiction=_text(r.jurisdiction) or "unknown",
            hq_country=_text(r.hq_country),
            ip_country={ip: c for ip, c in zip(ips, countries, strict=False) if c},
        )
    return out


def _country(dest: _Dest | None, server_ip: str | None) -> str:
    """Where the data went: the geolocated country of the server IP the flow used."""
    if dest is None:
        return "unknown"
    if server_ip and server_ip in dest.ip_country:
        return dest.ip_country[server_ip]
    distinct = sorted(set(dest.ip_country.values()))
    return distinct[0] if len(distinct) == 1 else "unknown"


# -- custody ------------------------------------------------------------------------------------------


def flow_custody(custody_lines: Iterable[bytes | str]) -> dict[str, dict[str, Any]]:
    """flow id -> the custody record of its raw bytes in flows.mitm (seq, file, offset, length, sha256)."""
    out: dict[str, dict[str, Any]] = {}
    for line in custody_lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a torn last line; `privlab verify` reports it
        if not isinstance(rec, dict) or rec.get("kind") != "flow" or "ref" not in rec:
            continue
        out.setdefault(
            str(rec["ref"]),
            {k: rec.get(k) for k in ("seq", "file", "offset", "length", "sha256")},
        )
    return out


# -- provisions ---------------------------------------------------------------------------------------

EPRIVACY_5_3 = Provision(
    "ePrivacy Directive 2002/58/EC",
    "Art. 5(3)",
    "Information stored on the terminal equipment was accessed. Such access generally requires the "
    "user's prior consent unless it is strictly necessary for the service the user requested; whether "
    "an exemption applies is for the expert and the court to assess.",
)


def provisions_for(finding: Finding, child_session: bool) -> list[Provision]:
    """The provisions a finding may engage: pointers for an expert, not legal conclusions."""
    out: list[Provision] = []
    if finding.kind == "access" or finding.access:
        out.append(EPRIVACY_5_3)
    if finding.kind == "transmission":
        when = {
            PHASE_BEFORE: "before any consent was recorded in this session",
            PHASE_AFTER: "after consent was recorded",
            PHASE_REFUSED: "after consent was refused",
            PHASE_WITHDRAWN: "after consent was withdrawn",
        }.get(finding.phase, finding.phase)
        party = {"third": "a third party", "first": "the app's own operator"}.get(
            finding.party, "a recipient whose relation to the app is not established"
        )
        out.append(
            Provision(
                "GDPR (EU) 2016/679",
                "Art. 6",
                f"Data that may relate to an identifiable person was sent to {party} {when}. "
                "Processing needs a lawful basis; the expert may weigh whether one applied.",
            )
        )
        if child_session:
            out.append(
                Provision(
                    "GDPR (EU) 2016/679",
                    "Art. 8",
                    "The session was marked as using a child's account. Where consent is the basis for an "
                    "information society service offered to a child, Art. 8 sets conditions on it.",
                )
            )
        if finding.jurisdiction in ("third-country", "unknown"):
            where = (
                f"a server located in {finding.country}"
                if finding.country != "unknown"
                else "a server whose location could not be established"
            )
            out.append(
                Provision(
                    "GDPR (EU) 2016/679",
                    "Art. 44-49",
                    f"Data was sent to {where} (jurisdiction: {finding.jurisdiction}). A transfer to a "
                    "third country needs an adequacy decision, appropriate safeguards or a derogation.",
                )
            )
    return out


# -- building -----------------------------------------------------------------------------------------


@dataclass
class _Group:
    data_type: str
    entity: str
    country: str
    phase: str
    dests: list[_Dest] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)
    flows: dict[str, float] = field(default_factory=dict)  # flow id -> t
    detections: list[tuple[float, str, Any]] = field(default_factory=list)  # (t, flow id, row)


def build_findings(
    tables: Any,
    session_meta: Mapping[str, Any],
    *,
    canaries: Sequence[Canary] = (),
    tls_failures: Sequence[Mapping[str, Any]] = (),
    flow_hashes: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[Finding], Coverage]:
    """Turn the tables into findings and the coverage statement.

    `tables` is any object (or mapping) holding `flows`, `hook_events`, `detections`, `destinations`
    and `packets` DataFrames with the columns of `analysis.schema`. `session_meta` is session.json.
    `canaries` link hook events to transmitted values; `tls_failures` are the lines of
    tls_failures.jsonl; `flow_hashes` maps a flow id to its custody record (`flow_custody`).
    Findings come back in a stable order: transmissions, then accesses, each by data type, entity,
    country, phase.
    """
    flows = table(tables, "flows", FLOWS)
    detections = table(tables, "detections", DETECTIONS)
    hooks_df = table(tables, "hook_events", HOOK_EVENTS)
    dests = _destinations(table(tables, "destinations", DESTINATIONS))
    packets = table(tables, "packets", PACKETS)
    marks = [m for m in (session_meta.get("marks") or []) if isinstance(m, Mapping)]
    transitions = consent_transitions(marks)
    child = any("child" in str(m.get("label", "")).lower() for m in marks)
    hashes = flow_hashes or {}

    # Column lists, not itertuples: a 100k-flow session must stay well inside a minute.
    fl_ids = [str(x) for x in _pylist(flows["flow_id"])]
    fl_t = _epochs(flows["t_request"])
    fl_host = [
        (h or sn or "").lower() for h, sn in zip(_texts(flows["host"]), _texts(flows["sni"]), strict=True)
    ]
    fl_ip = _texts(flows["server_ip"])
    flow_index = {fid: i for i, fid in enumerate(fl_ids)}

    def flow_row(fid: str) -> Any:
        i = flow_index.get(fid)
        return (
            None if i is None else SimpleNamespace(**{str(k): v for k, v in flows.iloc[i].to_dict().items()})
        )

    hooks = _hooks(hooks_df)
    hooks_by_seq = {h.seq: h for h in hooks}
    groups: dict[tuple[str, str, str, str], _Group] = {}
    dest_key: dict[tuple[str, str | None], tuple[_Dest | None, str, str]] = {}

    dc = _columns(detections, DETECTIONS.names)
    for k in range(len(detections)):
        d = SimpleNamespace(**{n: dc[n][k] for n in DETECTIONS.names})
        fid = str(d.flow_id)
        dtype = _text(d.data_type) or "unknown"
        i = flow_index.get(fid)
        if i is not None:
            t = fl_t[i]
            host = fl_host[i]
            cached = dest_key.get((host, fl_ip[i]))
            if cached is None:
                dest = dests.get(host)
                cached = dest_key[(host, fl_ip[i])] = (
                    dest,
                    dest.entity if dest else (host or "unknown"),
                    _country(dest, fl_ip[i]),
                )
            dest, entity, country = cached
        elif fid.startswith("hook:") and fid[5:].isdigit() and int(fid[5:]) in hooks_by_seq:
            # Plaintext seen by a Frida hook (e.g. before TLS): the receiver is not known from the hook.
            hk = hooks_by_seq[int(fid[5:])]
            t, host, dest, entity, country = hk.t, "", None, "unknown (seen in plaintext hook)", "unknown"
        else:
            continue
        if t is None:
            continue
        key = (dtype, entity, country, phase_at(t, transitions))
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(*key)
        if dest is not None and dest not in g.dests:
            g.dests.append(dest)
        if host:
            g.hosts.add(host)
        g.flows.setdefault(fid, t)
        g.detections.append((t, fid, d))

    canary_values = {c.id: c.value for c in canaries if c.value}
    findings: list[Finding] = []
    for key in sorted(groups, key=_group_order):
        findings.append(_transmission(groups[key], flow_row, hooks, canary_values, hashes))
    reads = [h for h in hooks if h.category.lower() in ACCESS_CATEGORIES]
    findings.extend(_access_findings(reads, transitions, findings))
    exhibit_no = 0
    for f in findings:
        numbered = []
        for e in f.exhibits:
            exhibit_no += 1
            numbered.append(_renumber(e, exhibit_no))
        f.exhibits = numbered
        f.provisions = provisions_for(f, child)
        f.summary = summary_sentence(f)

    coverage = _coverage(flows, detections, hooks, packets, session_meta, canaries, tls_failures, transitions)
    return findings, coverage


def _phase_rank(phase: str) -> int:
    return PHASES.index(phase) if phase in PHASES else len(PHASES)


def _group_order(key: tuple[str, str, str, str]) -> tuple[str, str, str, int]:
    """Data type, entity, country, then phases in the order they happen (not alphabetically)."""
    return (key[0], key[1], key[2], _phase_rank(key[3]))


def _renumber(e: Exhibit, n: int) -> Exhibit:
    return Exhibit(**{**asdict(e), "ref": f"E-{n}", "request_headers": e.request_headers})


def _transmission(
    g: _Group,
    flow_row: Callable[[str], Any],
    hooks: Sequence[_Hook],
    canary_values: Mapping[str, str],
    hashes: Mapping[str, Mapping[str, Any]],
) -> Finding:
    times = sorted(g.flows.values())
    dets = sorted(g.detections, key=lambda x: (x[0], x[1], str(x[2].detection_id)))
    canary_ids = sorted({str(d.canary_id) for _, _, d in dets if _text(d.canary_id)})
    methods = sorted({str(d.method) for _, _, d in dets if _text(d.method)})
    encodings = sorted({str(d.encoding) for _, _, d in dets if _text(d.encoding)})
    confidence = max((float(d.confidence) for _, _, d in dets if _text(d.confidence)), default=1.0)
    worst = max(g.dests, key=lambda d: JURISDICTION_RANK.get(d.jurisdiction, 2), default=None)
    parent = next((d.parent for d in g.dests if d.parent), None)
    party = worst.party if worst else "unknown"

    # Exhibits: the earliest flows, each with its most confident detection of this data type.
    best: dict[str, tuple[float, str, Any]] = {}
    for item in dets:
        cur = best.get(item[1])
        if cur is None or float(item[2].confidence or 0) > float(cur[2].confidence or 0):
            best[item[1]] = item
    exhibits: list[Exhibit] = []
    for fid, t in sorted(g.flows.items(), key=lambda kv: (kv[1], kv[0]))[:MAX_EXHIBITS]:
        exhibits.append(_exhibit(fid, t, best[fid][2], flow_row(fid), hashes.get(fid)))

    linked, link = _linked_access(
        g.data_type,
        times[-1],
        hooks,
        [canary_values[c] for c in canary_ids if c in canary_values],
        [q for q in (runtime_seq(c) for c in canary_ids) if q is not None],
    )
    access = [_access_event(h, link, _delay(h.t, times)) for h in linked[:MAX_ACCESS_EVENTS]]
    sdk = Counter(h.sdk for h in linked if h.sdk).most_common(1)
    fid_key = short_id("transmission", g.data_type, g.entity, g.country, g.phase)
    return Finding(
        finding_id=f"T-{fid_key}",
        kind="transmission",
        data_type=g.data_type,
        entity=g.entity,
        parent=parent,
        country=g.country,
        jurisdiction=worst.jurisdiction if worst else "unknown",
        party=party,
        hosts=sorted(g.hosts),
        phase=g.phase,
        first_seen=times[0],
        last_seen=times[-1],
        count=len(g.flows),
        flow_ids=[fid for fid, _ in sorted(g.flows.items(), key=lambda kv: (kv[1], kv[0]))],
        access_seqs=[h.seq for h in linked],
        sdk=sdk[0][0] if sdk else None,
        apis=sorted({h.api for h in linked}),
        methods=methods,
        encodings=encodings,
        canary_ids=canary_ids,
        confidence=confidence,
        exhibits=exhibits,
        access=access,
    )


def _exhibit(fid: str, t: float, det: Any, fr: Any, custody: Mapping[str, Any] | None) -> Exhibit:
    """An exhibit from a detection and its flow row (None for plaintext a hook captured)."""
    flow = fr if fr is not None else SimpleNamespace(
        method=None, url=None, host=None, server_ip=None, status=None, http_version=None, via="hook",
        request_headers=None,
    )  # fmt: skip
    return Exhibit(
        ref="",
        flow_id=fid,
        t=t,
        method=_text(flow.method) or "",
        url=_text(flow.url) or "",
        host=_text(flow.host) or "",
        server_ip=_text(flow.server_ip),
        status=_int(flow.status),
        http_version=_text(flow.http_version) or "",
        via=_text(flow.via) or "proxy",
        part=_text(det.part) or "",
        data_type=_text(det.data_type) or "",
        encoding=_text(det.encoding) or "",
        detection_method=_text(det.method) or "",
        confidence=float(det.confidence) if _text(det.confidence) else 1.0,
        canary_id=_text(det.canary_id),
        excerpt=_text(det.excerpt) or "",
        request_headers=_headers(flow.request_headers),
        custody=dict(custody) if custody else None,
    )


def _linked_access(
    data_type: str,
    last: float,
    hooks: Sequence[_Hook],
    values: Sequence[str],
    runtime_seqs: Iterable[int] = (),
) -> tuple[list[_Hook], str]:
    """Hook events that read what the finding sent, up to its last transmission, and the link kind.

    Linked by value (link "value") when the detection's canary is a runtime value of hook event
    `runtime:<kind>:<seq>`, when a hook returned the same text as that event, or when a hook's return
    value or arguments contain a planted value that was sent. Otherwise linked by data type only (link
    "type"), which the report states as the weaker link. `hooks` is sorted by time.
    """
    candidates = hooks[: bisect.bisect_right([h.t for h in hooks], last)]
    seqs = set(runtime_seqs)
    same_ret = {h.ret for h in hooks if h.seq in seqs and h.ret}
    if seqs or values:
        by_value = [
            h
            for h in candidates
            if h.seq in seqs
            or (h.ret and h.ret in same_ret)
            or any(v in h.ret or v in h.args for v in values)
        ]
        if by_value:
            return by_value, "value"
    return [h for h in candidates if h.data_type == data_type], "type"


def _delay(t: float, times: Sequence[float]) -> float | None:
    """Seconds from a read at t to the first transmission at or after it (times sorted)."""
    i = bisect.bisect_left(times, t)
    return None if i == len(times) else round(times[i] - t, 6)


def runtime_seq(canary_id: str) -> int | None:
    """The hook seq of a runtime-value canary id (`runtime:<kind>:<seq>`, see analysis/detect/runtime.py)."""
    parts = canary_id.split(":")
    if len(parts) == 3 and parts[0] == "runtime" and parts[2].isdigit():
        return int(parts[2])
    return None


def _access_findings(
    hooks: Sequence[_Hook], transitions: Sequence[tuple[float, str, str]], transmissions: Sequence[Finding]
) -> list[Finding]:
    groups: dict[tuple[str, str, str], list[_Hook]] = defaultdict(list)
    for h in hooks:
        who = h.sdk or "app (no SDK attributed)"
        groups[(h.data_type, who, phase_at(h.t, transitions))].append(h)
    sent_by_seq: dict[int, list[str]] = defaultdict(list)
    for f in transmissions:
        for s in f.access_seqs:
            sent_by_seq[s].append(f.finding_id)
    out: list[Finding] = []
    for (dtype, who, phase), hs in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], _phase_rank(kv[0][2]))
    ):
        related = sorted({fid for h in hs for fid in sent_by_seq.get(h.seq, [])})
        entity = next((h.entity for h in hs if h.entity), None) or who
        out.append(
            Finding(
                finding_id=f"A-{short_id('access', dtype, who, phase)}",
                kind="access",
                data_type=dtype,
                entity=entity,
                parent=None,
                country="device",
                jurisdiction="device",
                party="device",
                hosts=[],
                phase=phase,
                first_seen=hs[0].t,
                last_seen=hs[-1].t,
                count=len(hs),
                access_seqs=[h.seq for h in hs],
                sdk=None if who.startswith("app (") else who,
                apis=sorted({h.api for h in hs}),
                methods=["hook"],
                access=[_access_event(h, "access", None) for h in hs[:MAX_ACCESS_EVENTS]],
                related=related,
            )
        )
    by_id = {f.finding_id: f for f in transmissions}
    for a in out:
        for fid in a.related:
            by_id[fid].related.append(a.finding_id)
    return out


def summary_sentence(f: Finding) -> str:
    """The finding in one plain sentence (the report's summary)."""
    dtype = f.data_type.replace("_", " ")
    when = {
        PHASE_BEFORE: "before consent",
        PHASE_AFTER: "after consent",
        PHASE_REFUSED: "after consent was refused",
        PHASE_WITHDRAWN: "after consent was withdrawn",
    }.get(f.phase, f.phase)
    times = "once" if f.count == 1 else f"{f.count} times"
    if f.kind == "access":
        sent = " and later sent" if f.related else "; no transmission of it was detected"
        return f"{f.entity} read the {dtype} {times} {when}{sent}."
    where = f.country if f.country != "unknown" else "an unknown country"
    read = ""
    if f.access:
        first = f.access[0]
        read = f", after {first.api} read it"
        if first.delay_s is not None:
            read += f" {first.delay_s:.1f} s earlier"
    return f"The {dtype} was sent to {f.entity} in {where} {times} {when}{read}."


# -- coverage -----------------------------------------------------------------------------------------


def _coverage(
    flows: pd.DataFrame,
    detections: pd.DataFrame,
    hooks: Sequence[_Hook],
    packets: pd.DataFrame,
    meta: Mapping[str, Any],
    canaries: Sequence[Canary],
    tls_failures: Sequence[Mapping[str, Any]],
    transitions: Sequence[tuple[float, str, str]],
) -> Coverage:
    c = Coverage()
    via = flows["via"].fillna("proxy").astype(str) if len(flows) else pd.Series([], dtype=str)
    c.flows_total = len(flows)
    c.flows_pcap_only = int((via == "pcap-only").sum())
    c.flows_decrypted = c.flows_total - c.flows_pcap_only
    c.flows_with_error = int(flows["error"].notna().sum()) if len(flows) else 0

    c.tls_failures = len(tls_failures)
    per_sni = Counter(str(r.get("sni") or r.get("server") or "(no SNI)") for r in tls_failures)
    c.tls_failure_hosts = sorted(per_sni.items(), key=lambda kv: (-kv[1], kv[0]))

    c.pcap_present = len(packets) > 0
    if len(packets):
        proto = packets["proto"].astype(str)
        quic = packets[proto == "quic"]
        c.quic_packets = len(quic)
        c.quic_hosts = sorted({str(s) for s in quic["sni"].dropna()})
        seen = {str(s).lower() for s in flows["sni"].dropna()} | {
            str(s).lower() for s in flows["host"].dropna()
        }
        tls_snis = {str(s).lower() for s in packets[proto == "tls"]["sni"].dropna()}
        c.pcap_tls_hosts_not_decrypted = sorted(tls_snis - seen)

    c.hook_events = len(hooks)
    c.hook_events_attributed = sum(1 for h in hooks if h.sdk)
    attached, failed, recorded = hook_modules(meta.get("frida"))
    c.hook_modules_attached, c.hook_modules_failed, c.frida_recorded = attached, failed, recorded

    found_ids = {str(x) for x in detections["canary_id"].dropna()} if len(detections) else set()
    planted = sorted(x.id for x in canaries if x.source == "planted")
    c.canaries_planted = planted
    c.canaries_found = sorted(i for i in planted if i in found_ids)
    c.canaries_missing = sorted(i for i in planted if i not in found_ids)
    c.detections = len(detections)
    if len(detections):
        c.detections_by_method = dict(
            sorted(Counter(detections["method"].fillna("unknown").astype(str)).items())
        )
    c.consent_marks = [(t, label) for t, label, _ in transitions]

    if not transitions:
        c.notes.append("No consent mark was recorded: every finding is classed as before consent.")
    if not c.pcap_present:
        c.notes.append("No packet capture was analysed: traffic that bypassed the proxy is not covered.")
    if not c.frida_recorded:
        c.notes.append("The session does not record which hook modules attached: access coverage is unknown.")
    if c.flows_pcap_only:
        c.notes.append(
            f"{c.flows_pcap_only} connection(s) were seen only in the pcap; their content is unknown."
        )
    if c.tls_failures:
        c.notes.append(
            f"{c.tls_failures} TLS handshake(s) failed (likely certificate pinning): what they carried is unknown."
        )
    if c.quic_packets:
        c.notes.append(f"{c.quic_packets} QUIC packet(s) were not intercepted: their content is unknown.")
    return c


def hook_modules(frida: Any) -> tuple[list[str], list[tuple[str, str]], bool]:
    """(attached, failed, recorded) from session.json's `frida` key, written by the Frida runner.

    Accepts the runner's `{"summary": {"modules": {name: {"status", "reason"}}}}`,
    `{"modules": {name: "attached" | {"status", "error"}}}`, `{"attached": [...], "failed":
    [...] | {name: error}}`, or a plain `{name: status}` mapping.
    """
    if not isinstance(frida, Mapping):
        return [], [], False
    if isinstance(frida.get("summary"), Mapping):  # analysis/frida_runner.py: {"summary": {"modules": ...}}
        frida = {"modules": frida["summary"].get("modules") or {}}
    attached: set[str] = set()
    failed: dict[str, str] = {}

    def status_of(name: str, v: Any) -> None:
        if isinstance(v, Mapping):
            st = str(v.get("status", "attached" if not v.get("error") else "failed"))
            err = str(v.get("error") or v.get("reason") or "")
        else:
            st, err = str(v), ""
        if st.lower() in ("attached", "ok", "installed", "true"):
            attached.add(name)
        elif st.lower() == "skipped":
            pass  # not selected for this session: neither coverage nor a failure
        else:
            failed[name] = err or st

    if isinstance(frida.get("attached"), list) or "failed" in frida:
        attached.update(str(x) for x in frida.get("attached") or [])
        fl = frida.get("failed") or []
        if isinstance(fl, Mapping):
            failed.update({str(k): str(v) for k, v in fl.items()})
        else:
            for x in fl:
                if isinstance(x, Mapping):
                    failed[str(x.get("module", x.get("name", "?")))] = str(x.get("error", ""))
                else:
                    failed[str(x)] = ""
    else:
        mods = frida.get("modules", frida)
        if isinstance(mods, Mapping):
            for k, v in mods.items():
                status_of(str(k), v)
        elif isinstance(mods, list):
            for m in mods:
                if isinstance(m, Mapping):
                    status_of(str(m.get("name", m.get("module", "?"))), m)
    return sorted(attached), sorted(failed.items()), True


# -- the findings table -------------------------------------------------------------------------------


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """The findings as a DataFrame with the columns of `schema.FINDINGS` (for derived/ and notebooks)."""
    rows = [
        {
            "finding_id": f.finding_id,
            "kind": f.kind,
            "data_type": f.data_type,
            "entity": f.entity,
            "country": f.country,
            "phase": f.phase,
            "first_seen": f.first_seen,
            "last_seen": f.last_seen,
            "count": f.count,
            "flow_ids": f.flow_ids,
            "access_seqs": f.access_seqs,
            "sdk": f.sdk,
        }
        for f in findings
    ]
    return frame_from_rows(FINDINGS, rows)


def flow_destinations(tables: Any) -> pd.DataFrame:
    """One row per flow: flow_id, t, host, entity, country, jurisdiction, bytes sent, via.

    The same attribution the findings use (entity from `destinations`, country of the server IP the
    flow used), as a frame for charts and notebooks.
    """
    flows = table(tables, "flows", FLOWS)
    dests = _destinations(table(tables, "destinations", DESTINATIONS))
    hosts = [
        (h or sn or "").lower() for h, sn in zip(_texts(flows["host"]), _texts(flows["sni"]), strict=True)
    ]
    ips = _texts(flows["server_ip"])
    attributed: dict[tuple[str, str | None], tuple[str, str, str]] = {}
    entity, country, jurisdiction = [], [], []
    for host, ip in zip(hosts, ips, strict=True):
        a = attributed.get((host, ip))
        if a is None:
            dest = dests.get(host)
            a = attributed[(host, ip)] = (
                dest.entity if dest else (host or "unknown"),
                _country(dest, ip),
                dest.jurisdiction if dest else "unknown",
            )
        entity.append(a[0])
        country.append(a[1])
        jurisdiction.append(a[2])
    return pd.DataFrame(
        {
            "flow_id": [str(x) for x in _pylist(flows["flow_id"])],
            "t": _epochs(flows["t_request"]),
            "host": [h or "unknown" for h in hosts],
            "entity": entity,
            "country": country,
            "jurisdiction": jurisdiction,
            "bytes_sent": [_int(x) or 0 for x in _pylist(flows["request_body_size"])],
            "via": [v or "proxy" for v in _texts(flows["via"])],
        },
        columns=["flow_id", "t", "host", "entity", "country", "jurisdiction", "bytes_sent", "via"],
    )


def session_findings(session: Session, tables: Any) -> tuple[list[Finding], Coverage]:
    """`build_findings` with what it needs read from the session folder (meta, canaries, custody)."""
    custody = session.path / CUSTODY
    return build_findings(
        tables,
        session.meta,
        canaries=session.canaries(),
        tls_failures=read_jsonl_records(session.path / TLS_FAILURES_JSONL),
        flow_hashes=flow_custody(custody.read_bytes().splitlines() if custody.exists() else []),
    )
