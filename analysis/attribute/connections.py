"""The pcap's connections, one row each, joined with the proxy's flows: the one table pcap numbers come from.

Per connection (a `tcp`/`udp` row of PACKETS that carried data, DNS excluded): packets, on-the-wire bytes
each way, first and last packet time, the name it was for (TLS SNI, QUIC SNI, HTTP Host, else a DNS
answer the device received for the server address) and whether the proxy saw it (a flow has its
client end, capture on the device side, or its server end, capture on the upstream side).

`destinations` (bytes and hosts seen only in the pcap) and `coverage` (connections, hosts and QUIC
packets the proxy did not see) are both computed from `connection_table`, so the CLI and the report
state the same numbers.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from typing import Any

import pandas as pd
import pyarrow as pa

from analysis.attribute.domains import is_ip
from analysis.attribute.entities import normalise_host
from analysis.ingest.packets import NO_PAYLOAD
from analysis.schema import TIME

CONNECTIONS = pa.schema(
    [
        ("t_first", TIME),
        ("t_last", TIME),
        ("proto", pa.string()),  # tcp | udp
        ("app", pa.string()),  # tls | quic | gquic | http | "" (unknown)
        ("client", pa.string()),  # "ip:port" of the side that opened it (the device)
        ("server", pa.string()),
        ("name", pa.string()),  # the host it was for, or the server IP when nothing names it
        ("name_source", pa.string()),  # sni | quic-sni | http-host | dns | ip
        ("packets", pa.int64()),
        ("bytes_up", pa.int64()),  # on-the-wire bytes the device sent
        ("bytes_down", pa.int64()),
        ("seen_by_proxy", pa.bool_()),
        ("as_flow", pa.bool_()),  # its cleartext HTTP became flows (pcap import); its bytes are counted here
    ]
)


def _text(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)):
        return None
    s = str(v)
    return s or None


def split_endpoint(text: str | None) -> tuple[str | None, int | None]:
    """("ip", port) of "1.2.3.4:443", "[::1]:443" or "::1:443" (normalised; IPv4-mapped IPv6 -> IPv4)."""
    if not text:
        return None, None
    s = str(text).strip()
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        port_text = rest.lstrip(":")
    else:
        host, _, port_text = s.rpartition(":")
        if not host:
            host, port_text = s, ""
    return normalise_ip(host), (int(port_text) if port_text.isdigit() else None)


@functools.lru_cache(maxsize=65536)  # the same few server addresses recur on every flow
def normalise_ip(ip: str | None) -> str | None:
    """Canonical text of an address ("::ffff:1.2.3.4" -> "1.2.3.4"); non-addresses returned stripped."""
    if ip is None:
        return None
    s = str(ip).strip().strip("[]")
    try:
        addr = ipaddress.ip_address(s.split("%", 1)[0])
    except ValueError:
        return s or None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def _flow_keys(
    flows: pd.DataFrame,
) -> tuple[set[tuple[str | None, int | None]], set[tuple[str | None, int | None]], set[str]]:
    clients = {split_endpoint(c) for c in flows["client"]} if len(flows) else set()
    servers = (
        {
            (normalise_ip(_text(ip)), int(p) if pd.notna(p) else None)
            for ip, p in zip(flows["server_ip"], flows["server_port"], strict=True)
        }
        if len(flows)
        else set()
    )
    hosts: set[str] = set()
    for h, s in zip(flows.get("host", []), flows.get("sni", []), strict=True):
        for v in (_text(h), _text(s)):
            if v:
                hosts.add(normalise_host(v))
    return clients, servers, hosts


def _conn_seen_by_proxy(
    row: dict[str, Any],
    clients: set[tuple[str | None, int | None]],
    servers: set[tuple[str | None, int | None]],
) -> bool:
    """A pcap connection the proxy handled: its client end is a flow's client (capture on the device
    side of the proxy) or its server end is a flow's server (capture on the upstream side)."""
    return split_endpoint(row["src"]) in clients or split_endpoint(row["dst"]) in servers


def dns_names(packets: pd.DataFrame | None) -> dict[str, set[str]]:
    """name -> IPs from DNS responses in the pcap (the addresses the device was given)."""
    out: dict[str, set[str]] = defaultdict(set)
    if packets is None or packets.empty:
        return out
    dns = packets[(packets["proto"] == "dns") & (packets["dns_response"] == True)]  # noqa: E712
    for qname, answers in zip(dns["dns_qname"], dns["dns_answers"], strict=True):
        name = _text(qname)
        if not name or answers is None:
            continue
        for a in answers:
            a = str(a)
            if is_ip(a):
                out[name.lower()].add(normalise_ip(a) or a)
    return out


def connection_table(flows: pd.DataFrame, packets: pd.DataFrame | None) -> pd.DataFrame:
    """One row per pcap connection that carried data (CONNECTIONS columns), DNS connections excluded."""
    if packets is None or packets.empty:
        return pd.DataFrame(columns=CONNECTIONS.names)
    conns = packets[packets["proto"].isin(["tcp", "udp"]) & (packets["app"] != "dns")]
    conns = conns[~conns["note"].fillna("").str.contains(NO_PAYLOAD, regex=False)]
    if conns.empty:
        return pd.DataFrame(columns=CONNECTIONS.names)
    # Only the proxy's flows say the proxy saw a connection; a flow made from a pcap's cleartext HTTP
    # (`via = "pcap-only"`) is that connection's content, not a sighting by the proxy.
    via = flows["via"].fillna("proxy").astype(str) if len(flows) and "via" in flows else None
    proxied = flows[via != "pcap-only"] if via is not None else flows
    clients, servers, _ = _flow_keys(proxied)
    as_flow = (
        {split_endpoint(c) for c in flows.loc[via == "pcap-only", "client"]} if via is not None else set()
    )
    by_ip: dict[str, list[str]] = defaultdict(list)
    for qname, ips in sorted(dns_names(packets).items()):
        for ip in ips:
            by_ip[ip].append(qname)
    rows = []
    for r in ({str(k): v for k, v in rec.items()} for rec in conns.to_dict("records")):
        server_ip, _ = split_endpoint(r["dst"])
        app = _text(r.get("app")) or ""
        name: str | None = _text(r.get("sni"))
        source = "quic-sni" if app == "quic" else "sni"
        if name is None and (host := _text(r.get("http_host"))):
            name, source = (host.rsplit(":", 1)[0] if host.count(":") == 1 else host), "http-host"
        if name is None and server_ip and by_ip.get(server_ip):
            name, source = by_ip[server_ip][0], "dns"
        if name is None:
            name, source = server_ip or str(r["dst"]), "ip"
        total = int(r["bytes"])
        up = r.get("bytes_up")
        up = int(up) if up is not None and not pd.isna(up) else total  # tables from before the split
        last = r.get("t_last")
        rows.append(
            {
                "t_first": r["t"],
                "t_last": last if last is not None and not pd.isna(last) else r["t"],
                "proto": r["proto"],
                "app": app,
                "client": r["src"],
                "server": r["dst"],
                "name": normalise_host(name),
                "name_source": source,
                "packets": int(r["packets"]),
                "bytes_up": up,
                "bytes_down": total - up,
                "seen_by_proxy": _conn_seen_by_proxy(r, clients, servers),
                "as_flow": split_endpoint(r["src"]) in as_flow,
            }
        )
    df = pd.DataFrame(rows, columns=CONNECTIONS.names)
    return df.sort_values(["t_first", "client", "server"], kind="stable").reset_index(drop=True)
