"""TLS ClientHello: the SNI of a client's first flight, from its reassembled records."""

from __future__ import annotations

# -- TLS ClientHello ---------------------------------------------------------------------------------


def parse_client_hello(hs: bytes) -> tuple[bool, str | None]:
    """(complete, SNI) of a TLS handshake message stream starting with a ClientHello.

    `complete` is False while bytes are missing. The SNI is None when the hello has no server_name.
    Raises ValueError if `hs` is not a ClientHello.
    """
    if len(hs) < 4:
        return False, None
    if hs[0] != 1:
        raise ValueError("not a ClientHello")
    length = hs[1] << 16 | hs[2] << 8 | hs[3]
    if len(hs) < 4 + length:
        return False, None
    b = hs[4 : 4 + length]
    p = 2 + 32
    p += 1 + b[p]  # session id
    p += 2 + (b[p] << 8 | b[p + 1])  # cipher suites
    p += 1 + b[p]  # compression methods
    if p + 2 > len(b):
        return True, None
    end = p + 2 + (b[p] << 8 | b[p + 1])
    p += 2
    while p + 4 <= min(end, len(b)):
        etype = b[p] << 8 | b[p + 1]
        elen = b[p + 2] << 8 | b[p + 3]
        p += 4
        if etype == 0 and elen >= 5:
            # server_name_list: u16 list length, then (u8 type, u16 length, name)...
            q = p + 2
            while q + 3 <= p + elen:
                ntype = b[q]
                nlen = b[q + 1] << 8 | b[q + 2]
                if ntype == 0:
                    return True, b[q + 3 : q + 3 + nlen].decode("ascii", errors="backslashreplace")
                q += 3 + nlen
        p += elen
    return True, None


def client_hello_from_records(stream: bytes) -> tuple[str, str | None]:
    """Status and SNI of a TLS client stream: ("need-more" | "done" | "not-tls", sni)."""
    hs = bytearray()
    p = 0
    while p + 5 <= len(stream):
        ctype, major = stream[p], stream[p + 1]
        if ctype != 22 or major != 3:
            return ("not-tls", None) if p == 0 else ("done", None)
        rlen = stream[p + 3] << 8 | stream[p + 4]
        hs += stream[p + 5 : p + 5 + rlen]
        try:
            complete, sni = parse_client_hello(bytes(hs))
        except (ValueError, IndexError):
            return ("not-tls", None) if p == 0 else ("done", None)
        if complete:
            return "done", sni
        if p + 5 + rlen > len(stream):
            return "need-more", None
        p += 5 + rlen
    if p == 0 and stream and (stream[0] != 22 or (len(stream) > 1 and stream[1] != 3)):
        return "not-tls", None
    return "need-more", None
