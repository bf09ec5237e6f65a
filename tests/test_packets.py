"""The pcap pass against tcpdump's own test captures (with tcpdump's decode beside each) and crafted edge cases."""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from analysis.errors import PrivlabError
from analysis.ingest.packets import PacketParser
from analysis.ingest.packets import build_packets
from analysis.ingest.packets import client_hello_from_records
from analysis.ingest.packets import parse_dns
from analysis.schema import PACKETS

DNS_FILES = [
    ("dns_udp.pcap", "dns_udp.tcpdump-expected.out"),
    ("dns_tcp.pcap", "dns_tcp.tcpdump-expected.out"),
    ("dns_udp_2.pcap", "dns_udp_2.tcpdump-expected.out"),
    ("dns-uri.pcap", "dns-uri.tcpdump-expected.out"),
    ("edns-opts.pcap", "edns-opts.tcpdump-expected.out"),
    ("dnssec.pcap", "dnssec.tcpdump-expected-vv.out"),
]

_COUNTS = re.compile(r" (\d+)/(\d+)/(\d+) ")
_QUESTION = re.compile(r"(\w+)\? (\S+?)\.? ")


def tcpdump_dns(out: Path) -> list[tuple[bool, tuple[str, str] | None, list[str]]]:
    """(is response, (qtype, qname) or None, answers) of every DNS message in tcpdump's decode, in order.

    tcpdump prints the question of a response only with -v ("q: A? name."), so it may be None. Answers
    come from the answer section as tcpdump prints it: "A 1.2.3.4" (with -v "name. A 1.2.3.4"); other
    record types as their type name ("RRSIG"), URI records with their data.
    """
    text = out.read_text()
    # With -v a packet spans two lines: join continuation lines onto their packet line.
    packets = re.split(r"\n(?=\s+\d+\s+(?:caplen \d+ len \d+ )?\d{4}-\d\d-\d\d )", text)
    messages: list[tuple[bool, tuple[str, str] | None, list[str]]] = []
    for pkt in packets:
        line = " ".join(pkt.split())
        if not re.search(r"\.53: ", line) and not re.search(r"\.53 > ", line):
            continue
        q = _QUESTION.search(line)
        counts = _COUNTS.search(line)
        if q is None and counts is None:
            continue  # a TCP segment without DNS data
        answers: list[str] = []
        if counts and int(counts.group(1)) > 0:
            section = line[counts.end() :]
            section = re.split(r" ns: | ar: | \(\d+\)$", section)[0]
            for item in section.split(", "):
                if "[|" in item:
                    break  # tcpdump stops where the capture was cut
                m = re.search(r"\b(A|AAAA) (\S+)$", item)
                if m:
                    answers.append(m.group(2))
                elif " URI " in f" {item}":
                    answers.append(item[item.index("URI") :])
                else:
                    answers.append(item.split()[-1])
        messages.append((counts is not None, (q.group(1), q.group(2)) if q else None, answers))
    return messages


@pytest.mark.parametrize(("pcap", "decode"), DNS_FILES)
def test_dns_matches_tcpdump(ref_data: Path, pcap: str, decode: str) -> None:
    pcaps = ref_data / "pcaps"
    expected = tcpdump_dns(pcaps / decode)
    assert expected, f"no DNS lines parsed from {decode}"
    df = build_packets(pcaps / pcap)
    dns = df[df["proto"] == "dns"]
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in dns.to_dict("records")]
    ours = [
        (
            bool(r["dns_response"]),
            (r["dns_qtype"], r["dns_qname"]) if exp[1] else None,
            list(r["dns_answers"]),
        )
        for r, exp in zip(records, expected, strict=False)
    ]
    assert len(dns) == len(expected)
    assert ours == expected
    # Every query's name is there, as tcpdump prints it.
    assert [q for _, q, _ in expected if q] == [
        (t, n) for t, n, resp in zip(dns.dns_qtype, dns.dns_qname, ours, strict=True) if resp[1]
    ]


def test_dns_answers_and_truncation(ref_data: Path) -> None:
    df = build_packets(ref_data / "pcaps" / "dns_udp_2.pcap")
    resp = df[(df["proto"] == "dns") & (df["dns_response"] == True)].iloc[0]  # noqa: E712
    assert list(resp.dns_answers) == ["192.139.46.66"]  # the second answer was cut by snaplen 98
    assert "truncated" in resp.note
    assert df.attrs["truncated"] == 1


def test_dns_over_tcp_is_reassembled(ref_data: Path) -> None:
    df = build_packets(ref_data / "pcaps" / "dns_tcp.pcap")
    resp = df[(df["proto"] == "dns") & (df["dns_response"] == True)]  # noqa: E712
    assert list(resp.iloc[0].dns_answers) == ["192.139.46.66", "198.199.88.104"]
    conn = df[df["proto"] == "tcp"].iloc[0]
    assert conn.app == "dns" and conn.packets == 11 and conn.src == "192.168.1.11:33779"


def test_quic_initial_sni(ref_data: Path) -> None:
    for name in ("quic_handshake.pcap", "quic_retry.pcap", "quic_vn.pcap"):
        df = build_packets(ref_data / "pcaps" / name)
        quic = df[df["proto"] == "quic"]
        assert set(quic["sni"].dropna()) == {"localhost"}, name
        assert (quic["quic_version"] == "0x00000001").all(), name
        conn = df[df["proto"] == "udp"].iloc[0]
        assert (conn.app, conn.sni, conn.src, conn.dst) == (
            "quic",
            "localhost",
            "[::1]" + conn.src[5:],
            "[::1]:443",
        )
    # After a Retry the client starts over with a new connection id: both ClientHellos are read.
    retry = build_packets(ref_data / "pcaps" / "quic_retry.pcap")
    assert (retry["proto"] == "quic").sum() == 2 and retry[retry["proto"] == "quic"]["sni"].notna().all()
    # A version the client offered first (0x1a2a3a4a) is labelled, not decrypted.
    vn = build_packets(ref_data / "pcaps" / "quic_vn.pcap")
    assert "0x1a2a3a4a" in vn[vn["proto"] == "udp"].iloc[0].note


def test_truncated_quic_gives_no_sni_and_no_crash(ref_data: Path) -> None:
    df = build_packets(ref_data / "pcaps" / "quic_handshake_truncated.pcap")
    assert df["sni"].dropna().empty
    quic = df[df["proto"] == "quic"]
    assert len(quic) >= 1 and quic["note"].str.contains("snaplen").all()


def test_gquic_is_not_ietf_quic(ref_data: Path) -> None:
    df = build_packets(ref_data / "pcaps" / "gquic.pcap")
    assert (df["proto"] == "quic").sum() == 0
    conn = df.iloc[0]
    assert (conn.proto, conn.app, conn.quic_version) == ("udp", "gquic", "Q046")
    assert "not IETF QUIC" in conn.note and pd.isna(conn.sni)


def test_malformed_packet_does_not_crash(ref_data: Path) -> None:
    df = build_packets(ref_data / "pcaps" / "ppp_ip_udp_dns.pcap")
    assert df.attrs["frames"] == 1
    assert df.attrs["non_ip"] + df.attrs["malformed"] + len(df) >= 1


def test_table_converts_to_the_arrow_schema(ref_data: Path) -> None:
    for pcap in sorted((ref_data / "pcaps").glob("*.pcap")):
        df = build_packets(pcap)
        assert list(df.columns) == PACKETS.names
        table = pa.Table.from_pandas(df, schema=PACKETS, preserve_index=False)
        assert table.num_rows == len(df)


# -- crafted captures (scapy writes them; our reader must not depend on scapy's dissection) --------------


def _client_hello(sni: str) -> bytes:
    import ssl

    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def test_client_hello_split_across_segments_out_of_order(tmp_path: Path) -> None:
    from scapy.layers.inet import IP
    from scapy.layers.inet import TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    ch = _client_hello("log-va.tiktokv.com")
    a, b, c = ch[:100], ch[100:300], ch[300:]
    base = Ether() / IP(src="10.0.2.15", dst="130.44.212.1")
    back = Ether() / IP(src="130.44.212.1", dst="10.0.2.15")
    isn = 4_294_967_000  # the sequence number wraps inside the ClientHello
    pkts = [
        base / TCP(sport=40000, dport=8443, flags="S", seq=isn),
        back / TCP(sport=8443, dport=40000, flags="SA", seq=7, ack=isn + 1),
        base / TCP(sport=40000, dport=8443, flags="PA", seq=(isn + 1 + 100) % 2**32) / b,  # 2nd part first
        base / TCP(sport=40000, dport=8443, flags="PA", seq=isn + 1) / a,
        base / TCP(sport=40000, dport=8443, flags="PA", seq=isn + 1) / a,  # retransmission
        base / TCP(sport=40000, dport=8443, flags="PA", seq=(isn + 1 + 300) % 2**32) / c,
    ]
    for i, p in enumerate(pkts):
        p.time = 1_700_000_000 + i
    path = tmp_path / "split.pcap"
    wrpcap(str(path), pkts)
    df = build_packets(path)
    tls = df[df["proto"] == "tls"]
    assert list(tls["sni"]) == ["log-va.tiktokv.com"]
    conn = df[df["proto"] == "tcp"].iloc[0]
    assert (conn.src, conn.dst, conn.app, conn.packets) == ("10.0.2.15:40000", "130.44.212.1:8443", "tls", 6)
    assert conn.t == pd.Timestamp(1_700_000_000, unit="s", tz="UTC")


def test_connect_proxy_then_tls_and_pcapng(tmp_path: Path) -> None:
    from scapy.layers.inet import IP
    from scapy.layers.inet import TCP
    from scapy.layers.inet import UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import PcapNgWriter

    connect = b"CONNECT mon.isnssdk.com:443 HTTP/1.1\r\nHost: mon.isnssdk.com:443\r\n\r\n"
    ch = _client_hello("mon.isnssdk.com")
    base = Ether() / IP(src="10.0.2.15", dst="10.0.2.2")
    http = b"GET /x HTTP/1.1\r\nHost: log.tiktokv.com\r\n\r\n"
    pkts = [
        base / TCP(sport=41000, dport=8080, flags="S", seq=100),
        base / TCP(sport=41000, dport=8080, flags="PA", seq=101) / connect,
        base / TCP(sport=41000, dport=8080, flags="PA", seq=101 + len(connect)) / ch,
        base / TCP(sport=41001, dport=80, flags="PA", seq=1) / http,
        base / TCP(sport=41002, dport=443, flags="S", seq=1),  # a connection that never sent data
        base / UDP(sport=5353, dport=5353) / b"\x00\x01",  # garbage mDNS
    ]
    path = tmp_path / "proxy.pcapng"
    with PcapNgWriter(str(path)) as w:
        for p in pkts:
            w.write(p)
    df = build_packets(path)
    conns: dict[str, Any] = {r["src"]: r for r in df[df["proto"] == "tcp"].to_dict("records")}
    assert conns["10.0.2.15:41000"]["sni"] == "mon.isnssdk.com"
    assert conns["10.0.2.15:41000"]["http_host"] == "mon.isnssdk.com:443"
    assert conns["10.0.2.15:41001"]["http_host"] == "log.tiktokv.com"
    assert conns["10.0.2.15:41001"]["app"] == "http"
    assert "no payload" in conns["10.0.2.15:41002"]["note"]
    assert (df[df["proto"] == "dns"]["note"] == "malformed DNS").all()


def test_client_hello_status() -> None:
    ch = _client_hello("example.org")
    assert client_hello_from_records(ch) == ("done", "example.org")
    assert client_hello_from_records(ch[:50]) == ("need-more", None)
    assert client_hello_from_records(b"GET / HTTP/1.1\r\n")[0] == "not-tls"


def test_parse_dns_rejects_garbage() -> None:
    assert parse_dns(b"\x00") is None
    # A compression pointer to itself: the loop is detected and the message rejected.
    assert (
        parse_dns(struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + b"\x00\x01\x00\x01") is None
    )
    ok = parse_dns(struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\x01a\x00" + b"\x00\x1c\x00\x01")
    assert ok is not None and (ok.qname, ok.qtype, ok.response) == ("a", "AAAA", False)


def test_not_a_pcap_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "traffic.pcap"
    bad.write_bytes(b"this is not a capture file at all")
    with pytest.raises(PrivlabError, match="traffic.pcap: not a pcap or pcapng capture"):
        build_packets(bad)
    with pytest.raises(PrivlabError, match="not found"):
        build_packets(tmp_path / "missing.pcap")


def test_cut_off_file_keeps_what_was_read(ref_data: Path, tmp_path: Path) -> None:
    data = (ref_data / "pcaps" / "dns_tcp.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - 40])  # the last record is incomplete
    df = build_packets(cut)
    assert df.attrs["frames"] == 10 and df.attrs["file_cut_off"]
    corrupt = tmp_path / "corrupt.pcap"
    corrupt.write_bytes(data[:24] + struct.pack("<IIII", 0, 0, 1 << 30, 1 << 30) + data[40:])
    bad = build_packets(corrupt)
    assert bad.attrs["frames"] == 0 and "claims" in bad.attrs["file_corrupt"]


@settings(max_examples=300, deadline=None)
@given(linktype=st.sampled_from([0, 1, 9, 50, 101, 108, 113, 276]), frame=st.binary(max_size=300))
def test_random_frames_never_crash(linktype: int, frame: bytes) -> None:
    parser = PacketParser()
    parser.feed(0.0, linktype, frame, len(frame))
    parser.feed(0.0, linktype, b"\x45" + frame, len(frame) + 1)  # an IPv4-looking start
    assert parser.frames == 2
    parser.rows()  # and the rows can be built from whatever was kept
