"""pcap accounting: one per-connection table; destinations, coverage, the CLI and the report agree.

Real pcaps from tcpdump's test suite (tests/data/pcaps, BSD-3-Clause): `quic_handshake.pcap` is one QUIC v1
connection [::1]:50606 -> [::1]:443 for `localhost`, 18 packets from 19:55:22.974137 to 19:55:23.022890
(tcpdump's own decode beside it lists them). Byte counts are checked against scapy's reading of the file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.analyze.evidence import read_evidence
from analysis.analyze.load import load_session
from analysis.analyze.stages import analyze
from analysis.attribute.connections import connection_table
from analysis.capture.import_ import import_capture
from analysis.cli import main
from analysis.ingest.packets import build_packets

PCAPS = Path(__file__).parent / "data" / "pcaps"


def _scapy_bytes(path: Path, client_port: int) -> tuple[int, int, int]:
    from scapy.utils import rdpcap

    # The file's link type is BSD loopback (scapy leaves it raw): a 4-byte address family, the IPv6
    # header (40 bytes), then the UDP source port.
    up = down = n = 0
    for pkt in rdpcap(str(path)):
        n += 1
        frame = bytes(pkt)
        if int.from_bytes(frame[44:46], "big") == client_port:
            up += len(frame)
        else:
            down += len(frame)
    return n, up, down


def test_a_quic_connection_is_all_its_packets() -> None:
    path = PCAPS / "quic_handshake.pcap"
    packets = build_packets(path)
    conns = connection_table(
        pd.DataFrame(columns=["client", "server_ip", "server_port", "host", "sni"]), packets
    )
    (c,) = conns.to_dict("records")
    n, up, down = _scapy_bytes(path, 50606)
    assert (c["packets"], c["bytes_up"], c["bytes_down"]) == (n, up, down) == (18, up, down)
    assert (c["name"], c["name_source"], c["app"], c["seen_by_proxy"]) == (
        "localhost",
        "quic-sni",
        "quic",
        False,
    )
    assert c["t_first"] == pd.Timestamp("2021-10-25 19:55:22.974137", tz="UTC")
    assert c["t_last"] == pd.Timestamp("2021-10-25 19:55:23.022890", tz="UTC")


def test_destinations_coverage_cli_and_report_agree(tmp_path: Path) -> None:
    path = PCAPS / "quic_handshake.pcap"
    _, up, down = _scapy_bytes(path, 50606)
    s = import_capture(path, tmp_path).session
    analyze(s.path, show_progress=False)
    tables = load_session(s.path, refresh=False)
    dest = tables.destinations
    row = dest[dest["host"] == "localhost"].iloc[0]
    assert (row["bytes"], row["bytes_sent"], row["via"]) == (up + down, up, "pcap-only")
    ev = read_evidence(s.path)
    c = ev.coverage
    assert c.quic_packets == 18  # before: 1 (the QUIC Initial event rows were counted, not the packets)
    assert (c.pcap_connections, c.pcap_only_connections, c.pcap_only_hosts) == (1, 1, [("localhost", up)])
    out = CliRunner().invoke(main, ["destinations", str(s.path)])
    assert out.exit_code == 0, out.output
    line = [x for x in out.output.splitlines() if x.startswith("│ localhost")][0]
    assert f"{up + down:,}" in line and f"{up:,}" in line
    rep = CliRunner().invoke(main, ["report", str(s.path), "--format", "json,html"])
    assert rep.exit_code == 0, rep.output
    doc = json.loads((s.path / "report" / "findings.json").read_text())
    (d,) = [x for x in doc["destinations"] if x["host"] == "localhost"]
    assert d["bytes_sent"] == up  # before: 0 for every host seen only in the pcap
    assert doc["coverage"]["quic_packets"] == 18 and doc["coverage"]["pcap_only_connections"] == 1
    html = (s.path / "report" / "report.html").read_text()
    assert "1 of 1 connection(s)" in html and f"({up} bytes sent)" in html


@pytest.mark.parametrize("name", ["quic_retry.pcap", "gquic.pcap", "dns_tcp.pcap"])
def test_every_connection_packet_is_counted_once(name: str) -> None:
    # The connection rows' packets add up to every TCP/UDP packet of the file (DNS over TCP included).
    packets = build_packets(PCAPS / name)
    rows = packets[packets["proto"].isin(["tcp", "udp"])]
    from scapy.utils import rdpcap

    assert int(rows["packets"].sum()) == len(rdpcap(str(PCAPS / name)))
    assert (rows["bytes_up"] + rows["bytes_down"] == rows["bytes"]).all()


def test_cleartext_http_in_an_imported_pcap_is_counted_once(tmp_path: Path) -> None:
    # A pcap import turns cleartext HTTP into flows (`via = "pcap-only"`): that connection was seen only
    # in the pcap (not by a proxy). Its bytes are the connection's on-the-wire bytes, as for every other
    # connection only the pcap saw, counted once (before: the request body alone, so a GET was 0 bytes).
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_import import _http_pcap

    src = tmp_path / "http.pcap"
    _http_pcap(src, ng=False)
    s = import_capture(src, tmp_path / "out").session
    analyze(s.path, show_progress=False)
    tables = load_session(s.path, refresh=False)
    dest = tables.destinations
    assert list(dest["host"]) == ["log.example"]
    row = dest.iloc[0]
    (conn,) = build_packets(src).query("proto == 'tcp'").itertuples()
    assert row["flows"] == 1
    assert (row["bytes"], row["bytes_sent"]) == (conn.bytes, conn.bytes_up)
    assert row["bytes_sent"] > 27  # the request's headers as well as its 27-byte JSON body
    c = read_evidence(s.path).coverage
    assert (c.pcap_connections, c.pcap_only_connections) == (1, 1)
