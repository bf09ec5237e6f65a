"""QUIC v1/v2 client Initials decrypted with the RFC 9001 initial secrets; gQUIC labelled, never decrypted."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

QUIC_V1 = 0x00000001
QUIC_V2 = 0x6B3343CF


# -- QUIC ------------------------------------------------------------------------------------------


def _varint(b: bytes, p: int) -> tuple[int, int]:
    first = b[p]
    n = 1 << (first >> 6)
    v = first & 0x3F
    for i in range(1, n):
        v = v << 8 | b[p + i]
    return v, p + n


_NON_ZERO = re.compile(rb"[^\x00]")


def quic_crypto_frames(plain: bytes) -> list[tuple[int, bytes]]:
    """(offset, data) of the CRYPTO frames in a decrypted Initial payload (stops at an unknown frame)."""
    out: list[tuple[int, bytes]] = []
    p = 0
    n = len(plain)
    # A frame that runs past the packet's end (a truncated capture): keep the frames read so far.
    with contextlib.suppress(IndexError):
        while p < n:
            ftype = plain[p]
            if ftype == 0x00:  # PADDING: usually a long run of zeros to reach 1200 bytes; skip it at once
                m = _NON_ZERO.search(plain, p)
                p = m.start() if m else n
            elif ftype == 0x01:  # PING
                p += 1
            elif ftype in (0x02, 0x03):  # ACK
                p += 1
                _, p = _varint(plain, p)
                _, p = _varint(plain, p)
                count, p = _varint(plain, p)
                _, p = _varint(plain, p)
                for _ in range(count * 2):
                    _, p = _varint(plain, p)
                if ftype == 0x03:
                    for _ in range(3):
                        _, p = _varint(plain, p)
            elif ftype == 0x06:  # CRYPTO
                offset, p = _varint(plain, p + 1)
                length, p = _varint(plain, p)
                out.append((offset, plain[p : p + length]))
                p += length
            elif ftype in (0x1C, 0x1D):  # CONNECTION_CLOSE
                _, p = _varint(plain, p + 1)
                if ftype == 0x1C:
                    _, p = _varint(plain, p)
                rlen, p = _varint(plain, p)
                p += rlen
            else:
                break
    return out


@dataclass
class _QuicHello:
    """CRYPTO data of one QUIC client handshake (keyed by connection and destination connection id)."""

    t: float
    src: str
    dst: str
    version: int
    chunks: dict[int, bytes] = field(default_factory=dict)
    sni: str | None = None
    done: bool = False
    packets: int = 0
    nbytes: int = 0
    decrypted: int = 0
    note: str = ""


# Initial keys depend only on (connection id, version): derive them once (HKDF is the costly part).
_initial_keys: dict[tuple[bytes, int], Any] = {}


def _client_initial_keys(cid: bytes, version: int) -> Any:
    """The client's Initial packet protection (RFC 9001 5.2 / RFC 9369 3.3.1); only the client side,
    which is all a reader of client Initials needs (aioquic's CryptoPair derives both)."""
    from aioquic.quic.crypto import INITIAL_CIPHER_SUITE
    from aioquic.quic.crypto import INITIAL_SALT_VERSION_1
    from aioquic.quic.crypto import INITIAL_SALT_VERSION_2
    from aioquic.quic.crypto import CryptoContext
    from aioquic.tls import cipher_suite_hash
    from aioquic.tls import hkdf_expand_label
    from aioquic.tls import hkdf_extract

    algorithm = cipher_suite_hash(INITIAL_CIPHER_SUITE)
    salt = INITIAL_SALT_VERSION_2 if version == QUIC_V2 else INITIAL_SALT_VERSION_1
    secret = hkdf_expand_label(
        algorithm, hkdf_extract(algorithm, salt, cid), b"client in", b"", algorithm.digest_size
    )
    ctx = CryptoContext()
    ctx.setup(cipher_suite=INITIAL_CIPHER_SUITE, secret=secret, version=version)
    return ctx


def decrypt_initial(datagram: bytes, known_cids: tuple[bytes, ...] = ()) -> tuple[int, bytes, bytes] | None:
    """(version, key connection id, plaintext) of a client Initial; None if it is not one.

    Uses aioquic's RFC 9001 / RFC 9369 initial keys, derived from the packet's destination connection id
    or, for a client's later Initials (sent to the server's chosen id but still under the original keys),
    from one of `known_cids`. A server's Initial, a truncated packet, or an unsupported version gives None.
    """
    from aioquic.buffer import Buffer
    from aioquic.quic.packet import QuicPacketType
    from aioquic.quic.packet import pull_quic_header

    try:
        buf = Buffer(data=datagram)
        hdr = pull_quic_header(buf, host_cid_length=8)
        if hdr.packet_type != QuicPacketType.INITIAL or hdr.version not in (QUIC_V1, QUIC_V2):
            return None
        packet, pn_offset = datagram[: hdr.packet_length], buf.tell()
    except Exception:  # aioquic raises ValueError/BufferReadError on anything that is not QUIC
        return None
    for cid in (hdr.destination_cid, *(c for c in known_cids if c != hdr.destination_cid)):
        try:
            keys = _initial_keys.get((cid, hdr.version))
            if keys is None:
                keys = _client_initial_keys(cid, hdr.version)
                if len(_initial_keys) > 4096:
                    _initial_keys.clear()
                _initial_keys[(cid, hdr.version)] = keys
            _, plain, _, _ = keys.decrypt_packet(packet, pn_offset, 0)
        except Exception:  # CryptoError: not these keys (or a server packet, or cut short)
            continue
        return hdr.version, cid, plain
    return None


def quic_long_header(payload: bytes) -> tuple[str, int] | None:
    """(kind, version) of a QUIC long-header datagram: kind is ietf, gquic, negotiation or unknown."""
    if len(payload) < 7 or not payload[0] & 0x80:
        return None
    if payload[1:2] == b"Q" and payload[2:5].isdigit():
        return "gquic", int.from_bytes(payload[1:5], "big")
    version = int.from_bytes(payload[1:5], "big")
    if version == 0:
        return "negotiation", 0
    if version in (QUIC_V1, QUIC_V2):
        return "ietf", version
    return "unknown", version
