"""Captures made elsewhere: what an import states must be true (issue 13).

Real files: `tests/data/mitm_dumps/flows/*.har` are mitmproxy's own HAR export of the `.mitm` beside
each (MIT, see tests/data/NOTICE.md), so every fact of the HAR import can be checked against mitmproxy's
reading of the same flows. Facts asserted here were checked by hand against the files.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from mitmproxy import connection
from mitmproxy import http
from mitmproxy.addons.savehar import SaveHar

from analysis.analyze.load import load_session
from analysis.capture.import_ import har_records
from analysis.capture.import_ import import_capture
from analysis.capture.import_ import mitm_records
from analysis.cli import main
from analysis.session import Session
from analysis.session.flows import read_jsonl
from analysis.session.verify import verify_session

FLOWS = Path(__file__).parent / "data" / "mitm_dumps" / "flows"


def _pairs(name: str) -> list[tuple[object, object]]:
    har = har_records(FLOWS / f"{name}.har", "test", [])
    mitm = mitm_records(FLOWS / f"{name}.mitm", [])
    assert len(har) == len(mitm)
    return list(zip(har, mitm, strict=True))


# -- server IPs ------------------------------------------------------------------------------------------


def test_har_server_ip_reaches_the_flow_record() -> None:
    # diff_data.har: five entries, each with serverIPAddress (checked by hand), e.g. 142.250.72.106
    # for jnn-pa.googleapis.com; mitmproxy's .mitm of the same flows has the same addresses.
    doc = json.loads((FLOWS / "diff_data.har").read_text())
    written = [e["serverIPAddress"] for e in doc["log"]["entries"]]
    har = har_records(FLOWS / "diff_data.har", "test", [])
    assert [r.server_ip for r in har] == written
    assert all(ip for ip in written)
    for h, m in _pairs("diff_data") + _pairs("websocket") + _pairs("successful_log"):
        assert (h.server_ip, h.server_port) == (m.server_ip, m.server_port)  # type: ignore[attr-defined]


def test_har_server_ip_gives_a_country(tmp_path: Path) -> None:
    from analysis.analyze.stages import analyze

    s = import_capture(FLOWS / "successful_log.har", tmp_path).session
    analyze(s.path, show_progress=False)
    dest = load_session(s.path, refresh=False).destinations
    assert all(len(ips) >= 1 for ips in dest["ips"])  # before the fix: no IP, so no country at all


# -- bodies ----------------------------------------------------------------------------------------------


def test_every_field_of_mitmproxys_har_export_matches_the_dump() -> None:
    # Everything the HAR holds comes back as mitmproxy read it from the .mitm; the HAR has no client
    # address, no SNI and no flow id, and one gzip request body is re-compressed (same decoded bytes).
    for name in ("diff_data", "websocket", "successful_log", "error_log", "event_stream", "incomplete_log"):
        for h, m in _pairs(name):
            a, b = dataclasses.asdict(h), dataclasses.asdict(m)  # type: ignore[call-overload]
            differ = {k for k in a if a[k] != b[k]} - {"flow_id", "client", "sni"}
            differ -= {k for k in ("t_request", "t_response") if abs((a[k] or 0) - (b[k] or 0)) < 2e-6}
            if name == "event_stream":
                differ -= {"t_response", "error"}  # a stream the HAR ends where mitmproxy left it open
            if differ == {"request_body"}:
                assert gzip.decompress(a["request_body"]) == gzip.decompress(b["request_body"])
                differ = set()
            assert not differ, (name, a["url"], differ)


def test_binary_body_written_as_latin1_text_comes_back_byte_for_byte() -> None:
    # diff_data: the chrome-sync POST is an octet-stream protobuf mitmproxy exported as latin-1 text
    # ("\n\u0014stanleygvi@..."); 2,379 bytes gzip on the wire. Encoding that text as UTF-8 grew it.
    (h, m) = [p for p in _pairs("diff_data") if "chrome-sync" in p[1].url][0]  # type: ignore[attr-defined]
    assert h.request_body_size == m.request_body_size == 2379  # type: ignore[attr-defined]
    assert gzip.decompress(h.request_body) == gzip.decompress(m.request_body)  # type: ignore[attr-defined]


def _flow(body: bytes, content_type: str, resp_body: bytes) -> http.HTTPFlow:
    client = connection.Client(peername=("10.0.2.16", 40000), sockname=("", 0), timestamp_start=1.7e9)
    server = connection.Server(address=("log.example", 443), peername=("192.0.2.7", 443))
    f = http.HTTPFlow(client, server)
    f.request = http.Request.make(
        "POST", "https://log.example/v1/batch", body, {"content-type": content_type}
    )
    f.request.timestamp_start = f.request.timestamp_end = 1.7e9
    f.response = http.Response.make(200, resp_body, {"content-type": "application/octet-stream"})
    f.response.timestamp_start = f.response.timestamp_end = 1.7e9 + 0.25
    return f


@pytest.mark.parametrize("content_type", ["application/x-protobuf", "application/json", "text/plain"])
def test_mitmproxys_exporter_round_trips_binary_bodies(tmp_path: Path, content_type: str) -> None:
    rng = random.Random(3139)
    body = bytes(rng.randrange(256) for _ in range(3139))  # a 3,139-byte binary body, every byte value
    resp = bytes(rng.randrange(256) for _ in range(777))
    har = SaveHar().make_har([_flow(body, content_type, resp)])
    src = tmp_path / "export.har"
    src.write_text(json.dumps(har))
    (rec,) = har_records(src, "test", [])
    assert rec.request_body == body and rec.request_body_size == 3139
    assert rec.response_body_size == 777


def test_base64_bodies_and_params(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 3
    har = {"log": {"creator": {"name": "HTTP Toolkit", "version": "1.19.0"}, "entries": [
        {"startedDateTime": "2024-03-01T10:00:00Z",
         "request": {"method": "POST", "url": "https://a.example/b64", "headers": [],
                     "postData": {"mimeType": "application/octet-stream", "encoding": "base64",
                                  "text": base64.b64encode(payload).decode()}},
         "response": {"status": 200, "headers": [], "bodySize": 768,
                      "content": {"size": 768, "encoding": "base64",
                                  "text": base64.b64encode(payload).decode()}}},
        {"startedDateTime": "2024-03-01T10:00:01Z",
         "request": {"method": "POST", "url": "https://a.example/form", "headers": [
             {"name": "Content-Type", "value": "application/x-www-form-urlencoded"}],
                     "postData": {"mimeType": "application/x-www-form-urlencoded",
                                  "params": [{"name": "email", "value": "ana@example.org"},
                                             {"name": "q", "value": "a b&c"}]}},
         "response": {"status": 204, "headers": [], "content": {"size": 0}}},
    ]}}  # fmt: skip
    src = tmp_path / "toolkit.har"
    src.write_text(json.dumps(har))
    first, second = har_records(src, "test", [])
    assert first.request_body == payload and first.response_body_size == 768
    assert second.request_body == b"email=ana%40example.org&q=a+b%26c"


# -- provenance ------------------------------------------------------------------------------------------


def test_provenance_of_a_har_import(tmp_path: Path) -> None:
    src = FLOWS / "diff_data.har"
    s = import_capture(src, tmp_path).session
    p = s.meta["provenance"]
    assert p["source"]["file"] == "diff_data.har" and p["source"]["size"] == src.stat().st_size
    assert p["made_by"]["tool"] == "mitmproxy" and p["made_by"]["version"] == "1.2.3"  # the file says so
    # first request 2023-09-10T04:38:02.923315Z, last response 04:58:23.785852Z (checked by hand)
    assert p["capture_time"]["first"] == pytest.approx(1694320682.923315)
    assert p["capture_time"]["last"] == pytest.approx(1694321903.785852)
    assert p["channels"] == {"proxy_flows": True, "frida": False, "pcap": False, "privlab_seal": False}
    # The session's own times are the capture's, not the import's; the tools are the maker's.
    assert s.meta["created"] == pytest.approx(1694320682.923315)
    assert s.meta["ended"] == pytest.approx(1694321903.785852)
    assert s.meta["imported_at"] > s.meta["created"]
    assert "frida" not in s.meta["tools"] and "mitmproxy 1.2.3" in s.meta["tools"]["capture made by"]


def test_provenance_of_mitm_and_pcap_imports(ref_data: Path, tmp_path: Path) -> None:
    m = import_capture(ref_data / "mitm_dumps" / "dumpfile-7.mitm", tmp_path / "m").session.meta
    assert m["provenance"]["made_by"] == {
        "tool": "mitmproxy",
        "version": "(flow format 11)",  # the dump says `7:version;2:11#`
        "detail": "mitmproxy dump",
    }
    assert m["provenance"]["channels"]["proxy_flows"] and not m["provenance"]["channels"]["pcap"]
    p = import_capture(ref_data / "pcaps" / "quic_handshake.pcap", tmp_path / "p").session.meta
    assert p["provenance"]["channels"] == {
        "proxy_flows": False,
        "frida": False,
        "pcap": True,
        "privlab_seal": False,
    }
    assert p["import"]["packets"] == 18  # tcpdump's decode beside it lists 18 packets
    # The first packet is at 2021-10-25 19:55:22 UTC (tcpdump's decode beside it), not the import time.
    assert p["created"] == pytest.approx(p["provenance"]["capture_time"]["first"])
    assert 1635191722 <= p["created"] < 1635191723


def test_pcap_import_says_what_it_holds(ref_data: Path, tmp_path: Path) -> None:
    out = CliRunner().invoke(
        main, ["import", str(ref_data / "pcaps" / "quic_handshake.pcap"), "--out", str(tmp_path)]
    )
    assert out.exit_code == 0, out.output
    assert "imported 0 flows" not in out.output and "18 packets" in out.output


# -- consent marks after the fact ------------------------------------------------------------------------


def test_mark_an_imported_session_as_an_analyst(tmp_path: Path) -> None:
    s = import_capture(FLOWS / "diff_data.har", tmp_path).session
    runner = CliRunner()
    refused = runner.invoke(main, ["mark", str(s.path), "consent-accepted"])
    assert refused.exit_code != 0 and "--at" in refused.output
    ok = runner.invoke(
        main,
        ["mark", str(s.path), "consent-accepted", "--at", "2023-09-10T04:39:00Z", "--note", "video 12:03"],
    )
    assert ok.exit_code == 0, ok.output
    meta = Session.open(s.path).meta
    (mark,) = meta["marks"]
    assert mark["t"] == 1694320740.0 and mark["by"] == "analyst" and mark["note"] == "video 12:03"
    # The import sealed the session, so the mark goes beside the seal (annotations.jsonl); before, it
    # rewrote the sealed session.json and `verify` then found the seal broken.
    last = json.loads((s.path / "annotations.jsonl").read_text().splitlines()[-1])
    assert last["note"] == "video 12:03" and last["by"] == "analyst"
    assert verify_session(s.path).intact
    # Findings split by phase: the e-mail in the 04:39:45 chrome-sync request is after the 04:39:00 mark
    # (before the fix every imported finding was "before-consent" and the mark was refused).
    from analysis.analyze.stages import analyze

    analyze(s.path, show_progress=False)
    findings = load_session(s.path, refresh=False).findings
    assert set(findings["phase"]) == {"after-consent"}
    rel = runner.invoke(main, ["mark", str(s.path), "consent-withdrawn", "--at", "+60"])
    assert rel.exit_code == 0 and Session.open(s.path).meta["marks"][1]["t"] == pytest.approx(
        1694320742.923315
    )


def test_mark_time_must_be_a_time(tmp_path: Path) -> None:
    s = import_capture(FLOWS / "successful_log.har", tmp_path).session
    out = CliRunner().invoke(main, ["mark", str(s.path), "consent-accepted", "--at", "yesterday"])
    assert out.exit_code == 2 and "not a time" in out.output and "Traceback" not in out.output


# -- small ones ------------------------------------------------------------------------------------------


def test_a_flow_saved_twice_is_one_flow_in_its_last_state(ref_data: Path, tmp_path: Path) -> None:
    # dumpfile-7-websocket.mitm holds 6 records for 4 flows: mitmproxy saved two WebSocket flows at their
    # upgrade (no messages) and again at their end (2 messages each), with the same ids (checked by hand).
    src = ref_data / "mitm_dumps" / "dumpfile-7-websocket.mitm"
    result = import_capture(src, tmp_path)
    assert result.flows == 4 and any("repeat the id" in w for w in result.warnings)
    records = list(read_jsonl(result.session.path / "flows.jsonl"))
    ids = [r.flow_id for r in records]
    assert len(set(ids)) == 4
    ws = {r.flow_id: len(r.websocket) for r in records}
    assert ws["468a3735-e4c2-4dea-b6e7-827a47751b36"] == 2 and ws["2eb8f8f1-26ce-4eb6-9041-7986b7e5e660"] == 2
    assert (result.session.path / "flows.mitm").read_bytes() == src.read_bytes()  # the evidence keeps all 6
    assert result.session.meta["import"]["warnings"] == result.warnings


def test_detections_print_no_nan_and_pipes_do_not_wrap(tmp_path: Path) -> None:
    s = import_capture(FLOWS / "diff_data.har", tmp_path).session
    out = CliRunner().invoke(main, ["detections", str(s.path)])
    assert out.exit_code == 0, out.output
    assert "nan" not in out.output.split() and "email" in out.output
    # CliRunner's stdout is not a terminal: the row stays on one line, longer than 80 columns.
    row = [line for line in out.output.splitlines() if "email" in line][0]
    assert "clients4.google.com" in row and len(row) > 80


def test_imported_exhibits_name_their_custody_record(tmp_path: Path) -> None:
    from analysis.analyze.stages import analyze

    s = import_capture(FLOWS / "diff_data.har", tmp_path).session
    analyze(s.path, show_progress=False)
    from analysis.analyze.evidence import read_evidence

    ev = read_evidence(s.path)  # what the report states: derived/ as analyze wrote it
    exhibits = [e for f in ev.findings for e in f.exhibits]
    assert exhibits and all(e.custody for e in exhibits)
    for e in exhibits:
        c = e.custody
        data = (s.path / c["file"]).read_bytes()[c["offset"] : c["offset"] + c["length"]]
        assert json.loads(data)["flow_id"] == e.flow_id


@pytest.mark.parametrize("block", [7, 1 << 20])  # records cut by the search's blocks, and whole in one
def test_imported_flow_custody_finds_each_asked_for_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    import hashlib

    import analysis.findings.transmissions as transmissions
    from analysis.findings.transmissions import imported_flow_custody

    monkeypatch.setattr(transmissions, "_JSONL_BLOCK", block)
    # a line cut short before its id's closing quote must not hide the record after it
    lines = [b'{"flow_id":"a","n":1}\n', b'{"flow_id":"b","n":2}\n', b'{"flow_id":"cut\n',
             b'{"flow_id":"c","n":3}\n', b'{"flow_id":"d","torn":']  # fmt: skip
    jsonl = tmp_path / "flows.jsonl"
    jsonl.write_bytes(b"".join(lines))
    offsets = [sum(map(len, lines[:i])) for i in range(len(lines))]
    custody = [  # a, b and the cut line under record 2; c under record 5; the torn d under none
        json.dumps({"seq": 2, "kind": "flow-records", "file": "flows.jsonl", "offset": 0, "length": offsets[3]}),
        json.dumps({"seq": 5, "kind": "flow-records", "file": "flows.jsonl", "offset": offsets[3], "length": len(lines[3])}),
        json.dumps({"seq": 6, "kind": "flow-records", "file": "other.jsonl", "offset": 0, "length": 999}),
        "not json",
    ]  # fmt: skip

    def want(i: int, seq: int) -> dict[str, object]:
        return {"seq": seq, "file": "flows.jsonl", "offset": offsets[i], "length": len(lines[i]),
                "sha256": hashlib.sha256(lines[i]).hexdigest()}  # fmt: skip

    assert imported_flow_custody(custody, jsonl) == {"a": want(0, 2), "b": want(1, 2), "c": want(3, 5)}
    assert imported_flow_custody(custody, jsonl, {"c", "d", "x"}) == {"c": want(3, 5)}
    jsonl.write_bytes(b"")
    assert imported_flow_custody(custody, jsonl) == {}


# -- the report claims no channel the session lacks --------------------------------------------------------

_CLAIMS = (
    "three recorders ran side by side",
    "a Frida agent recorded",
    "a packet capture recorded",
    "the session was sealed at the end",
    "remain in the sealed capture",
    "seen only in the packet capture",
)


def test_report_of_an_imported_session_states_its_provenance(tmp_path: Path) -> None:
    import re
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed to read the PDF's text")
    s = import_capture(FLOWS / "diff_data.har", tmp_path).session
    marked = CliRunner().invoke(
        main,
        ["mark", str(s.path), "consent-accepted", "--at", "2023-09-10T04:39:00Z", "--note", "frame 12:03"],
    )
    assert marked.exit_code == 0, marked.output
    out = CliRunner().invoke(main, ["report", str(s.path), "--format", "html,pdf"])
    assert out.exit_code == 0, out.output
    html = (s.path / "report" / "report.html").read_text()
    html_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    pdf = subprocess.run(
        ["pdftotext", "-layout", str(s.path / "report" / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pdf_text = re.sub(r"\s+", " ", pdf)
    for text in (html_text, pdf_text):
        assert "made by mitmproxy 1.2.3" in text
        assert "2023-09-10 04:38:02 UTC and 2023-09-10 04:58:23 UTC" in text  # the capture's own times
        assert "not recorded by privlab" in text and "no Frida hook recording" in text
        for claim in _CLAIMS:
            assert claim not in text, claim
        assert "an analyst's assertion" in text and "frame 12:03" in text  # the mark, shown as what it is
    assert re.search(r"<dt>Started \(UTC\)</dt><dd>2023-09-10T04:38:02", html)  # not the import time


def test_report_of_a_capture_without_frida_claims_no_frida(sample_session: Path, tmp_path: Path) -> None:
    # A host capture with a packet capture, sealed, without a Frida agent: its methodology once said
    # "three recorders ... a Frida agent recorded what the app read". (The committed sample ran under Frida.)
    import re

    from analysis.validation.run import capture_control_app

    session = capture_control_app(tmp_path / "s", pcap=True, steps=["settings"]).session.path
    meta = json.loads((session / "session.json").read_text())
    assert "frida" not in meta and meta["capture"]["pcap"] and meta["status"] == "sealed"
    out = CliRunner().invoke(main, ["report", str(session), "--format", "html", "--out", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (tmp_path / "r" / "report.html").read_text()))
    assert "two recorders ran side by side" in text and "a packet capture recorded" in text
    assert "a Frida agent recorded" not in text and "No Frida agent ran" in text
    assert "the session was sealed at the end" in text
