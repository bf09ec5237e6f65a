"""Measure the method: score a control-app session's detections against its own ground truth.

`privlab validate` captures the control app afresh, analyses it, scores it and stores the numbers in
`captures/validation.json`; reports quote that file in their methodology. Any session that carries a
`ground_truth.json` (every control-app session does) can be scored the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from analysis.analyze.load import load_session
from analysis.detect.detector import Detector
from analysis.detect.score import Counts
from analysis.detect.score import ValidationScore
from analysis.detect.score import score
from analysis.errors import PrivlabError
from analysis.schema import PROBE_HEADER
from analysis.schema import FlowRecord
from analysis.schema import PlantedPart
from analysis.session import Session
from analysis.validation.planted import FORM_CANARIES
from analysis.validation.planted import FORM_CASES
from analysis.validation.planted import FormCase
from analysis.validation.run import GROUND_TRUTH
from analysis.validation.run import TWIN_READS

VALIDATION_FORMAT = 1
DEFAULT_VALIDATION = Path("captures") / "validation.json"


def load_ground_truth(session_path: Path) -> list[PlantedPart] | None:
    """The session's ground truth, or None when it has none (not a control-app session)."""
    path = session_path / GROUND_TRUTH
    if not path.exists():
        return None
    try:
        return [PlantedPart.from_dict(d) for d in json.loads(path.read_text())]
    except (ValueError, TypeError) as e:
        raise PrivlabError(f"{path}: not a ground-truth list ({e})") from None


def score_session(session_path: Path) -> ValidationScore | None:
    """Score a session's detections against its ground truth (None without ground truth)."""
    truth = load_ground_truth(session_path)
    if truth is None:
        return None
    tables = load_session(session_path)
    return score(tables.detections, truth, tables.flows)


def _frames(value: Any) -> list[Any]:
    """A list-valued cell (stack frames, seqs) as a list; missing is empty."""
    return [] if value is None else list(value)


def access_recall(session_path: Path) -> dict[str, Any] | None:
    """Planted reads found by the hooks, and linked to a transmission, out of those the twin app made.

    None for a session without `twin_reads.json` (only the JVM twin app records its reads). A read is
    found when a hook event of the same API has the reading class on its Java stack (`value_seen` counts
    those whose recorded result holds the planted value); linked when a transmission finding names that
    event among its reads.
    """
    path = session_path / TWIN_READS
    if not path.exists():
        return None
    try:
        reads = json.loads(path.read_text())
    except ValueError as e:
        raise PrivlabError(f"{path}: not a reads list ({e})") from None
    values = {c.id: c.value for c in Session.open(session_path).canaries()}
    tables = load_session(session_path)
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in tables.hook_events.to_dict("records")
    ]
    findings = tables.findings
    linked_seqs: set[int] = set()
    if findings is not None and len(findings):
        for seqs in findings[findings["kind"] == "transmission"]["access_seqs"].tolist():
            linked_seqs.update(int(x) for x in _frames(seqs))
    by_type: dict[str, dict[str, int]] = {}
    missed: list[dict[str, Any]] = []
    found = linked = 0
    for read in reads:
        value = values.get(read["canary_id"], "")
        hits = [
            e
            for e in rows
            if e["api"] == read["api"] and any(f"{read['reader']}." in str(f) for f in _frames(e["stack"]))
        ]
        row = by_type.setdefault(read["data_type"], {"made": 0, "found": 0, "value_seen": 0, "linked": 0})
        row["made"] += 1
        if hits:
            found += 1
            row["found"] += 1
        # A query's rows live behind a cursor the hook does not read: there the value is not in the result.
        if value and any(value in str(e["ret"]) for e in hits):
            row["value_seen"] += 1
        if any(int(e["seq"]) in linked_seqs for e in hits):
            linked += 1
            row["linked"] += 1
        if not hits:
            missed.append(read)
    made = len(reads)
    return {
        "made": made,
        "found": found,
        "recall": round(found / made, 4) if made else 0.0,
        "linked": linked,
        "linked_rate": round(linked / made, 4) if made else 0.0,
        "by_data_type": dict(sorted(by_type.items())),
        "missed": missed,
    }


def _counts(c: Counts) -> dict[str, Any]:
    return {
        "planted": c.present,
        "found": c.found,
        "recall": round(c.recall, 4),
        "decoys": c.decoys,
        "decoys_reported": c.decoys_reported,
        "false_positive_rate": round(c.false_positive_rate, 4),
    }


def twin_record(session_path: Path) -> dict[str, Any]:
    """Access recall (and the twin app's own transmission recall) of a JVM twin session, for the record.

    Keys go into the stored validation record next to the control app's numbers, so reports quote them:
    `access` (reads made, found, recall, linked to a transmission), `access_by_data_type`, and
    `twin_transmissions` (the twin app's planted sends found).
    """
    access = access_recall(session_path)
    if access is None:
        raise PrivlabError(f"{session_path / TWIN_READS}: missing; not a twin-app session")
    scored = score_session(session_path)
    out: dict[str, Any] = {
        "access": {k: access[k] for k in ("made", "found", "recall", "linked", "linked_rate")},
        "access_by_data_type": access["by_data_type"],
        "access_missed": access["missed"],
        "twin_session_id": Session.open(session_path).id,
    }
    if scored is not None:
        out["twin_transmissions"] = _counts(scored.total)
    return out


def validation_record(
    result: ValidationScore, session: Session, twin: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The stored form of one validation run (stable key order, no build time beyond the session's own).

    `twin` (from `twin_record`) adds the access recall measured on the JVM device twin.
    """
    return {
        **(twin or {}),
        "format": VALIDATION_FORMAT,
        "session_id": session.id,
        "measured_at": session.meta.get("ended"),
        "tools": session.meta.get("tools", {}),
        "total": _counts(result.total),
        "by_data_type": {k: _counts(v) for k, v in sorted(result.by_data_type.items())},
        "by_encoding": {k: _counts(v) for k, v in sorted(result.by_encoding.items())},
        "by_step": {k: _counts(v) for k, v in sorted(result.by_step.items())},
        "missed": [p.to_dict() for p in result.missed],
        "decoys_reported": [p.to_dict() for p in result.decoys_reported],
        "unplanned_canary_hits": len(result.unplanned),
        "pattern_hits_on_decoys": result.pattern_hits_on_decoys,
        "forms": _forms_record(score_forms()),
    }


def _forms_record(result: ValidationScore) -> dict[str, Any]:
    """The re-written forms' numbers (planted.FORM_CASES), per data type and per encoding chain."""
    return {
        "total": _counts(result.total),
        "by_data_type": {k: _counts(v) for k, v in sorted(result.by_data_type.items())},
        "by_encoding": {k: _counts(v) for k, v in sorted(result.by_encoding.items())},
        "missed": [p.to_dict() for p in result.missed],
        "decoys_reported": [p.to_dict() for p in result.decoys_reported],
    }


def load_validation(path: Path = DEFAULT_VALIDATION) -> dict[str, Any] | None:
    """A stored validation record, or None when the method has not been measured here."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise PrivlabError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("format") != VALIDATION_FORMAT:
        raise PrivlabError(f"{path}: not a privlab validation record")
    return data


# -- the forms real SDKs send, measured without a device -------------------------------------------------


def _form_request(case: FormCase, n: int) -> FlowRecord:
    """The request an SDK would make with this case's text in its container (built, not captured)."""
    sent = case.sent
    if sent.startswith("sha256:"):
        sent = hashlib.sha256(sent.removeprefix("sha256:").encode()).hexdigest()
    host, path, query, body = "sdk.example", "/collect", "", b""
    headers: list[tuple[str, str]] = [(PROBE_HEADER, f"form-{n}")]
    if case.container == "json":
        body = json.dumps({"v": 1, "field": sent}).encode()
        headers.append(("content-type", "application/json"))
    elif case.container == "form":
        body = f"v=1&field={quote(sent)}".encode()
        headers.append(("content-type", "application/x-www-form-urlencoded"))
    elif case.container == "query":
        query = f"v=1&field={quote(sent)}"
    elif case.container == "json-url-key":
        body = json.dumps({"field": {f"https://cdn.example/r?u={quote(sent)}": {"d": 3}}}).encode()
    elif case.container == "form-json":
        body = f"field={quote(json.dumps({'id': sent}))}".encode()
        headers.append(("content-type", "application/x-www-form-urlencoded"))
    elif case.container == "firebase":
        host, path = "app-measurement.com", "/a"
        body = _pb(1, _pb(27, sent.encode()) + _pb(8, b"android"))
        headers.append(("content-type", "application/x-www-form-urlencoded"))
    elif case.container == "multipart":
        boundary = "----WebKitFormBoundaryPrivLab7Q"
        section = gzip.compress(json.dumps({"id": sent}).encode())
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="field"\r\nContent-Encoding: gzip\r\n'
                "Content-Type: application/json\r\n\r\n"
            ).encode()
            + section
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers.append(("content-type", f"multipart/form-data; boundary={boundary}"))
    else:
        raise ValueError(f"unknown container {case.container!r}")
    url = f"https://{host}{path}" + (f"?{query}" if query else "")
    return FlowRecord(
        f"form-{n}", float(n), None, "", None, None, None, host, "https", "HTTP/1.1", "POST", url, path, query,
        200, headers, [], len(body), 0, None, None, request_body=body,
    )  # fmt: skip


def _pb(field_no: int, data: bytes) -> bytes:
    key, length = field_no << 3 | 2, len(data)
    out = bytearray()
    for n in (key, length):
        while n > 0x7F:
            out.append(n & 0x7F | 0x80)
            n >>= 7
        out.append(n)
    return bytes(out) + data


def _form_part(case: FormCase) -> str:
    return {
        "json": "body:field",
        "form": "body:form:field",
        "query": "query:field",
        "json-url-key": f'body:field["https://cdn.example/r?u={quote(case.sent)}"]',
        "form-json": "body:form:field",
        "firebase": "body:protobuf:bundle.resettable_device_id",
        "multipart": "body:multipart:field",
    }[case.container]


_DETECTION_COLUMNS = ("detection_id", "flow_id", "part", "data_type", "canary_id", "encoding", "method",
                      "confidence", "excerpt")  # fmt: skip


def score_forms() -> ValidationScore:
    """Recall and decoys on `planted.FORM_CASES`: the re-written forms, each in an SDK's container."""
    detector = Detector(list(FORM_CANARIES))
    rows: list[dict[str, Any]] = []
    truth: list[PlantedPart] = []
    for n, case in enumerate(FORM_CASES):
        probe = f"form-{n}"
        kind = next(c.kind for c in FORM_CANARIES if c.id == case.canary_id)
        truth.append(
            PlantedPart(probe, case.canary_id, kind, _form_part(case), case.encoding, case.expect, case.sent)
        )
        for d in detector.flow(_form_request(case, n)).detections:
            rows.append({**asdict(d), "probe": probe})
    return score(pd.DataFrame(rows, columns=[*_DETECTION_COLUMNS, "probe"]), truth)
