"""Per request, what privlab could and could not see through ByteDance's own layer (`bytedance_layers`).

One row per request that goes to a ByteDance host or carries a ByteDance layer (a ttEncrypt body, a
signature header): its endpoint purpose, whether its body was ttEncrypt'd and decrypted, which signature
headers were decoded and which stayed opaque, and whether its payload stayed opaque (encrypted bytes no
public algorithm opens, e.g. the security SDK's reports). The coverage statement is built from these rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pandas as pd

from analysis.attribute.bytedance_endpoints import EndpointMap
from analysis.attribute.bytedance_endpoints import default_endpoints
from analysis.attribute.bytedance_endpoints import is_bytedance_host
from analysis.attribute.bytedance_endpoints import unknown_paths
from analysis.decode.bytedance import SIGNATURE_HEADERS
from analysis.decode.bytedance import signature_headers
from analysis.decode.content_encoding import decompress
from analysis.decode.content_encoding import parse_content_encoding
from analysis.decode.content_encoding import sniff_compression
from analysis.decode.limits import DecodeFailure
from analysis.decode.limits import DecodeLimits
from analysis.decode.protobuf import parse_message
from analysis.decode.text import is_printable_text
from analysis.decode.ttencrypt import TTEncryptError
from analysis.decode.ttencrypt import announced
from analysis.decode.ttencrypt import decrypt
from analysis.decode.ttencrypt import is_ttencrypted
from analysis.schema import FlowRecord


@dataclass
class LayerRow:
    """One row of `bytedance_layers`."""

    flow_id: str
    host: str
    path: str
    purpose: str | None
    ttencrypt: str | None  # decrypted | failed | announced-without-magic | None (not ttEncrypt'd)
    ttencrypt_detail: str | None
    signatures_decoded: list[str] = field(default_factory=list)  # "x-khronos: time 1700000000"
    signatures_opaque: list[str] = field(default_factory=list)  # "x-helios: no public algorithm ..."
    opaque: str | None = None  # why the payload stayed unreadable, None when it was read


def _unwrap(rec: FlowRecord, limits: DecodeLimits) -> tuple[bytes, str | None, str | None]:
    """The body under its content-codings, ttEncrypt and gzip; with the ttEncrypt status and detail."""
    data = rec.request_body
    coding = next((v for k, v in rec.request_headers if k.lower() == "content-encoding"), None)
    try:
        for c in reversed(parse_content_encoding(coding)):
            data = decompress(data, c, limits)
    except DecodeFailure:
        return data, None, None
    ctype = next((v for k, v in rec.request_headers if k.lower() == "content-type"), None)
    status = detail = None
    if is_ttencrypted(data):
        try:
            data = decrypt(data).payload
            status = "decrypted"
        except TTEncryptError as e:
            return data, "failed", str(e)
    elif data and announced(rec.query, ctype):
        status, detail = "announced-without-magic", f"tt_data=a but the body starts with {data[:6].hex()}"
    sniffed = sniff_compression(data)
    if sniffed:
        try:
            data = decompress(data, sniffed, limits)
        except DecodeFailure as e:
            detail = f"{sniffed}: {e.detail}"
    return data, status, detail


def _opaque(data: bytes, purpose: str | None, status: str | None) -> str | None:
    """Why a body's content stayed unreadable, None when it is text, JSON, form or a protobuf."""
    if not data:
        return None
    if status == "failed":
        return "ttEncrypt body that did not decrypt"
    head = data[:4096]
    if is_printable_text(head, 0.9):
        return None
    if parse_message(data[:65536], 4):
        return None
    what = (
        "security SDK report (encrypted, no public algorithm)" if purpose == "security fingerprint" else None
    )
    return what or f"{len(data)} bytes of binary that no decoder opened"


def flow_layers(
    rec: FlowRecord, endpoints: EndpointMap | None = None, limits: DecodeLimits | None = None
) -> LayerRow | None:
    """The row for one request, or None when it neither goes to ByteDance nor carries a ByteDance layer."""
    sigs = signature_headers(rec.request_headers, rec.query)
    bytedance = is_bytedance_host(rec.host or rec.sni)
    if not bytedance and not sigs and not is_ttencrypted(rec.request_body):
        return None
    emap = endpoints or default_endpoints()
    ep = emap.purpose_of(rec.host, rec.path) if bytedance else None
    purpose = ep.purpose if ep else None
    data, status, detail = _unwrap(rec, limits or DecodeLimits())
    return LayerRow(
        flow_id=rec.flow_id,
        host=(rec.host or rec.sni or "").lower(),
        path=rec.path or "/",
        purpose=purpose,
        ttencrypt=status,
        ttencrypt_detail=detail,
        signatures_decoded=[f"{s.name}: {s.detail}" for s in sigs if s.decoded],
        signatures_opaque=[f"{s.name}: {s.detail}" for s in sigs if not s.decoded],
        opaque=_opaque(data, purpose, status),
    )


def coverage_notes(layers: pd.DataFrame, endpoints: EndpointMap | None = None) -> list[str]:
    """The coverage statement's sentences about ByteDance's layer (none when the session has no such rows)."""
    if layers is None or layers.empty:
        return []
    notes = []
    tt = Counter(str(s) for s in layers["ttencrypt"].tolist() if isinstance(s, str))
    total = sum(tt.values())
    if total:
        line = f"ByteDance layer: {total} request bod{'y was' if total == 1 else 'ies were'} ttEncrypt'd; {tt['decrypted']} decrypted"
        failed = tt["failed"] + tt["announced-without-magic"]
        if failed:
            line += f", {failed} not ({tt['failed']} failed to decrypt, {tt['announced-without-magic']} announced tt_data=a without the ttEncrypt magic)"
        notes.append(line + ".")
    seen: Counter[str] = Counter()
    decoded: Counter[str] = Counter()
    for col, ok in (("signatures_decoded", True), ("signatures_opaque", False)):
        for items in layers[col]:
            for item in list(items) if items is not None else []:
                name = str(item).split(":", 1)[0]
                seen[name] += 1
                decoded[name] += int(ok)
    if seen:
        parts = []
        for name in SIGNATURE_HEADERS:
            if seen[name]:
                what = {"x-khronos": "time read", "x-gorgon": "version read", "x-ladon": "decrypted",
                        "x-argus": "decrypted"}.get(name, "no public algorithm, classified only")  # fmt: skip
                parts.append(f"{_title(name)} {decoded[name]}/{seen[name]} ({what})")
        notes.append("ByteDance signature headers: " + "; ".join(parts) + ".")
    opaque = layers[layers["opaque"].notna()]
    if len(opaque):
        where = Counter(f"{h}{p}" for h, p in zip(opaque["host"], opaque["path"], strict=True))
        listed = ", ".join(f"{k} ({n})" for k, n in sorted(where.items(), key=lambda kv: (-kv[1], kv[0]))[:8])
        reasons = sorted({str(r) for r in opaque["opaque"]})
        notes.append(
            f"{len(opaque)} ByteDance payload(s) stayed opaque ({'; '.join(reasons)[:200]}): {listed}; what they carried is unknown."
        )
    # (`tolist`: read a row at a time, an Arrow-backed column was 5x slower: 0.22 s at 100k rows)
    unknown = unknown_paths(zip(layers["host"].tolist(), layers["path"].tolist(), strict=True), endpoints)
    if unknown:
        listed = ", ".join(f"{h}{p} ({n})" for h, p, n in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        notes.append(f"ByteDance paths with no known purpose: {listed}{more}.")
    return notes


def _title(name: str) -> str:
    return "-".join(w.capitalize() if w != "x" else "X" for w in name.split("-"))


def layers_rows(records: list[FlowRecord]) -> list[dict[str, Any]]:
    """`bytedance_layers` rows for a session's requests (dicts with the schema's columns)."""
    emap = default_endpoints()
    limits = DecodeLimits()
    out = []
    for rec in records:
        row = flow_layers(rec, emap, limits)
        if row is not None:
            out.append(row.__dict__.copy())
    return out
