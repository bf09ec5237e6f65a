"""Benchmark: the pcap pass of `analysis.ingest.packets` against tshark on the same file.

Generates a pcap of >= 100,000 packets (DNS queries and answers, TCP connections with a TLS ClientHello
split across two segments plus data, QUIC v1 client Initials made by aioquic, plain UDP), then times

    privlab:  analysis.packets.build_packets(FILE)
    tshark:   tshark -r FILE -T fields -e dns.qry.name -e tls.handshake.extensions_server_name

one run each, and prints packets per second and the ratio (target >= 1x). Also checks both found the
same SNIs and DNS names. Run: `.venv/bin/python benchmarks/bench_packets.py [--packets N] [--keep DIR]`.
"""

from __future__ import annotations

import argparse
import random
import shutil
import ssl
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.ingest.packets import build_packets  # noqa: E402


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
    return hdr + payload


def _ether(ip: bytes) -> bytes:
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip


def _udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    return _ether(_ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload))


def _tcp(
    src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b""
) -> bytes:
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    return _ether(_ipv4(src, dst, 6, hdr + payload))


def _dns_query(qid: int, name: str) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def _dns_answer(qid: int, name: str, ips: list[bytes]) -> bytes:
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    out = struct.pack("!HHHHHH", qid, 0x8180, 1, len(ips), 0, 0) + q + struct.pack("!HH", 1, 1)
    for ip in ips:
        out += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + ip
    return out


def client_hello(sni: str) -> bytes:
    """A real TLS ClientHello record from Python's ssl module (no network)."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def quic_initial(sni: str) -> bytes:
    """A QUIC v1 client Initial datagram from aioquic (no network)."""
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection

    conn = QuicConnection(
        configuration=QuicConfiguration(is_client=True, server_name=sni, alpn_protocols=["h3"])
    )
    conn.connect(("127.0.0.1", 443), now=0.0)
    return conn.datagrams_to_send(now=0.0)[0][0]


class InitialFactory:
    """QUIC v1 client Initials carrying `sni`'s ClientHello, each under a fresh random connection id.

    Every connection in a real capture has its own id (and so its own keys); re-sending one datagram
    would let a decoder reuse keys and make QUIC look cheaper than it is.
    """

    def __init__(self, sni: str) -> None:
        from analysis.ingest.packets import decrypt_initial
        from analysis.ingest.packets import quic_crypto_frames

        decrypted = decrypt_initial(quic_initial(sni))
        assert decrypted is not None
        frames = quic_crypto_frames(decrypted[2])
        data = b"".join(chunk for _, chunk in sorted(frames))
        self.crypto = b"\x06\x00" + struct.pack("!H", 0x4000 | len(data)) + data

    def make(self, rng: random.Random) -> bytes:
        from aioquic.quic.crypto import CryptoPair

        dcid, scid = rng.randbytes(8), rng.randbytes(8)
        payload = self.crypto + bytes(max(0, 1200 - 60 - len(self.crypto)))  # PADDING to >= 1200 bytes
        length = 4 + len(payload) + 16  # packet number + payload + AEAD tag
        header = (
            bytes([0xC3]) + struct.pack("!I", 1) + bytes([8]) + dcid + bytes([8]) + scid + b"\x00"
            + struct.pack("!H", 0x4000 | length) + struct.pack("!I", 0)
        )  # fmt: skip
        pair = CryptoPair()
        pair.setup_initial(cid=dcid, is_client=True, version=1)
        return pair.encrypt_packet(header, payload, 0)


HOSTS = [
    "api16-normal-c-useast1a.tiktokv.com",
    "log-va.tiktokv.com",
    "mon.isnssdk.com",
    "inapps.appsflyer.com",
]


def mix(n_packets: int) -> Iterator[bytes]:
    """Frames of a TikTok-like session: per round 1 DNS exchange, 1 TLS connection, 1 QUIC Initial."""
    hellos = {h: client_hello(h) for h in HOSTS}
    initials = {h: InitialFactory(h) for h in HOSTS}
    rng = random.Random(1)
    client = bytes([10, 0, 2, 15])
    resolver = bytes([10, 0, 2, 3])
    sent = 0
    i = 0
    while sent < n_packets:
        host = HOSTS[i % len(HOSTS)]
        server = bytes([130, 44, (i >> 8) & 0xFF, i & 0xFF])
        sport = 20000 + i % 40000
        frames = [
            _udp(client, resolver, sport, 53, _dns_query(i & 0xFFFF, host)),
            _udp(resolver, client, 53, sport, _dns_answer(i & 0xFFFF, host, [server])),
        ]
        ch = hellos[host]
        cut = len(ch) // 2
        seq, sack = 1000, 5000
        frames += [
            _tcp(client, server, sport, 443, seq, 0, 0x02),
            _tcp(server, client, 443, sport, sack, seq + 1, 0x12),
            _tcp(client, server, sport, 443, seq + 1, sack + 1, 0x10),
            _tcp(client, server, sport, 443, seq + 1, sack + 1, 0x18, ch[:cut]),  # ClientHello, part 1
            _tcp(client, server, sport, 443, seq + 1 + cut, sack + 1, 0x18, ch[cut:]),  # part 2
            _tcp(
                server, client, 443, sport, sack + 1, seq + 1 + len(ch), 0x18, b"\x16\x03\x03" + bytes(1200)
            ),
            _tcp(
                client, server, sport, 443, seq + 1 + len(ch), sack + 1204, 0x18, b"\x17\x03\x03" + bytes(600)
            ),
            _tcp(
                server,
                client,
                443,
                sport,
                sack + 1204,
                seq + 604 + len(ch),
                0x18,
                b"\x17\x03\x03" + bytes(1400),
            ),
            _tcp(client, server, sport, 443, seq + 604 + len(ch), sack + 2607, 0x11),
            _tcp(server, client, 443, sport, sack + 2607, seq + 605 + len(ch), 0x11),
            _udp(client, server, sport + 1, 443, initials[host].make(rng)),
            _udp(client, bytes([8, 8, 4, 4]), sport + 2, 123, bytes(48)),
        ]
        yield from frames
        sent += len(frames)
        i += 1


def write_pcap(path: Path, n_packets: int) -> int:
    """Write the mix to a classic pcap (Ethernet); returns the number of packets."""
    count = 0
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        t = 1_760_000_000.0
        for frame in mix(n_packets):
            sec, usec = int(t), int((t % 1) * 1e6)
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
            t += 0.0001
            count += 1
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="write the pcap here and keep it")
    args = ap.parse_args()
    tshark = shutil.which("tshark")
    if tshark is None:
        sys.exit("tshark not found (apt-get install tshark)")
    with tempfile.TemporaryDirectory() as tmp:
        pcap = (args.keep or Path(tmp)) / "bench.pcap"
        pcap.parent.mkdir(parents=True, exist_ok=True)
        n = write_pcap(pcap, args.packets)
        print(f"pcap: {pcap} ({n:,} packets, {pcap.stat().st_size / 1e6:.1f} MB)")

        t0 = time.perf_counter()
        df = build_packets(pcap)
        ours = time.perf_counter() - t0

        t0 = time.perf_counter()
        out = subprocess.run(
            [
                tshark,
                "-r",
                str(pcap),
                "-T",
                "fields",
                "-e",
                "dns.qry.name",
                "-e",
                "tls.handshake.extensions_server_name",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        theirs = time.perf_counter() - t0

    tshark_snis = sorted(
        line.split("\t")[1] for line in out.splitlines() if "\t" in line and line.split("\t")[1]
    )
    tshark_names = sorted(line.split("\t")[0] for line in out.splitlines() if line.split("\t")[0])
    our_snis = sorted(df.loc[df["proto"].isin(["tls", "quic"]), "sni"].dropna())
    by_kind = {k: int(df.loc[df["proto"] == k, "sni"].notna().sum()) for k in ("tls", "quic")}
    our_names = sorted(df.loc[df["proto"] == "dns", "dns_qname"].dropna())
    print(f"privlab build_packets: {ours:6.2f} s  {n / ours:>10,.0f} packets/s")
    print(f"tshark -T fields:      {theirs:6.2f} s  {n / theirs:>10,.0f} packets/s")
    print(f"ratio (privlab speed / tshark speed): {theirs / ours:.2f}x  (target >= 1x)")
    print(
        f"agreement: DNS names privlab {len(our_names):,} / tshark {len(tshark_names):,}; "
        f"SNIs privlab {len(our_snis):,} ({by_kind['tls']:,} TLS + {by_kind['quic']:,} QUIC) / tshark {len(tshark_snis):,}"
    )


if __name__ == "__main__":
    main()
