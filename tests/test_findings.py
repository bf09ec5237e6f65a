"""Findings from tables: grouping, consent phases, read -> sent links, provisions, coverage.

The tables are test fixtures (tests/test_report_fixtures.py), not pipeline results.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from test_report_fixtures import CANARIES
from test_report_fixtures import T0
from test_report_fixtures import make_tables

from analysis.findings import PHASE_AFTER
from analysis.findings import PHASE_BEFORE
from analysis.findings import PHASE_REFUSED
from analysis.findings import PHASE_WITHDRAWN
from analysis.findings import TableSet
from analysis.findings import build_findings
from analysis.findings import consent_transitions
from analysis.findings import findings_frame
from analysis.findings import flow_custody
from analysis.findings import flow_destinations
from analysis.findings import frame_from_rows
from analysis.findings import hook_data_type
from analysis.findings import hook_modules
from analysis.findings import phase_at
from analysis.schema import DETECTIONS
from analysis.schema import FINDINGS
from analysis.schema import HOOK_EVENTS

MARKS = [
    {"t": T0, "label": "app-start"},
    {"t": T0 + 20, "label": "consent-shown"},
    {"t": T0 + 30, "label": "consent-accepted"},
]
TLS = [{"t": T0 + 6, "client": "10.0.2.15:1", "sni": "pinned.tiktokv.com", "error": "x"}] * 2
FRIDA = {"modules": {"clipboard": "attached", "location": {"status": "failed", "error": "class not found"}}}


def _build(tables: TableSet | None = None, marks: list[dict[str, object]] | None = None, **meta: object):
    return build_findings(
        tables or make_tables(),
        {"marks": MARKS if marks is None else marks, "frida": FRIDA, **meta},
        canaries=CANARIES,
        tls_failures=TLS,
    )


def _by(findings, kind, data_type, phase=None):
    return [
        f
        for f in findings
        if f.kind == kind and f.data_type == data_type and (phase is None or f.phase == phase)
    ]


def test_consent_phases_follow_marks_in_time_order() -> None:
    marks = [
        {"t": 50.0, "label": "consent-withdrawn"},
        {"t": 10.0, "label": "consent-accepted"},
        {"t": 5.0, "label": "consent-shown"},
        {"t": 70.0, "label": "Consent declined"},
    ]
    tr = consent_transitions(marks)
    assert [p for _, _, p in tr] == [PHASE_AFTER, PHASE_WITHDRAWN, PHASE_REFUSED]
    assert phase_at(1.0, tr) == PHASE_BEFORE
    assert phase_at(10.0, tr) == PHASE_AFTER  # a mark applies from its own instant
    assert phase_at(60.0, tr) == PHASE_WITHDRAWN
    assert phase_at(80.0, tr) == PHASE_REFUSED
    assert phase_at(99.0, []) == PHASE_BEFORE


def test_one_finding_per_data_type_entity_country_phase() -> None:
    findings, _ = _build()
    tx = [(f.data_type, f.entity, f.country, f.phase, f.count) for f in findings if f.kind == "transmission"]
    assert tx == [
        ("advertising_id", "Meta", "IE", PHASE_AFTER, 1),
        ("android_id", "ByteDance", "SG", PHASE_BEFORE, 1),
        ("android_id", "ByteDance", "SG", PHASE_AFTER, 1),
        ("clipboard", "ByteDance", "SG", PHASE_BEFORE, 1),
    ]
    before = _by(findings, "transmission", "android_id", PHASE_BEFORE)[0]
    assert before.flow_ids == ["f1"] and before.hosts == ["log.tiktokv.com"]
    assert before.jurisdiction == "third-country" and before.parent == "ByteDance Ltd."
    assert before.first_seen == pytest.approx(T0 + 5)
    ex = before.exhibits[0]
    assert ex.part == "query:device_id" and ex.method == "POST" and "device_register" in ex.url
    assert "«a1b2c3d4e5f60718»" in ex.excerpt


def test_summaries_claim_before_consent_only_when_a_consent_mark_was_recorded() -> None:
    findings, _ = _build()
    before = _by(findings, "transmission", "android_id", PHASE_BEFORE)[0]
    assert before.summary.startswith("The android id was sent to ByteDance in SG once before consent")
    unmarked, coverage = _build(marks=[])  # e.g. an imported capture: nobody recorded a consent decision
    assert {f.phase for f in unmarked} == {PHASE_BEFORE}
    assert all("before consent" not in f.summary for f in unmarked)
    assert all("with no consent decision recorded" in f.summary for f in unmarked)
    assert any("No consent mark" in n for n in coverage.notes)


def test_transmission_links_the_read_that_returned_the_sent_value() -> None:
    findings, _ = _build()
    clip = _by(findings, "transmission", "clipboard")[0]
    assert [a.seq for a in clip.access] == [1]
    a = clip.access[0]
    assert a.link == "value" and a.api == "ClipboardManager.getPrimaryClip"
    assert a.delay_s == pytest.approx(3.0)
    assert clip.sdk == "ByteDance AppLog"
    assert "read it 3.0 s earlier" in clip.summary
    # The android_id sent after consent was read (seq 2) 37 s before that transmission.
    after = _by(findings, "transmission", "android_id", PHASE_AFTER)[0]
    assert after.access[0].seq == 2 and after.access[0].delay_s == pytest.approx(37.0)


def test_runtime_value_canary_links_its_hook_event() -> None:
    tables = make_tables()
    det = tables.detections.copy()
    det.loc[det["detection_id"] == "d4", "canary_id"] = "runtime:advertising_id:9"
    hooks = frame_from_rows(
        HOOK_EVENTS,
        [
            {
                "seq": 9,
                "t": T0 + 44,
                "pid": 1,
                "tid": 1,
                "category": "identifiers",
                "api": "AdvertisingIdClient.getAdvertisingIdInfo",
                "args": "[]",
                "ret": '"38400000-x"',
                "stack": [],
            },
            {
                "seq": 10,
                "t": T0 + 44.5,
                "pid": 1,
                "tid": 1,
                "category": "identifiers",
                "api": "AdvertisingIdClient.getAdvertisingIdInfo",
                "args": "[]",
                "ret": '"other"',
                "stack": [],
            },
        ],
    )
    findings, _ = _build(TableSet(tables.flows, hooks, det, tables.destinations, tables.packets))
    ad = _by(findings, "transmission", "advertising_id")[0]
    assert [(a.seq, a.link) for a in ad.access] == [(9, "value")]
    assert ad.access[0].delay_s == pytest.approx(1.0)


def test_without_a_value_link_reads_are_linked_by_data_type_and_say_so() -> None:
    tables = make_tables()
    hooks = frame_from_rows(
        HOOK_EVENTS,
        [
            {
                "seq": 7,
                "t": T0 + 41,
                "pid": 1,
                "tid": 1,
                "category": "identifiers",
                "api": "AdvertisingIdClient.getAdvertisingIdInfo",
                "args": "[]",
                "ret": '"unrelated"',
                "stack": [],
            }
        ],
    )
    findings, _ = _build(
        TableSet(tables.flows, hooks, tables.detections, tables.destinations, tables.packets)
    )
    ad = _by(findings, "transmission", "advertising_id")[0]
    assert [(a.seq, a.link) for a in ad.access] == [(7, "type")]


def test_access_findings_stand_alone() -> None:
    findings, _ = _build()
    loc = _by(findings, "access", "location")
    assert len(loc) == 1
    assert loc[0].related == [] and loc[0].country == "device" and loc[0].sdk == "Google Play services"
    assert "no transmission of it was detected" in loc[0].summary
    assert [p.article for p in loc[0].provisions] == ["Art. 5(3)"]
    clip_read = _by(findings, "access", "clipboard")[0]
    clip_sent = _by(findings, "transmission", "clipboard")[0]
    assert clip_read.related == [clip_sent.finding_id] and clip_read.finding_id in clip_sent.related


def test_provisions_follow_the_facts() -> None:
    findings, _ = _build()
    meta = _by(findings, "transmission", "advertising_id")[0]  # EEA, third party, no read seen
    assert [p.article for p in meta.provisions] == ["Art. 6"]
    assert "third party" in meta.provisions[0].note
    bd = _by(findings, "transmission", "android_id", PHASE_BEFORE)[0]  # read, then sent to SG
    assert [p.article for p in bd.provisions] == ["Art. 5(3)", "Art. 6", "Art. 44-49"]
    assert "before any consent" in bd.provisions[1].note
    child, _ = _build(marks=[*MARKS, {"t": T0 + 1, "label": "child-account"}])
    assert "Art. 8" in [p.article for p in _by(child, "transmission", "clipboard")[0].provisions]
    for f in findings:
        for p in f.provisions:
            assert "conclu" not in p.note.lower() or "not" in p.note.lower()


def test_ids_and_order_are_stable() -> None:
    a, _ = _build()
    b, _ = _build()
    assert [f.finding_id for f in a] == [f.finding_id for f in b]
    assert [e.ref for f in a for e in f.exhibits] == [f"E-{i}" for i in range(1, 5)]


def test_coverage_states_what_the_session_could_not_see() -> None:
    _, c = _build()
    assert (c.flows_total, c.flows_decrypted, c.flows_pcap_only) == (4, 3, 1)
    assert c.tls_failures == 2 and c.tls_failure_hosts == [("pinned.tiktokv.com", 2)]
    assert c.quic_packets == 1 and c.quic_hosts == ["quic.tiktokv.com"]
    assert c.pcap_tls_hosts_not_decrypted == ["pinned.tiktokv.com"]
    assert c.hook_modules_attached == ["clipboard"] and c.hook_modules_failed == [
        ("location", "class not found")
    ]
    assert c.canaries_planted == ["c-aid", "c-clip", "c-imei"]
    assert c.canaries_found == ["c-aid", "c-clip"] and c.canaries_missing == ["c-imei"]
    assert c.detections_by_method == {"canary": 3, "pattern": 1}
    assert any("QUIC" in n for n in c.notes) and any("TLS" in n for n in c.notes)


def test_empty_session_gives_no_findings_and_says_what_is_missing() -> None:
    findings, c = build_findings(TableSet(), {"marks": []})
    assert findings == []
    assert c.flows_total == 0 and not c.frida_recorded
    assert any("No consent mark" in n for n in c.notes)
    assert any("No packet capture" in n for n in c.notes)


def test_hook_modules_reads_the_frida_runner_summary() -> None:
    frida = {
        "summary": {
            "modules_attached": ["clipboard"],
            "modules": {
                "clipboard": {"status": "attached", "hooks": 3, "missing": [], "reason": None},
                "contacts": {
                    "status": "failed",
                    "hooks": 0,
                    "missing": [],
                    "reason": "ContactsContract missing",
                },
                "location": {"status": "skipped", "hooks": 0, "missing": [], "reason": None},
            },
        },
        "agents": [],
    }
    assert hook_modules(frida) == (["clipboard"], [("contacts", "ContactsContract missing")], True)
    assert hook_modules(None) == ([], [], False)


def test_hook_data_types() -> None:
    assert hook_data_type("identifiers", "TelephonyManager.getImei") == "imei"
    assert hook_data_type("identifiers", "Settings.Secure.getString(android_id)") == "android_id"
    assert hook_data_type("packages", "PackageManager.getInstalledPackages") == "installed_apps"
    # As the agent writes it: the key is an argument (hook_events.args is JSON text).
    assert hook_data_type("identifiers", "Settings$Secure.getString", '[{"$class": "r"}, "android_id"]') == (
        "android_id"
    )
    # A read with no data type of its own is "other", never its category's name.
    assert hook_data_type("identifiers", "TelephonyManager.getNetworkOperator") == "other"
    assert hook_data_type("sensors", "SensorManager.getDefaultSensor") == "other"


def test_findings_frame_has_the_schema_columns() -> None:
    findings, _ = _build()
    df = findings_frame(findings)
    table = pa.Table.from_pandas(df, schema=FINDINGS, preserve_index=False)
    assert table.num_rows == len(findings) and table.schema.names == FINDINGS.names
    assert df.loc[df["kind"] == "access", "access_seqs"].map(len).sum() == 3


def test_flow_custody_and_destinations() -> None:
    lines = [
        json.dumps(
            {
                "seq": 4,
                "kind": "flow",
                "ref": "f1",
                "file": "flows.mitm",
                "offset": 0,
                "length": 9,
                "sha256": "ab",
            }
        ),
        json.dumps({"seq": 5, "kind": "flow-record", "ref": "f1", "sha256": "cd"}),
        '{"torn',
        # A forged record whose offset JSON reads as inf (fuzz: "4" + "1e308"); kept out, verify names it.
        '{"seq": 6, "kind": "flow", "ref": "f2", "file": "flows.mitm", "offset": 41e308, "length": 9}',
    ]
    assert flow_custody(lines) == {
        "f1": {"seq": 4, "file": "flows.mitm", "offset": 0, "length": 9, "sha256": "ab"}
    }
    fd = flow_destinations(make_tables())
    assert list(fd["country"]) == ["SG", "SG", "IE", "unknown"]
    assert list(fd["entity"]) == ["ByteDance", "ByteDance", "Meta", "api.cdn.example"]


def test_detection_of_unknown_flow_is_ignored_not_fatal() -> None:
    tables = make_tables()
    extra = frame_from_rows(
        DETECTIONS, [{"detection_id": "zz", "flow_id": "missing", "data_type": "imei", "excerpt": ""}]
    )
    import pandas as pd

    det = pd.concat([tables.detections, extra], ignore_index=True)
    findings, _ = _build(TableSet(tables.flows, tables.hook_events, det, tables.destinations, tables.packets))
    assert not _by(findings, "transmission", "imei")
