"""`privlab import`: .mitm, HAR (BOM, missing fields, zhar) and pcap/pcapng into an imported session."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.analyze.load import load_session
from analysis.analyze.stages import analyze
from analysis.capture.import_ import import_capture
from analysis.cli import main
from analysis.errors import PrivlabError
from analysis.session.flows import read_flows

MITM_DUMPS = ["dumpfile-011.mitm", "dumpfile-018.mitm", "dumpfile-019.mitm", "dumpfile-7.mitm", "dumpfile-10.mitm",
              "dumpfile-19.mitm", "dumpfile-7-websocket.mitm"]  # fmt: skip


def _custody(session_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (session_dir / "custody.jsonl").read_text().splitlines()]


def test_mitm_import_copies_the_evidence_byte_for_byte(sample_session: Path, tmp_path: Path) -> None:
    src = sample_session / "flows.mitm"
    result = import_capture(src, tmp_path, app="com.zhiliaoapp.musically")
    s = result.session
    assert s.status == "imported" and s.meta["app"] == {"package": "com.zhiliaoapp.musically"}
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert hashlib.sha256((s.path / "flows.mitm").read_bytes()).hexdigest() == digest
    records = _custody(s.path)
    kinds = [r["kind"] for r in records]
    first_source = kinds.index("import-source")
    assert records[first_source]["sha256"] == digest
    assert all(
        k not in ("flows", "flow-records") for k in kinds[:first_source]
    )  # the source hash comes first
    assert s.meta["import"]["sha256"] == digest
    ids = [r.flow_id for r in read_flows(s.path / "flows.jsonl")]
    assert ids == [r.flow_id for r in read_flows(sample_session / "flows.mitm")]  # mitmproxy's own ids


def test_har_with_bom_and_missing_fields(tmp_path: Path) -> None:
    har = {"log": {"entries": [
        {"request": {"url": "https://t.example/a?imei=354918090031248"}},  # no time, method, headers, response
        {"startedDateTime": "2024-01-02T03:04:05.000Z", "time": 12,
         "request": {"method": "POST", "url": "https://t.example/b", "httpVersion": "http/2.0",
                     "headers": [{"name": ":authority", "value": "t.example"}, {"name": "content-type",
                                                                                "value": "application/json"}],
                     "postData": {"mimeType": "application/json", "text": "{\"aid\": \"3f7a9c2e51b04d86\"}"}},
         "response": {"status": 200, "headers": [], "content": {"size": 0}}},
        {"request": {"method": "GET"}},  # no URL: skipped with a warning
    ]}}  # fmt: skip
    src = tmp_path / "phone.har"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps(har).encode())
    canaries = tmp_path / "canaries.json"
    canaries.write_text(json.dumps([{"id": "aid", "kind": "android_id", "value": "3f7a9c2e51b04d86"}]))
    result = import_capture(src, tmp_path / "out", canaries=canaries)
    assert result.flows == 2 and len(result.warnings) == 1 and "entry 2" in result.warnings[0]
    assert (result.session.path / "source" / "phone.har").read_bytes() == src.read_bytes()
    tables = load_session(result.session.path)
    assert list(tables.flows["method"]) == ["GET", "POST"]
    assert str(tables.flows["t_request"].dt.tz) == "UTC"
    hit = tables.detections[tables.detections["method"] == "canary"]
    assert list(zip(hit["canary_id"], hit["part"], hit["encoding"], strict=True)) == [
        ("aid", "body:aid", "json")
    ]
    again = import_capture(src, tmp_path / "out2")
    assert [r.flow_id for r in read_flows(again.session.path / "flows.jsonl")] == list(
        tables.flows["flow_id"]
    )


def _http_pcap(path: Path, ng: bool) -> None:
    from scapy.layers.inet import IP
    from scapy.layers.inet import TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap
    from scapy.utils import wrpcapng

    body = b'{"udid": "354918090031248"}'
    request = (b"POST /service/2/app_log/?aid=1233 HTTP/1.1\r\nHost: log.example\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
    base = Ether() / IP(src="10.0.2.16", dst="192.0.2.7")
    split = 40
    packets = [
        base / TCP(sport=40001, dport=80, flags="S", seq=999),
        base / TCP(sport=40001, dport=80, flags="PA", seq=1000 + split) / request[split:],  # out of order
        base / TCP(sport=40001, dport=80, flags="PA", seq=1000) / request[:split],
    ]
    for i, p in enumerate(packets):
        p.time = 1_700_000_000 + i
    (wrpcapng if ng else wrpcap)(str(path), packets)


@pytest.mark.parametrize("ng", [False, True])
def test_pcap_cleartext_http_becomes_flows(tmp_path: Path, ng: bool) -> None:
    src = tmp_path / ("capture.pcapng" if ng else "capture.pcap")
    _http_pcap(src, ng)
    canaries = tmp_path / "canaries.json"
    canaries.write_text(json.dumps([{"id": "imei", "kind": "imei", "value": "354918090031248"}]))
    result = import_capture(src, tmp_path / "out", canaries=canaries)
    assert result.source_format == "pcap" and result.flows == 1
    assert (result.session.path / "traffic.pcap").read_bytes() == src.read_bytes()
    tables = load_session(result.session.path)
    flow = tables.flows.iloc[0]
    assert (flow["host"], flow["path"], flow["via"]) == ("log.example", "/service/2/app_log/", "pcap-only")
    det = tables.detections[tables.detections["method"] == "canary"]
    assert list(zip(det["part"], det["encoding"], strict=True)) == [("body:udid", "json")]


@pytest.mark.parametrize("name", MITM_DUMPS)
def test_mitmproxy_dumps_import_and_analyse(ref_data: Path, tmp_path: Path, name: str) -> None:
    result = import_capture(ref_data / "mitm_dumps" / name, tmp_path)
    analysis = analyze(result.session.path, show_progress=False)
    assert "flows" in analysis.written and "detections" in analysis.written
    assert len(load_session(result.session.path, refresh=False).flows) == result.flows >= 1


def test_flow_and_har_files_import_and_analyse(ref_data: Path, tmp_path: Path) -> None:
    sources = sorted((ref_data / "mitm_dumps" / "flows").iterdir()) + sorted(
        (ref_data / "mitm_dumps" / "har_files").glob("*.har")
    )
    assert len(sources) > 20
    for n, src in enumerate(sources):
        result = import_capture(src, tmp_path / str(n))
        tables = load_session(result.session.path)
        assert len(tables.flows) == result.flows >= 1, src.name
        if src.name == "corrupted_gzip_body.mitm":
            assert tables.flows.iloc[0]["status"] == 200  # its corrupt body does not stop the analysis
    diff = [src for src in sources if src.name == "diff_data.mitm"][0]
    tables = load_session(import_capture(diff, tmp_path / "diff").session.path)
    emails = tables.detections[tables.detections["data_type"] == "email"]
    assert ("body:protobuf:1", "gzip>protobuf") in set(zip(emails["part"], emails["encoding"], strict=True))


def test_bad_sources_are_refused_with_one_line(ref_data: Path, tmp_path: Path) -> None:
    with pytest.raises(PrivlabError, match="too old"):
        import_capture(ref_data / "mitm_dumps" / "dumpfile-010.mitm", tmp_path)
    with pytest.raises(PrivlabError, match="no log.entries"):
        import_capture(ref_data / "mitm_dumps" / "har_extractor.har", tmp_path)
    truncated = tmp_path / "truncated.har"
    truncated.write_text('{"log": {"entries": [')
    runner = CliRunner()
    out = runner.invoke(main, ["import", str(truncated), "--out", str(tmp_path / "o")])
    assert out.exit_code == 2
    assert "truncated.har: not valid HAR JSON" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "o").exists()  # nothing half-made
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01garbage")
    out = runner.invoke(main, ["import", str(garbage), "--out", str(tmp_path / "o")])
    assert out.exit_code == 2 and "unrecognised" in out.output


def test_truncated_mitm_imports_the_flows_before_the_cut(sample_session: Path, tmp_path: Path) -> None:
    data = (sample_session / "flows.mitm").read_bytes()
    cut = tmp_path / "cut.mitm"
    cut.write_bytes(data[: len(data) * 2 // 3])
    result = import_capture(cut, tmp_path / "out")
    assert (
        0 < result.flows < len(list(read_flows(sample_session / "flows.mitm")))
    )  # only those before the cut
    assert result.warnings and "cut.mitm" in result.warnings[0]
    assert result.session.meta["import"]["warnings"] == result.warnings
    assert (result.session.path / "flows.mitm").read_bytes() == cut.read_bytes()  # evidence kept as received


def test_parallel_mitm_import_writes_the_same_index(
    sample_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large dumps are indexed by worker processes; the flows.jsonl must be byte-identical to one process's."""
    from analysis.capture import import_ as importer
    from analysis.session import flows as ingest

    src = sample_session / "flows.mitm"
    serial = import_capture(src, tmp_path / "serial").session.path
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ingest, "workers", lambda: 2)
    monkeypatch.setattr(importer, "use_workers", lambda path: True)
    parallel = import_capture(src, tmp_path / "parallel").session.path
    assert (parallel / "flows.jsonl").read_bytes() == (serial / "flows.jsonl").read_bytes()
    assert len(list(read_flows(parallel / "flows.jsonl"))) == len(list(read_flows(src)))
