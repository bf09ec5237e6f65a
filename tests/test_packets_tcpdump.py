"""A capture recorded here with the real tcpdump on loopback: HTTPS with SNI to a local TLS server, a
QUIC Initial, a DNS exchange; then the pcap pass and the pcap-vs-proxy line-up on what was recorded."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from analysis.attribute.destinations import build_destinations
from analysis.attribute.destinations import pcap_only_flows
from analysis.attribute.entities import load_registry
from analysis.attribute.geo import default_geodb
from analysis.ingest.packets import build_packets
from analysis.schema import FLOWS
from analysis.validation.upstream import make_certificate

TLS_SNI = "log-va.tiktokv.com"
QUIC_SNI = "quic.tiktokv.com"
DNS_NAME = "api16-normal-c-useast1a.tiktokv.com"
DNS_ANSWER = "130.44.212.1"


def _tls_server(cert: Path, key: Path) -> tuple[socket.socket, list[str]]:
    """A one-connection HTTPS server on 127.0.0.1; returns the socket and a list the SNI lands in."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    seen: list[str] = []
    ctx.sni_callback = lambda _obj, name, _ctx: seen.append(name or "") and None  # type: ignore[func-returns-value]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    return srv, seen


def _dns_reply(query: bytes) -> bytes:
    qid = query[:2]
    question = query[12:]
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(DNS_ANSWER)
    return qid + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + question + answer


def _dns_query(name: str) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None or os.geteuid() != 0:
        pytest.skip("needs tcpdump and root to capture on loopback")
    tmp = tmp_path_factory.mktemp("tcpdump")
    cert, key = make_certificate(tmp, (TLS_SNI,))
    srv, seen_sni = _tls_server(cert, key)
    tls_port = srv.getsockname()[1]
    udp_sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_sink.bind(("127.0.0.1", 0))
    quic_port = udp_sink.getsockname()[1]
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        dns.bind(("127.0.0.1", 53))
        dns_ok = True
    except OSError:
        dns_ok = False
    pcap = tmp / "traffic.pcap"
    filt = f"tcp port {tls_port} or udp port {quic_port}" + (" or udp port 53" if dns_ok else "")
    proc = subprocess.Popen(
        # --immediate-mode: without it, packets still in the kernel buffer at SIGINT are lost here.
        [tcpdump, "-i", "lo", "-U", "--immediate-mode", "-n", "-Z", "root", "-w", str(pcap), filt],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # tcpdump says "listening on lo" once the capture is active.
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        assert "listening" in line, line

        client = socket.create_connection(("127.0.0.1", tls_port))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(client, server_hostname=TLS_SNI) as tls:
            local_ip, local_port = tls.getsockname()
            tls_client = f"{local_ip}:{local_port}"
            tls.sendall(b"POST /service/2/app_log/ HTTP/1.1\r\nHost: " + TLS_SNI.encode() + b"\r\n\r\n")
            while tls.recv(4096):
                pass

        from aioquic.quic.configuration import QuicConfiguration
        from aioquic.quic.connection import QuicConnection

        quic = QuicConnection(configuration=QuicConfiguration(is_client=True, server_name=QUIC_SNI))
        quic.connect(("127.0.0.1", quic_port), now=time.time())
        qsock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for datagram, _addr in quic.datagrams_to_send(now=time.time()):
            qsock.sendto(datagram, ("127.0.0.1", quic_port))
        udp_sink.recvfrom(65535)

        if dns_ok:
            asker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            asker.sendto(_dns_query(DNS_NAME), ("127.0.0.1", 53))
            query, peer = dns.recvfrom(512)
            dns.sendto(_dns_reply(query), peer)
            asker.recvfrom(512)
        time.sleep(0.2)  # let tcpdump write the last packets (-U flushes per packet)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        for s in (srv, udp_sink, dns):
            s.close()
    yield {
        "pcap": pcap,
        "tls_client": tls_client,
        "tls_port": tls_port,
        "quic_port": quic_port,
        "dns_ok": dns_ok,
        "server_saw": seen_sni,
    }


def test_tcpdump_capture_sni_quic_dns(recorded: dict[str, object]) -> None:
    assert recorded["server_saw"] == [TLS_SNI]  # the server really got this SNI
    df = build_packets(Path(str(recorded["pcap"])))
    tls = df[df["proto"] == "tls"]
    assert list(tls["sni"]) == [TLS_SNI]
    assert tls.iloc[0].src == recorded["tls_client"]
    conn = df[(df["proto"] == "tcp")].iloc[0]
    assert conn.dst == f"127.0.0.1:{recorded['tls_port']}" and conn.app == "tls" and conn.sni == TLS_SNI
    quic = df[df["proto"] == "quic"]
    assert list(quic["sni"]) == [QUIC_SNI]
    if recorded["dns_ok"]:
        resp = df[(df["proto"] == "dns") & (df["dns_response"] == True)]  # noqa: E712
        assert list(resp["dns_qname"]) == [DNS_NAME] and list(resp.iloc[0].dns_answers) == [DNS_ANSWER]


def test_recorded_pcap_lines_up_with_proxy_flows(recorded: dict[str, object]) -> None:
    """The TLS connection is the proxy's flow (same client address); the QUIC Initial went past it."""
    packets = build_packets(Path(str(recorded["pcap"])))
    flows = pd.DataFrame(
        [
            {
                "flow_id": "f1",
                "t_request": pd.Timestamp.now(tz="UTC"),
                "client": recorded["tls_client"],
                "server_ip": "127.0.0.1",
                "server_port": recorded["tls_port"],
                "sni": TLS_SNI,
                "host": TLS_SNI,
                "scheme": "https",
                "path": "/service/2/app_log/",
                "request_body_size": 100,
                "response_body_size": 2,
                "via": "proxy",
            }
        ],
        columns=FLOWS.names,
    )
    dest = build_destinations(flows, packets, "com.zhiliaoapp.musically", load_registry(), default_geodb())
    rows = dest.set_index("host")
    assert rows.loc[TLS_SNI, "via"] == "proxy" and rows.loc[TLS_SNI, "flows"] == 1
    assert rows.loc[TLS_SNI, "purpose"] == "analytics log (app_log events)"
    assert rows.loc[QUIC_SNI, "via"] == "pcap-only" and rows.loc[QUIC_SNI, "flows"] == 0
    assert rows.loc[QUIC_SNI, "entity"] == "TikTok" and rows.loc[QUIC_SNI, "party"] == "first"
    assert (
        rows.loc[QUIC_SNI, "ip_countries"] == ["loopback"] and rows.loc[QUIC_SNI, "jurisdiction"] == "unknown"
    )
    extra = pcap_only_flows(flows, packets)
    assert list(extra["sni"]) == [QUIC_SNI]
    assert (extra["via"] == "pcap-only").all() and extra.iloc[0].http_version == "HTTP/3"
    if recorded["dns_ok"]:
        # The resolved name was never contacted: it is not a destination by itself.
        assert DNS_NAME not in rows.index
