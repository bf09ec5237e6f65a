"""DNS messages (UDP/TCP 53, mDNS 5353): question and answers, a message cut by the snaplen kept up to the cut."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

_DNS_PORTS = {53, 5353}
_DNS_TYPES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    41: "OPT",
    43: "DS",
    44: "SSHFP",
    46: "RRSIG",
    47: "NSEC",
    48: "DNSKEY",
    64: "SVCB",
    65: "HTTPS",
    255: "ANY",
    256: "URI",
}


# -- DNS -------------------------------------------------------------------------------------------


@dataclass
class DnsMessage:
    """The parts of a DNS message privlab keeps."""

    response: bool
    rcode: int
    qname: str | None
    qtype: str | None
    answers: list[str]
    truncated: bool  # the capture (or the message) ended before all answers were read


def _dns_name(msg: bytes, off: int) -> tuple[str, int]:
    """Read a (possibly compressed) name at `off`; returns (name without trailing dot, offset after it)."""
    labels: list[str] = []
    end = -1
    jumps = 0
    total = 0
    while True:
        n = msg[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            if end < 0:
                end = off + 2
            off = (n & 0x3F) << 8 | msg[off + 1]
            jumps += 1
            if jumps > 32:
                raise ValueError("DNS name compression loop")
            continue
        if n & 0xC0:
            raise ValueError("bad DNS label type")
        label = msg[off + 1 : off + 1 + n]
        if len(label) < n:
            raise IndexError("DNS name cut short")
        labels.append(label.decode("ascii", errors="backslashreplace"))
        total += n + 1
        if total > 255:
            raise ValueError("DNS name too long")
        off += 1 + n
    return ".".join(labels), (end if end >= 0 else off)


def parse_dns(msg: bytes) -> DnsMessage | None:
    """Parse a DNS message; None if it is not one. A cut-off message keeps what was read."""
    if len(msg) < 12:
        return None
    flags = msg[2] << 8 | msg[3]
    qd = msg[4] << 8 | msg[5]
    an = msg[6] << 8 | msg[7]
    out = DnsMessage(bool(flags & 0x8000), flags & 0xF, None, None, [], False)
    off = 12
    try:
        for i in range(qd):
            name, off = _dns_name(msg, off)
            qtype = msg[off] << 8 | msg[off + 1]
            off += 4
            if i == 0:
                out.qname = name
                out.qtype = _DNS_TYPES.get(qtype, f"TYPE{qtype}")
        for _ in range(an):
            _, off = _dns_name(msg, off)
            rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", msg, off)
            off += 10
            rdata = msg[off : off + rdlen]
            if len(rdata) < rdlen:
                out.truncated = True
                break
            if rtype == 1 and rdlen == 4:
                out.answers.append(socket.inet_ntop(socket.AF_INET, rdata))
            elif rtype == 28 and rdlen == 16:
                out.answers.append(socket.inet_ntop(socket.AF_INET6, rdata))
            elif rtype in (5, 2, 12):
                out.answers.append(_dns_name(msg, off)[0])
            elif rtype == 256 and rdlen >= 4:
                prio, weight = struct.unpack_from("!HH", rdata)
                out.answers.append(f"URI {prio} {weight} {rdata[4:].decode('ascii', 'backslashreplace')}")
            else:
                out.answers.append(_DNS_TYPES.get(rtype, f"TYPE{rtype}"))
            off += rdlen
    except (IndexError, struct.error):
        out.truncated = True
    except ValueError:
        out.truncated = True
    if out.qname is None and not out.answers:
        return None if qd or an else out
    return out
