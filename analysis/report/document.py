"""The report's content, built once: a plain JSON-able document every export renders.

`build_document` turns findings, coverage, session.json, seal.json and the validation score into one
dict (the body of findings.json). HTML, PDF and DOCX render this same dict, so the exports cannot
disagree, and redaction is applied to it once (`redact_document`) before anything is written.

Determinism: nothing here reads the clock; lists are sorted by stable keys; times are written both as
epoch seconds and as UTC ISO text derived from them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import is_dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.findings import Coverage
from analysis.findings import Finding
from analysis.findings import epoch
from analysis.findings.frames import frame_rows
from analysis.report.redact import redact_headers
from analysis.report.redact import redact_segments
from analysis.report.redact import redact_text
from analysis.schema import DESTINATIONS
from analysis.schema import SCHEMA_VERSION
from analysis.session.custody import sha256_file
from analysis.session.provenance import channels as provenance_channels
from analysis.session.provenance import limits as provenance_limits
from analysis.session.provenance import methodology as provenance_methodology

FORMAT = "privlab-findings"
VERSION = "1.0"

MATCH_OPEN = "«"
MATCH_CLOSE = "»"

# Bidirectional-text controls ("Trojan Source" characters). Shown raw, U+202E makes the rest of a line read
# right to left, so a captured value would read differently from its bytes (`invoice\u202efdp.exe` shows
# as `invoiceexe.pdf`). Every rendered format (HTML, PDF, DOCX) shows each as a visible `<U+202E>`;
# findings.json keeps the exact value.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(text: str) -> str:
    """`text` with every bidirectional control shown as its code point, e.g. `<U+202E>`."""
    return BIDI_CONTROLS.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


# Terms the report uses, defined once for the HTML, PDF and DOCX glossary.
GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "Access",
        "The app reading information on the device (clipboard, identifiers, location…), recorded by a Frida hook.",
    ),
    (
        "Canary",
        "A known value planted on the device (or read from it) so that it can be recognised in traffic in any encoding.",
    ),
    ("Consent phase", "Whether an event happened before or after the consent mark the operator recorded."),
    (
        "Custody chain",
        "A hash chain written while capturing: each record holds the sha256 of the bytes written and of the previous record, so any later change is detectable.",
    ),
    ("Entity / parent", "The company that runs a host, and the company that owns it."),
    (
        "Exhibit",
        "One recorded flow that proves a finding, with the part of the message and the matched excerpt.",
    ),
    (
        "Encoding chain",
        "How the value was wrapped on the wire, outermost first, e.g. gzip>json>base64>sha256.",
    ),
    ("Flow", "One HTTP request and its response."),
    (
        "Jurisdiction",
        "EEA, a country with an adequacy decision, or a third country, from where the server IP is located.",
    ),
    ("Pattern detection", "A value recognised by its shape alone (no known value): lower confidence."),
    (
        "Pinning",
        "An app refusing the lab's certificate: that connection's content cannot be recorded; it is counted in coverage.",
    ),
    ("QUIC", "HTTP/3 over UDP; the proxy did not intercept it, so its content is unknown."),
    (
        "Seal",
        "seal.json: every evidence file's sha256 and size, the chain head and optionally an ed25519 signature.",
    ),
    ("SDK", "A library inside the app, identified from the Java stack of the call."),
)


def iso(t: float | None) -> str | None:
    """Epoch seconds as UTC ISO 8601 text with milliseconds."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def split_excerpt(excerpt: str) -> list[tuple[str, bool]]:
    """An excerpt `…ctx«match»ctx…` as (text, is_match) segments (the detection engine marks matches)."""
    out: list[tuple[str, bool]] = []
    rest = excerpt
    while rest:
        i = rest.find(MATCH_OPEN)
        j = rest.find(MATCH_CLOSE, i + 1) if i >= 0 else -1
        if i < 0 or j < 0:
            out.append((rest, False))
            break
        if i:
            out.append((rest[:i], False))
        out.append((rest[i + 1 : j], True))
        rest = rest[j + 1 :]
    return out


def _plain(v: Any) -> Any:
    """Dataclasses, tuples and numpy scalars as JSON-able values."""
    if is_dataclass(v) and not isinstance(v, type):
        return _plain(asdict(v))
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        return v.item()
    return v


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "finding_id": f.finding_id,
        "kind": f.kind,
        "data_type": f.data_type,
        "entity": f.entity,
        "parent": f.parent,
        "country": f.country,
        "jurisdiction": f.jurisdiction,
        "party": f.party,
        "hosts": list(f.hosts),
        "phase": f.phase,
        "first_seen": f.first_seen,
        "first_seen_utc": iso(f.first_seen),
        "last_seen": f.last_seen,
        "last_seen_utc": iso(f.last_seen),
        "count": f.count,
        "flow_ids": list(f.flow_ids),
        "access_seqs": list(f.access_seqs),
        "sdk": f.sdk,
        "apis": list(f.apis),
        "methods": list(f.methods),
        "encodings": list(f.encodings),
        "canary_ids": list(f.canary_ids),
        "confidence": f.confidence,
        "summary": f.summary,
        "related": list(f.related),
        "provisions": [_plain(p) for p in f.provisions],
        "exhibits": [
            {
                "ref": e.ref,
                "flow_id": e.flow_id,
                "t": e.t,
                "time_utc": iso(e.t),
                "method": e.method,
                "url": e.url,
                "host": e.host,
                "server_ip": e.server_ip,
                "status": e.status,
                "http_version": e.http_version,
                "via": e.via,
                "part": e.part,
                "data_type": e.data_type,
                "encoding": e.encoding,
                "detection_method": e.detection_method,
                "confidence": e.confidence,
                "canary_id": e.canary_id,
                "excerpt": [{"text": t, "match": m} for t, m in split_excerpt(e.excerpt)],
                "request_headers": [{"name": n, "value": v} for n, v in e.request_headers],
                "custody": _plain(e.custody) if e.custody else None,
            }
            for e in f.exhibits
        ],
        "access": [
            {
                "seq": a.seq,
                "t": a.t,
                "time_utc": iso(a.t),
                "api": a.api,
                "category": a.category,
                "data_type": a.data_type,
                "sdk": a.sdk,
                "entity": a.entity,
                "value": a.value,
                "stack_top": list(a.stack_top),
                "link": a.link,
                "delay_s": a.delay_s,
            }
            for a in f.access
        ],
    }


def _session(meta: Mapping[str, Any]) -> dict[str, Any]:
    rows = sorted(
        (m for m in meta.get("marks") or [] if isinstance(m, Mapping)),
        key=lambda m: (epoch(m.get("t")) or 0.0, str(m.get("label", ""))),
    )
    marks = [
        {
            "t": epoch(m.get("t")),
            "label": str(m.get("label", "")),
            "time_utc": iso(epoch(m.get("t"))),
            # An analyst's mark added after the capture is an assertion, shown as one (provenance.analyst_mark).
            "by": str(m.get("by") or "operator"),
            "asserted_utc": iso(epoch(m.get("asserted_at"))),
            "note": str(m.get("note") or ""),
            # A mark added after the seal lives beside it (annotations.jsonl), not in sealed session.json.
            "recorded_in": str(m.get("recorded_in") or ""),
        }
        for m in rows
    ]
    return {
        "id": meta.get("id"),
        "name": meta.get("name"),
        "status": meta.get("status"),
        "status_reason": meta.get("status_reason"),
        "mode": meta.get("mode"),
        "created": meta.get("created"),
        "created_utc": iso(epoch(meta.get("created"))),
        "ended": meta.get("ended"),
        "ended_utc": iso(epoch(meta.get("ended"))),
        "app": _plain(meta.get("app") or {}),
        "device": _plain(meta.get("device") or {}),
        "tools": _plain(meta.get("tools") or {}),
        "note": meta.get("note") or "",
        "marks": marks,
        # What the evidence holds (imports: session.json's provenance record; captures: the recorders that ran).
        "channels": _plain(asdict(provenance_channels(meta))),
        "provenance_methodology": provenance_methodology(meta),
        "provenance_limits": provenance_limits(meta),
    }


def _destinations(df: pd.DataFrame, flow_dest: pd.DataFrame) -> list[dict[str, Any]]:
    counts: dict[str, list[int]] = {}
    for host, size in zip(flow_dest["host"].tolist(), flow_dest["bytes_sent"].tolist(), strict=True):
        c = counts.setdefault(str(host), [0, 0])
        c[0] += 1
        c[1] += int(size)
    out: list[dict[str, Any]] = []
    for r in frame_rows(df, DESTINATIONS):  # plain values: None for a missing cell, lists as lists
        host = str(r["host"]).lower()
        n_flows, n_bytes = counts.get(host, [0, 0])
        # The destinations table's own count when it has one: it adds what the device sent on
        # connections seen only in the pcap, so the report and `privlab destinations` agree.
        table_sent = r.get("bytes_sent")
        if table_sent is not None:
            n_bytes = int(table_sent)
        out.append(
            {
                "host": host,
                **{k: r[k] for k in ("etld1", "entity", "parent", "hq_country", "party", "category")},
                "party_reason": r.get("party_reason"),
                "ips": [str(x) for x in r["ips"] or []],
                "ip_countries": [str(x) for x in r["ip_countries"] or []],
                "asn": [str(x) for x in r["asn"] or []],
                "jurisdiction": r["jurisdiction"],
                "flows": n_flows,
                "bytes_sent": n_bytes,
            }
        )
    # Hosts the flows reached that the destinations table does not attribute are listed too: a
    # recipient must never drop out of the report because its attribution is missing.
    listed = {d["host"] for d in out}
    for host in sorted(set(counts) - listed - {"unknown"}):
        out.append(
            {
                "host": host,
                "etld1": None,
                "entity": None,
                "parent": None,
                "hq_country": None,
                "party": "unknown",
                "category": None,
                "ips": [],
                "ip_countries": [],
                "asn": [],
                "jurisdiction": "unknown",
                "flows": counts[host][0],
                "bytes_sent": counts[host][1],
            }
        )
    return sorted(out, key=lambda d: (str(d["entity"] or ""), d["host"]))


def integrity(session_path: Path, seal: Mapping[str, Any] | None) -> dict[str, Any]:
    """The seal's statements, each file re-hashed now, and the signature checked."""
    from analysis.session.standing import standing  # the verdict the report states on its first page

    if not seal:
        return {"sealed": False, "files": [], "chain_head": None, "seal_sha256": None, "signature": None,
                "timestamp": None, "standing": standing(session_path)}  # fmt: skip
    files = []
    for name, info in sorted((seal.get("files") or {}).items()):
        p = session_path / name
        now = sha256_file(p) if p.is_file() else None
        files.append(
            {
                "name": name,
                "sha256": info.get("sha256"),
                "size": info.get("size"),
                "matches": now == info.get("sha256"),
            }
        )
    sig = seal.get("signature")
    signature: dict[str, Any] | None = None
    if isinstance(sig, Mapping):
        from analysis.session.seal import verify_signature  # the one definition of what the signature covers

        valid, pub = verify_signature(dict(seal))
        signature = {"alg": sig.get("alg"), "public_key": pub, "valid": valid}
    from analysis.session.timestamp import describe as timestamp_line  # the seal's RFC 3161 token, if any

    return {
        "sealed": True,
        "timestamp": timestamp_line(session_path, seal.get("seal_sha256")),
        "status": seal.get("status"),
        "sealed_at_utc": iso(epoch(seal.get("sealed_at"))),
        "files": files,
        "chain_head": _plain(seal.get("chain_head")),
        "seal_sha256": seal.get("seal_sha256"),
        "signature": signature,
        "standing": standing(session_path),
    }


def validation_dict(validation: Any) -> dict[str, Any] | None:
    """The validation score as a plain dict (accepts a dict, a dataclass or an object with to_dict)."""
    if validation is None:
        return None
    if hasattr(validation, "to_dict"):
        return dict(_plain(validation.to_dict()))
    if is_dataclass(validation) and not isinstance(validation, type):
        return dict(_plain(asdict(validation)))
    if isinstance(validation, Mapping):
        return dict(_plain(validation))
    raise TypeError(f"validation: expected a mapping or dataclass, got {type(validation).__name__}")


def build_document(
    findings: Sequence[Finding],
    coverage: Coverage,
    session_meta: Mapping[str, Any],
    destinations: pd.DataFrame,
    flow_dest: pd.DataFrame,
    integrity_doc: Mapping[str, Any],
    *,
    redacted: bool = True,
    validation: Any = None,
    charts: Sequence[str] = (),
    generator: str = "privlab",
    capability: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The whole report as one JSON-able dict (the findings.json body); see docs/findings-json.md."""
    fs = [_finding(f) for f in findings]
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "schema_version": SCHEMA_VERSION,
        "generator": generator,
        "redacted": redacted,
        "session": _session(session_meta),
        "validation": validation_dict(validation),
        "summary": [{"finding_id": f["finding_id"], "kind": f["kind"], "sentence": f["summary"]} for f in fs],
        "findings": fs,
        "destinations": _destinations(destinations, flow_dest),
        "coverage": _plain(coverage.to_dict()),
        "integrity": _plain(dict(integrity_doc)),
        "charts": list(charts),
        "capability": [_plain(dict(r)) for r in capability] if capability is not None else None,
    }
    return redact_document(doc) if redacted else doc


def redact_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document with credentials in captured fields redacted (see `redact.py`)."""
    out = copy.deepcopy(doc)
    for f in out["findings"]:
        for e in f["exhibits"]:
            e["url"] = redact_text(e["url"])
            e["request_headers"] = [
                {"name": n, "value": v}
                for n, v in redact_headers((h["name"], h["value"]) for h in e["request_headers"])
            ]
            segs = redact_segments((s["text"], s["match"]) for s in e["excerpt"])
            e["excerpt"] = [{"text": t, "match": m} for t, m in segs]
        for a in f["access"]:
            a["value"] = redact_text(a["value"])
    return out


def timeline_events(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Phase marks, first reads and first transmissions in time order (the report's timeline table)."""
    events: list[tuple[float, int, str]] = []
    for m in doc["session"]["marks"]:
        if m["t"] is not None:
            events.append((m["t"], 0, f"phase mark: {m['label']}"))
    for f in doc["findings"]:
        dtype = f["data_type"].replace("_", " ")
        if f["kind"] == "access":
            events.append(
                (f["first_seen"], 1, f"first read of the {dtype} by {f['entity']} ({f['finding_id']})")
            )
        else:
            events.append(
                (
                    f["first_seen"],
                    2,
                    f"first transmission of the {dtype} to {f['entity']} ({f['finding_id']})",
                )
            )
    return [{"t": t, "time_utc": iso(t), "text": text} for t, _, text in sorted(events)]


# How the stored validation record (analysis/validation/measure.py `validation_record`) is shown.
_VALIDATION_TITLES = {
    "by_data_type": ("Per data type", "data type"),
    "by_encoding": ("Per encoding chain", "encoding"),
    "by_step": ("Per encoding step", "step"),
    "missed": ("Planted parts the method missed", "#"),
    "decoys_reported": ("Decoys the method wrongly reported", "#"),
}
_VALIDATION_COLUMNS = ("planted", "found", "recall", "decoys", "decoys_reported", "false_positive_rate")
_VALIDATION_SKIP = frozenset({"format", "tools"})


def validation_view(validation: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The stored validation record as tables and facts for display, every number as recorded.

    Mappings of mappings (per data type, per encoding chain, per step) and lists of records (missed
    parts, reported decoys) become tables; other values become facts. Nothing is computed or dropped
    except the record's format tag and tool versions.
    """
    if validation is None:
        return None
    tables: list[dict[str, Any]] = []
    scalars: list[tuple[str, str]] = []

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return "" if v is None else str(v)

    def ordered(cols: set[str]) -> list[str]:
        known = [c for c in _VALIDATION_COLUMNS if c in cols]
        return known + sorted(cols - set(known))

    for key in sorted(validation):
        v = validation[key]
        title, label = _VALIDATION_TITLES.get(
            key, (key.replace("_", " ").capitalize(), key.replace("_", " "))
        )
        if key in _VALIDATION_SKIP:
            continue
        if isinstance(v, Mapping) and v and all(isinstance(x, Mapping) for x in v.values()):
            columns = ordered({c for x in v.values() for c in x if not isinstance(x[c], Mapping | list)})
            rows = [{"key": str(k), "cells": [fmt(v[k].get(c)) for c in columns]} for k in sorted(v, key=str)]
            tables.append({"title": title, "key": label, "columns": columns, "rows": rows})
        elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
            columns = ordered({c for x in v for c in x})
            rows = [{"key": str(i), "cells": [fmt(x.get(c)) for c in columns]} for i, x in enumerate(v, 1)]
            tables.append({"title": title, "key": label, "columns": columns, "rows": rows})
        elif isinstance(v, Mapping):
            scalars.extend((f"{key} {k}", fmt(x)) for k, x in sorted(v.items(), key=lambda kv: str(kv[0])))
        elif key == "measured_at" and isinstance(v, int | float):
            scalars.append((key, iso(float(v)) or ""))
        elif isinstance(v, list):
            scalars.append((key, ", ".join(fmt(x) for x in v) or "none"))
        else:
            scalars.append((key, fmt(v)))
    return {"tables": tables, "scalars": scalars}


def filter_options(doc: Mapping[str, Any]) -> dict[str, list[str]]:
    """Distinct values of the filterable finding fields, sorted."""
    return {k: sorted({str(f[k]) for f in doc["findings"]}) for k in ("kind", "data_type", "entity", "phase")}
