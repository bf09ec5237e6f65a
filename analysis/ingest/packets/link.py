"""Link layers: where the IP header starts in a frame of each pcap link type (scapy for the rest)."""

from __future__ import annotations

# -- link layers -----------------------------------------------------------------------------------

LINKTYPE_NULL = 0  # BSD loopback: 4-byte address family in host byte order
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9
LINKTYPE_RAW_OLD = 12  # DLT_RAW on some BSDs
LINKTYPE_RAW_OLD2 = 14
LINKTYPE_PPP_HDLC = 50
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108  # OpenBSD loopback: address family in network byte order
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

_AF_INET6_VALUES = {10, 24, 28, 30}  # Linux, NetBSD/OpenBSD, FreeBSD, macOS


def _ip_from_link(linktype: int, data: bytes) -> int:
    """Offset of the IP header inside a frame of `linktype`, or -1 if it carries no IPv4/IPv6."""
    if linktype == LINKTYPE_ETHERNET:
        off = 12
        etype = data[off] << 8 | data[off + 1]
        while etype in (0x8100, 0x88A8):  # VLAN tags
            off += 4
            etype = data[off] << 8 | data[off + 1]
        return off + 2 if etype in (0x0800, 0x86DD) else -1
    if linktype in (LINKTYPE_RAW, LINKTYPE_RAW_OLD, LINKTYPE_RAW_OLD2, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return 0
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        af_le = data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24
        af_be = data[3] | data[2] << 8 | data[1] << 16 | data[0] << 24
        return (
            4 if (af_le == 2 or af_be == 2 or af_le in _AF_INET6_VALUES or af_be in _AF_INET6_VALUES) else -1
        )
    if linktype == LINKTYPE_LINUX_SLL:
        return 16 if (data[14] << 8 | data[15]) in (0x0800, 0x86DD) else -1
    if linktype == LINKTYPE_LINUX_SLL2:
        return 20 if (data[0] << 8 | data[1]) in (0x0800, 0x86DD) else -1
    if linktype in (LINKTYPE_PPP, LINKTYPE_PPP_HDLC):
        off = 2 if data[0] == 0xFF and data[1] == 0x03 else 0
        proto = data[off] << 8 | data[off + 1]
        return off + 2 if proto in (0x0021, 0x0057) else -1
    return -2  # unknown link type: let scapy find the IP layer


def _ip_via_scapy(linktype: int, data: bytes) -> bytes | None:
    """IP header and payload of a frame of a link type this module does not parse, via scapy."""
    from scapy.config import conf
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    cls = conf.l2types.num2layer.get(linktype)
    if cls is None:
        return None
    try:
        pkt = cls(data)
    except Exception:  # scapy raises many things on garbage; the packet is just skipped
        return None
    for layer in (IP, IPv6):
        if layer in pkt:
            return bytes(pkt[layer])
    return None
