"""pcap -> the PACKETS table: DNS, TLS ClientHello SNI, QUIC Initial SNI, and every connection.

One streaming pass with scapy's `RawPcapReader` (pcap and pcapng, never loaded whole) and hand parsing
of the link, IP, TCP and UDP headers, DNS, TLS and QUIC: full scapy dissection is ~100x slower, and
only the link types this module does not know are handed to scapy, packet by packet.

- DNS (UDP/TCP 53 and mDNS 5353): one row per message, with question and answers; a message cut by the
  capture's snaplen keeps the answers read before the cut.
- TLS: the client's first bytes of every TCP connection are reassembled in sequence order (out-of-order
  segments and retransmissions handled) until the ClientHello is complete, on any port; an HTTP
  `CONNECT host:port` in front of it (an explicit proxy) is read and skipped; plain HTTP gives the Host.
- QUIC v1/v2: client Initial packets are decrypted with the RFC 9001 initial secrets (aioquic), CRYPTO
  frames are joined by offset across Initials of the same destination connection id, and the
  ClientHello's SNI is read. gQUIC (Q0xx) and unknown versions are labelled, never decrypted.
- Connections (`tcp` / `udp` rows): initiator -> responder, bytes and packets over both directions, the
  SNI / HTTP host found in them.

Nothing here reads flows: joining pcap connections with the proxy's flows (and listing what the proxy
never saw) is `analysis.attribute.destinations`' job.

Modules, one a protocol: `link` (link types -> IP), `dns`, `tls` (ClientHello), `quic` (Initials),
`connections` (the pass over the frames, connection accounting, reading files).
"""

from __future__ import annotations

from analysis.ingest.packets.connections import NO_PAYLOAD
from analysis.ingest.packets.connections import TCP_OOO_LIMIT
from analysis.ingest.packets.connections import TLS_BUFFER_LIMIT
from analysis.ingest.packets.connections import PacketParser
from analysis.ingest.packets.connections import build_packets
from analysis.ingest.packets.connections import iter_frames
from analysis.ingest.packets.connections import parse_pcap
from analysis.ingest.packets.connections import rows_to_frame
from analysis.ingest.packets.dns import DnsMessage
from analysis.ingest.packets.dns import parse_dns
from analysis.ingest.packets.link import LINKTYPE_ETHERNET
from analysis.ingest.packets.link import LINKTYPE_IPV4
from analysis.ingest.packets.link import LINKTYPE_IPV6
from analysis.ingest.packets.link import LINKTYPE_LINUX_SLL
from analysis.ingest.packets.link import LINKTYPE_LINUX_SLL2
from analysis.ingest.packets.link import LINKTYPE_LOOP
from analysis.ingest.packets.link import LINKTYPE_NULL
from analysis.ingest.packets.link import LINKTYPE_PPP
from analysis.ingest.packets.link import LINKTYPE_PPP_HDLC
from analysis.ingest.packets.link import LINKTYPE_RAW
from analysis.ingest.packets.link import LINKTYPE_RAW_OLD
from analysis.ingest.packets.link import LINKTYPE_RAW_OLD2
from analysis.ingest.packets.quic import QUIC_V1
from analysis.ingest.packets.quic import QUIC_V2
from analysis.ingest.packets.quic import decrypt_initial
from analysis.ingest.packets.quic import quic_crypto_frames
from analysis.ingest.packets.quic import quic_long_header
from analysis.ingest.packets.tls import client_hello_from_records
from analysis.ingest.packets.tls import parse_client_hello

__all__ = [
    "DnsMessage",
    "LINKTYPE_ETHERNET",
    "LINKTYPE_IPV4",
    "LINKTYPE_IPV6",
    "LINKTYPE_LINUX_SLL",
    "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_LOOP",
    "LINKTYPE_NULL",
    "LINKTYPE_PPP",
    "LINKTYPE_PPP_HDLC",
    "LINKTYPE_RAW",
    "LINKTYPE_RAW_OLD",
    "LINKTYPE_RAW_OLD2",
    "NO_PAYLOAD",
    "PacketParser",
    "QUIC_V1",
    "QUIC_V2",
    "TCP_OOO_LIMIT",
    "TLS_BUFFER_LIMIT",
    "build_packets",
    "client_hello_from_records",
    "decrypt_initial",
    "iter_frames",
    "parse_client_hello",
    "parse_dns",
    "parse_pcap",
    "quic_crypto_frames",
    "quic_long_header",
    "rows_to_frame",
]
