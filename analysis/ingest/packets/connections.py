"""Connections: one pass over the frames, every TCP/UDP connection with its packets and bytes each way,
the TLS/QUIC/HTTP names found in it, and the DNS, TLS and QUIC events; reading pcap/pcapng files."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import PrivlabError
from analysis.ingest.packets.dns import _DNS_PORTS
from analysis.ingest.packets.dns import parse_dns
from analysis.ingest.packets.link import _ip_from_link
from analysis.ingest.packets.link import _ip_via_scapy
from analysis.ingest.packets.quic import QUIC_V1
from analysis.ingest.packets.quic import _QuicHello
from analysis.ingest.packets.quic import decrypt_initial
from analysis.ingest.packets.quic import quic_crypto_frames
from analysis.ingest.packets.quic import quic_long_header
from analysis.ingest.packets.tls import client_hello_from_records
from analysis.ingest.packets.tls import parse_client_hello
from analysis.schema import PACKETS

TLS_BUFFER_LIMIT = 1 << 16  # stop reassembling a client stream after 64 KiB without a ClientHello
TCP_OOO_LIMIT = 64  # out-of-order segments kept per stream

NO_PAYLOAD = "no payload"  # note of a connection that carried no data (e.g. a refused or probing connect)
_HTTP_METHODS = (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ")


# -- connections -----------------------------------------------------------------------------------


@dataclass
class _Conn:
    t: float
    proto: str  # tcp | udp
    client: tuple[bytes, int]
    server: tuple[bytes, int]
    nbytes: int = 0
    up: int = 0  # on-the-wire bytes client -> server
    t_last: float = 0.0
    packets: int = 0
    payload: int = 0  # TCP/UDP payload bytes, both directions
    app: str = ""
    sni: str | None = None
    http_host: str | None = None
    quic_version: str | None = None
    notes: list[str] = field(default_factory=list)
    # client -> server stream reassembly (TLS / HTTP), then released
    cbuf: bytearray | None = None
    cnext: int | None = None
    cooo: dict[int, bytes] | None = None
    hs_done: bool = False
    # DNS over TCP: per-direction stream buffers
    dns_bufs: dict[bool, bytearray] | None = None


def _addr(ip: bytes, port: int, cache: dict[bytes, str]) -> str:
    s = cache.get(ip)
    if s is None:
        s = socket.inet_ntop(socket.AF_INET if len(ip) == 4 else socket.AF_INET6, ip)
        cache[ip] = s
    return f"{s}:{port}" if len(ip) == 4 else f"[{s}]:{port}"


def _note(conn: _Conn, text: str) -> None:
    if text not in conn.notes:
        conn.notes.append(text)


class PacketParser:
    """Stateful single pass over raw frames; `rows()` gives the PACKETS rows at the end."""

    def __init__(self) -> None:
        self.conns: dict[tuple[Any, ...], _Conn] = {}
        self.events: list[dict[str, Any]] = []
        self.quic: dict[tuple[Any, ...], _QuicHello] = {}
        self.quic_cids: dict[tuple[Any, ...], list[bytes]] = {}  # per connection: ids whose keys worked
        self.names: dict[bytes, str] = {}
        self.file_state: dict[str, Any] = {}  # filled by iter_frames: cut_off / corrupt
        self.frames = 0
        self.non_ip = 0
        self.malformed = 0
        self.truncated = 0

    # The per-packet path is written for speed: plain indexing, no per-packet objects beyond a tuple.
    def feed(self, t: float, linktype: int, data: bytes, wirelen: int) -> None:
        """Account one captured frame (`data` may be shorter than `wirelen` when snaplen cut it)."""
        self.frames += 1
        if len(data) < wirelen:
            self.truncated += 1
        try:
            off = _ip_from_link(linktype, data)
            if off == -2:
                ipb = _ip_via_scapy(linktype, data)
                if ipb is None:
                    self.non_ip += 1
                    return
                data, off = ipb, 0
            elif off < 0:
                self.non_ip += 1
                return
            ver = data[off] >> 4
            if ver == 4:
                ihl = (data[off] & 0x0F) * 4
                proto = data[off + 9]
                frag = (data[off + 6] << 8 | data[off + 7]) & 0x1FFF
                if frag:
                    return  # a later fragment: counted in its first fragment's connection only
                src = data[off + 12 : off + 16]
                dst = data[off + 16 : off + 20]
                l4 = off + ihl
                total = data[off + 2] << 8 | data[off + 3]
                end = min(len(data), off + total) if total >= ihl else len(data)
            elif ver == 6:
                proto = data[off + 6]
                src = data[off + 8 : off + 24]
                dst = data[off + 24 : off + 40]
                l4 = off + 40
                plen = data[off + 4] << 8 | data[off + 5]
                end = min(len(data), l4 + plen) if plen else len(data)
                while proto in (0, 43, 60, 44):  # hop-by-hop, routing, destination options, fragment
                    if proto == 44:
                        if (data[l4 + 2] << 8 | data[l4 + 3]) & 0xFFF8:
                            return  # a later fragment
                        proto = data[l4]
                        l4 += 8
                    else:
                        proto, l4 = data[l4], l4 + (data[l4 + 1] + 1) * 8
            else:
                self.non_ip += 1
                return
            if len(src) != len(dst) or len(src) not in (4, 16):
                self.malformed += 1
                return
            if proto == 6:
                self._tcp(t, data, l4, end, src, dst, wirelen)
            elif proto == 17:
                self._udp(t, data, l4, end, src, dst, wirelen)
        except (IndexError, struct.error):
            self.malformed += 1

    def _conn(
        self, t: float, proto: str, src: bytes, sport: int, dst: bytes, dport: int, initiator_is_src: bool
    ) -> _Conn:
        a, b = (src, sport), (dst, dport)
        key = (proto, a, b) if a <= b else (proto, b, a)
        conn = self.conns.get(key)
        if conn is None:
            client, server = (a, b) if initiator_is_src else (b, a)
            conn = _Conn(t, proto, client, server)
            self.conns[key] = conn
        return conn

    def _tcp(self, t: float, d: bytes, l4: int, end: int, src: bytes, dst: bytes, wirelen: int) -> None:
        sport = d[l4] << 8 | d[l4 + 1]
        dport = d[l4 + 2] << 8 | d[l4 + 3]
        flags = d[l4 + 13]
        syn_ack = flags & 0x12 == 0x12
        # The initiator: SYN sender; for a capture starting mid-connection, the side with the higher port.
        initiator_is_src = (not syn_ack) if flags & 0x02 else (sport >= dport or sport >= 1024 > dport)
        conn = self._conn(t, "tcp", src, sport, dst, dport, initiator_is_src)
        conn.nbytes += wirelen
        conn.packets += 1
        conn.t_last = t
        from_client = (src, sport) == conn.client
        if from_client:
            conn.up += wirelen
        payload_off = l4 + ((d[l4 + 12] >> 4) * 4)
        seq = int.from_bytes(d[l4 + 4 : l4 + 8], "big")
        if flags & 0x02 and from_client and conn.cnext is None:
            conn.cnext = (seq + 1) & 0xFFFFFFFF
        if payload_off >= end:
            return
        payload = d[payload_off:end]
        conn.payload += len(payload)
        if conn.server[1] == 53 or conn.client[1] == 53:
            self._dns_tcp(t, conn, from_client, payload, wirelen)
            return
        if from_client and not conn.hs_done:
            self._client_stream(t, conn, seq, payload)

    def _client_stream(self, t: float, conn: _Conn, seq: int, payload: bytes) -> None:
        if conn.cbuf is None:
            conn.cbuf = bytearray()
            conn.cooo = {}
            if conn.cnext is None:
                conn.cnext = seq
        assert conn.cooo is not None and conn.cnext is not None
        delta = (seq - conn.cnext) & 0xFFFFFFFF
        if delta == 0:
            conn.cbuf += payload
            conn.cnext = (conn.cnext + len(payload)) & 0xFFFFFFFF
            while conn.cnext in conn.cooo:
                seg = conn.cooo.pop(conn.cnext)
                conn.cbuf += seg
                conn.cnext = (conn.cnext + len(seg)) & 0xFFFFFFFF
        elif delta < 0x80000000:  # ahead of what we have: keep for later
            if len(conn.cooo) < TCP_OOO_LIMIT:
                conn.cooo[seq] = payload
            return
        else:  # retransmission, possibly with new data at its end
            overlap = (conn.cnext - seq) & 0xFFFFFFFF
            if overlap >= len(payload):
                return
            conn.cbuf += payload[overlap:]
            conn.cnext = (conn.cnext + len(payload) - overlap) & 0xFFFFFFFF
        self._examine_client_stream(t, conn)

    def _examine_client_stream(self, t: float, conn: _Conn) -> None:
        buf = conn.cbuf
        assert buf is not None
        if buf[:1] != b"\x16" and buf.startswith(_HTTP_METHODS):
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                if len(buf) > TLS_BUFFER_LIMIT:
                    self._finish_stream(conn)
                return
            head = bytes(buf[:head_end]).decode("latin-1")
            first, *lines = head.split("\r\n")
            if first.startswith("CONNECT "):
                conn.http_host = first.split(" ")[1] if len(first.split(" ")) > 1 else None
                conn.app = "http"
                _note(conn, "HTTP CONNECT (explicit proxy)")
                del buf[: head_end + 4]
                if not buf:
                    return
            else:
                for line in lines:
                    if line.lower().startswith("host:"):
                        conn.http_host = line[5:].strip()
                        break
                conn.app = "http"
                self._finish_stream(conn)
                return
        status, sni = client_hello_from_records(bytes(buf))
        if status == "need-more":
            if len(buf) > TLS_BUFFER_LIMIT:
                _note(conn, "incomplete ClientHello")
                self._finish_stream(conn)
            return
        if status == "done":
            conn.app = "tls"
            conn.sni = sni
            self.events.append(
                {
                    "t": t,
                    "proto": "tls",
                    "src": _addr(*conn.client, self.names),
                    "dst": _addr(*conn.server, self.names),
                    "sni": sni,
                    "http_host": conn.http_host,
                    "packets": 1,
                    "note": "" if sni else "ClientHello without SNI",
                }
            )
        self._finish_stream(conn)

    @staticmethod
    def _finish_stream(conn: _Conn) -> None:
        conn.hs_done = True
        conn.cbuf = None
        conn.cooo = None

    def _dns_tcp(self, t: float, conn: _Conn, from_client: bool, payload: bytes, wirelen: int) -> None:
        conn.app = "dns"
        if conn.dns_bufs is None:
            conn.dns_bufs = {True: bytearray(), False: bytearray()}
        buf = conn.dns_bufs[from_client]
        buf += payload
        while len(buf) >= 2:
            n = buf[0] << 8 | buf[1]
            if len(buf) < 2 + n:
                break
            msg = bytes(buf[2 : 2 + n])
            del buf[: 2 + n]
            src, dst = (conn.client, conn.server) if from_client else (conn.server, conn.client)
            self._dns_event(t, msg, src, dst, wirelen)

    def _dns_event(
        self, t: float, msg: bytes, src: tuple[bytes, int], dst: tuple[bytes, int], wirelen: int
    ) -> None:
        parsed = parse_dns(msg)
        if parsed is None:
            self.events.append(
                {"t": t, "proto": "dns", "src": _addr(*src, self.names), "dst": _addr(*dst, self.names),
                 "bytes": wirelen, "packets": 1, "note": "malformed DNS"}
            )  # fmt: skip
            return
        self.events.append(
            {
                "t": t,
                "proto": "dns",
                "src": _addr(*src, self.names),
                "dst": _addr(*dst, self.names),
                "dns_qname": parsed.qname,
                "dns_qtype": parsed.qtype,
                "dns_response": parsed.response,
                "dns_answers": parsed.answers,
                "bytes": wirelen,
                "packets": 1,
                "note": "truncated DNS message" if parsed.truncated else "",
            }
        )

    def _udp(self, t: float, d: bytes, l4: int, end: int, src: bytes, dst: bytes, wirelen: int) -> None:
        sport = d[l4] << 8 | d[l4 + 1]
        dport = d[l4 + 2] << 8 | d[l4 + 3]
        payload = d[l4 + 8 : end]
        conn_key_is_new = False
        # Initiator of a UDP "connection": the first sender, unless it answers from a well-known port.
        initiator_is_src = not (sport < 1024 <= dport or sport in _DNS_PORTS and dport not in _DNS_PORTS)
        a, b = (src, sport), (dst, dport)
        key = ("udp", a, b) if a <= b else ("udp", b, a)
        conn = self.conns.get(key)
        if conn is None:
            conn = self._conn(t, "udp", src, sport, dst, dport, initiator_is_src)
            conn_key_is_new = True
        conn.nbytes += wirelen
        conn.packets += 1
        conn.t_last = t
        if (src, sport) == conn.client:
            conn.up += wirelen
        conn.payload += len(payload)
        if sport in _DNS_PORTS or dport in _DNS_PORTS:
            conn.app = "dns"
            self._dns_event(t, payload, (src, sport), (dst, dport), wirelen)
            return
        if payload and payload[0] & 0x80 and (conn_key_is_new or conn.app in ("quic", "gquic", "")):
            self._quic(t, conn, key, payload, (src, sport), (dst, dport), wirelen)

    def _quic(
        self,
        t: float,
        conn: _Conn,
        key: tuple[Any, ...],
        payload: bytes,
        src: tuple[bytes, int],
        dst: tuple[bytes, int],
        wirelen: int,
    ) -> None:
        lh = quic_long_header(payload)
        if lh is None:
            return
        kind, version = lh
        if kind == "gquic":
            conn.app = "gquic"
            conn.quic_version = payload[1:5].decode("ascii")
            _note(conn, f"gQUIC {conn.quic_version}, not IETF QUIC: not decrypted")
            return
        if kind == "negotiation":
            _note(conn, "QUIC version negotiation")
            return
        if kind == "unknown":
            if not conn.app:
                conn.app = "quic"
            _note(conn, f"QUIC version 0x{version:08x}: not decrypted")
            return
        conn.app = "quic"
        if conn.quic_version is None:
            conn.quic_version = f"0x{version:08x}"
        known = self.quic_cids.setdefault(key, [])
        result = decrypt_initial(payload, tuple(known))
        if result is None:
            if (payload[0] & 0x30) >> 4 == (0 if version == QUIC_V1 else 1) and (src == conn.client):
                # A client Initial we could not decrypt: usually cut by the capture's snaplen.
                hello = self.quic.setdefault(
                    (key, ("undecrypted", payload[6 : 6 + payload[5]])),
                    _QuicHello(t, _addr(*src, self.names), _addr(*dst, self.names), version),
                )
                hello.packets += 1
                hello.nbytes += wirelen
                # Client Initials are padded to >= 1200 bytes (RFC 9000 14.1): shorter means cut by snaplen.
                hello.note = (
                    "client Initial not decryptable (cut by the capture's snaplen)"
                    if len(payload) < 1200
                    else "client Initial not decryptable"
                )
            return
        version, dcid, plain = result
        if dcid not in known:
            known.append(dcid)
        hello = self.quic.setdefault(
            (key, dcid), _QuicHello(t, _addr(*src, self.names), _addr(*dst, self.names), version)
        )
        hello.packets += 1
        hello.nbytes += wirelen
        hello.decrypted += 1
        if hello.done:
            return
        for off, chunk in quic_crypto_frames(plain):
            hello.chunks.setdefault(off, chunk)
        data = bytearray()
        while len(data) in hello.chunks:
            data += hello.chunks[len(data)]
        try:
            complete, sni = parse_client_hello(bytes(data))
        except (ValueError, IndexError):
            hello.done = True
            hello.note = "CRYPTO data is not a ClientHello"
            return
        if complete:
            hello.done = True
            hello.sni = sni
            hello.note = "" if sni else "ClientHello without SNI"
            conn.sni = conn.sni or sni

    def rows(self) -> list[dict[str, Any]]:
        """All rows: events (DNS, TLS, QUIC) then connections, each sorted by time."""
        rows = list(self.events)
        for hello in self.quic.values():
            note = hello.note
            if not hello.done and not note:
                note = "incomplete ClientHello (missing CRYPTO data)"
            rows.append(
                {
                    "t": hello.t,
                    "proto": "quic",
                    "src": hello.src,
                    "dst": hello.dst,
                    "sni": hello.sni,
                    "quic_version": f"0x{hello.version:08x}",
                    "bytes": hello.nbytes,
                    "packets": hello.packets,
                    "note": note,
                }
            )
        for conn in self.conns.values():
            if conn.cbuf is not None and not conn.hs_done:
                status, sni = client_hello_from_records(bytes(conn.cbuf))
                if status == "need-more" and conn.cbuf[:1] == b"\x16":
                    _note(conn, "incomplete ClientHello")
                    conn.app = conn.app or "tls"
            if conn.payload == 0:
                _note(conn, NO_PAYLOAD)
            rows.append(
                {
                    "t": conn.t,
                    "proto": conn.proto,
                    "src": _addr(*conn.client, self.names),
                    "dst": _addr(*conn.server, self.names),
                    "app": conn.app,
                    "sni": conn.sni,
                    "http_host": conn.http_host,
                    "quic_version": conn.quic_version,
                    "bytes": conn.nbytes,
                    "bytes_up": conn.up,
                    "bytes_down": conn.nbytes - conn.up,
                    "t_last": conn.t_last or conn.t,
                    "packets": conn.packets,
                    "note": "; ".join(conn.notes),
                }
            )
        rows.sort(key=lambda r: r["t"])
        return rows


# -- reading files ---------------------------------------------------------------------------------


_RECORD_LIMIT = 1 << 18  # a record claiming more than this is corrupt (snaplen is at most 262144)


def _classic_records(
    f: Any, endian: str, scale: float, state: dict[str, Any]
) -> Iterator[tuple[float, bytes, int]]:
    """(time, frame, original length) of each record of a classic pcap stream, read in 1 MiB chunks
    (one struct unpack per record instead of two reads and a namedtuple: the pass's main cost)."""
    header = struct.Struct(endian + "IIII")
    buf = b""
    pos = 0
    while True:
        if len(buf) - pos < 16:
            buf = buf[pos:] + f.read(1 << 20)
            pos = 0
            if len(buf) < 16:
                if buf:
                    state["cut_off"] = True
                return
        sec, frac, caplen, wirelen = header.unpack_from(buf, pos)
        if caplen > _RECORD_LIMIT:
            state["corrupt"] = f"record claims {caplen} bytes"
            return
        end = pos + 16 + caplen
        if end > len(buf):
            buf = buf[pos:] + f.read(max(1 << 20, caplen + 16))
            end -= pos
            pos = 0
            if end > len(buf):
                state["cut_off"] = True
                return
        yield sec + frac * scale, buf[pos + 16 : end], wirelen
        pos = end


def iter_frames(path: Path, state: dict[str, Any] | None = None) -> Iterator[tuple[float, int, bytes, int]]:
    """(time, link type, frame bytes, original length) of every frame in a pcap or pcapng file.

    scapy's `RawPcapReader` opens the file and identifies it (pcap or pcapng, byte order, nanosecond
    resolution, gzip); classic pcap records are then read in chunks, pcapng blocks by scapy. `state`
    receives "cut_off" (the file ends inside a record) or "corrupt" (an impossible record length).
    """
    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapNgReader
    from scapy.utils import RawPcapReader

    state = state if state is not None else {}
    try:
        reader = RawPcapReader(str(path))
    except FileNotFoundError:
        raise PrivlabError(f"{path}: pcap file not found") from None
    except (Scapy_Exception, OSError, EOFError, struct.error) as e:
        raise PrivlabError(f"{path}: not a pcap or pcapng capture ({e})") from None
    with reader:
        if not isinstance(reader, RawPcapNgReader):
            linktype = reader.linktype
            scale = 1e-9 if reader.nano else 1e-6
            for t, data, wirelen in _classic_records(reader.f, reader.endian, scale, state):
                yield t, linktype, data, wirelen
            return
        try:
            for data, meta in reader:
                m: Any = meta
                yield (m.tshigh << 32 | m.tslow) / m.tsresol, m.linktype, data, m.wirelen or len(data)
        except (Scapy_Exception, struct.error) as e:
            state["corrupt"] = str(e)


def parse_pcap(path: Path, progress: bool = False) -> PacketParser:
    """Run one pass over `path` and return the parser with its rows and counters."""
    parser = PacketParser()
    feed = parser.feed
    frames = iter_frames(Path(path), parser.file_state)
    if not progress:
        for t, linktype, data, wirelen in frames:
            feed(t, linktype, data, wirelen)
        return parser
    from rich.progress import BarColumn
    from rich.progress import Progress
    from rich.progress import TaskProgressColumn
    from rich.progress import TextColumn
    from rich.progress import TimeRemainingColumn

    size = Path(path).stat().st_size
    with Progress(
        TextColumn("packets"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), transient=True
    ) as bar:
        task = bar.add_task("pcap", total=size)
        done = 24
        for t, linktype, data, wirelen in frames:
            feed(t, linktype, data, wirelen)
            done += len(data) + 16
            if parser.frames % 20000 == 0:
                bar.update(task, completed=done)
        bar.update(task, completed=size)
    return parser


def rows_to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A PACKETS DataFrame (all schema columns, schema order) from row dicts."""
    columns = PACKETS.names
    df = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    # Whole microseconds (the Arrow schema's unit): float seconds carry sub-microsecond noise.
    df["t"] = pd.to_datetime((df["t"].astype("float64") * 1e6).round().astype("int64"), unit="us", utc=True)
    # Connection rows only: the last packet's time and the bytes each way (events leave them empty).
    last = df["t_last"].astype("float64")
    df["t_last"] = pd.to_datetime((last * 1e6).round().astype("Int64"), unit="us", utc=True)
    for col in ("bytes_up", "bytes_down"):
        df[col] = df[col].astype("Int64")
    for col in ("bytes", "packets"):
        df[col] = df[col].fillna(0).astype("int64")
    for col in ("app", "note"):
        df[col] = df[col].fillna("").astype(object)
    df["dns_answers"] = pd.Series(
        [a if isinstance(a, list) else None for a in df["dns_answers"]], dtype=object
    )
    df["dns_response"] = df["dns_response"].astype(object)
    return df


def build_packets(pcap: Path, progress: bool = False) -> pd.DataFrame:
    """The PACKETS table of a capture file (columns of `schema.PACKETS`).

    `df.attrs` carries the counters: frames, non_ip, malformed, truncated (frames cut by snaplen).
    """
    parser = parse_pcap(Path(pcap), progress=progress)
    df = rows_to_frame(parser.rows())
    df.attrs.update(
        {
            "source": str(pcap),
            "frames": parser.frames,
            "non_ip": parser.non_ip,
            "malformed": parser.malformed,
            "truncated": parser.truncated,
            "file_cut_off": bool(parser.file_state.get("cut_off")),
            "file_corrupt": parser.file_state.get("corrupt", ""),
        }
    )
    return df
