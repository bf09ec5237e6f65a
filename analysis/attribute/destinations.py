"""Destinations: who received the app's traffic, where their servers are, and under which law.

host -> registrable domain (Public Suffix List) -> owning entity, its ultimate parent and HQ (entity
registry) -> first or third party for the app -> category and purpose (the registry's endpoint roles,
by host and path) -> the IPs the device really used (the proxy's server address, DNS answers and
connections in the pcap) -> geolocated and registered country and AS name of each IP (offline, dated)
-> jurisdiction under EU law.

Connections in the pcap that no proxy flow accounts for are destinations too (`via = "pcap-only"`):
what a pinned or QUIC-only client sent past the proxy. `pcap_only_flows` lists them as FLOWS rows.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import Counter
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from analysis.attribute.bytedance_endpoints import endpoint_purpose
from analysis.attribute.connections import _conn_seen_by_proxy
from analysis.attribute.connections import _flow_keys
from analysis.attribute.connections import connection_table
from analysis.attribute.connections import dns_names
from analysis.attribute.connections import normalise_ip
from analysis.attribute.connections import split_endpoint
from analysis.attribute.domains import DomainNamer
from analysis.attribute.domains import default_namer
from analysis.attribute.domains import is_ip
from analysis.attribute.entities import Registry
from analysis.attribute.entities import normalise_host
from analysis.attribute.geo import GeoDB
from analysis.attribute.jurisdiction import JurisdictionData
from analysis.attribute.jurisdiction import default_jurisdiction
from analysis.attribute.parties import FirstParty
from analysis.attribute.parties import classify
from analysis.attribute.parties import establish
from analysis.ingest.packets import NO_PAYLOAD
from analysis.schema import DESTINATIONS
from analysis.schema import FLOWS
from analysis.schema import PACKETS


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return None
    s = str(v)
    return s or None


@dataclass
class _HostAcc:
    """What the pcap and the flows say about one host."""

    ips: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # ip -> evidence kinds
    flows: int = 0
    bytes: int = 0
    sent: int = 0  # request bodies of proxy flows; bytes the device sent on connections only the pcap saw
    paths: Counter[str] = field(default_factory=Counter)  # path -> flows, in the order first seen
    proxied: bool = False


def _pcap_connections(packets: pd.DataFrame | None) -> pd.DataFrame:
    if packets is None or packets.empty:
        return pd.DataFrame(columns=PACKETS.names)
    # A connection that carried no data sent nothing: not a destination (the note says so).
    empty = packets["note"].fillna("").str.contains(NO_PAYLOAD, regex=False)
    return packets[packets["proto"].isin(["tcp", "udp"]) & (packets["app"] != "dns") & ~empty]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts (typed as Any: pandas cells are heterogeneous)."""
    return [{str(k): v for k, v in row.items()} for row in df.to_dict("records")]


def pcap_only_connections(flows: pd.DataFrame, packets: pd.DataFrame | None) -> pd.DataFrame:
    """Connection rows of PACKETS (non-DNS) that no proxy flow accounts for."""
    conns = _pcap_connections(packets)
    if conns.empty:
        return conns
    clients, servers, _ = _flow_keys(flows)
    seen = [_conn_seen_by_proxy(r, clients, servers) for r in _records(conns)]
    return conns[[not s for s in seen]]


def pcap_only_flows(flows: pd.DataFrame, packets: pd.DataFrame | None) -> pd.DataFrame:
    """FLOWS rows (`via = "pcap-only"`) for the connections in the pcap the proxy never saw.

    flow_id is "pcap:" + a hash of the connection (stable across rebuilds); there is no HTTP content,
    so method/url/status are empty and `error` says what is known (app protocol, packets, bytes).
    """
    rows: list[dict[str, Any]] = []
    for r in _records(pcap_only_connections(flows, packets)):
        server_ip, server_port = split_endpoint(r["dst"])
        name = _text(r["sni"]) or _text(r["http_host"])
        host = name.rsplit(":", 1)[0] if name and name.count(":") == 1 else (name or server_ip or "")
        app = _text(r["app"]) or ""
        t = pd.Timestamp(r["t"])
        digest = hashlib.sha256(f"{r['proto']}|{r['src']}|{r['dst']}|{t.value}".encode()).hexdigest()[:16]
        rows.append(
            {
                "flow_id": f"pcap:{digest}",
                "t_request": t,
                "t_response": None,
                "client": r["src"],
                "server_ip": server_ip,
                "server_port": server_port,
                "sni": _text(r["sni"]),
                "host": host,
                "scheme": "https" if app in ("tls", "quic") else ("http" if app == "http" else ""),
                "http_version": "HTTP/3" if app == "quic" else "",
                "method": "",
                "url": "",
                "path": "",
                "query": "",
                "status": None,
                "request_headers": [],
                "response_headers": [],
                # On-the-wire bytes each way: what the device sent and received on it (not HTTP bodies).
                "request_body_size": int(r["bytes_up"]) if pd.notna(r.get("bytes_up")) else int(r["bytes"]),
                "response_body_size": int(r["bytes_down"]) if pd.notna(r.get("bytes_down")) else 0,
                "request_content_type": None,
                "response_content_type": None,
                "via": "pcap-only",
                "error": (
                    f"not seen by the proxy: {r['proto']}/{app or 'unknown'}, {int(r['packets'])} packets, "
                    f"{int(r['bytes'])} bytes" + (f"; {r['note']}" if _text(r["note"]) else "")
                ),
                "phase": None,
                "websocket_messages": 0,
            }
        )
    return pd.DataFrame(rows, columns=FLOWS.names)


def _flow_bytes(flows: pd.DataFrame) -> list[int]:
    """Request + response body bytes per flow."""
    total = [0] * len(flows)
    for col in ("request_body_size", "response_body_size"):
        if col in flows:
            total = [t + int(v) for t, v in zip(total, flows[col].fillna(0), strict=True)]
    return total


def sources_label(registry: Registry, geo: GeoDB, namer: DomainNamer, jurisdiction: JurisdictionData) -> str:
    """One line naming and dating every database behind a destinations table."""
    imported = [imp.source.title for imp in registry.imports]
    parts = [
        "entity registry (privlab curated" + (f" + {', '.join(imported)}" if imported else "") + ")",
        namer.info.label(),
        geo.geo_source.label(),
        geo.registry_source.label(),
        jurisdiction.label(),
    ]
    return "; ".join(parts)


DATA_PREFIX = "data: "  # the `sources` column: "owner: <citations> | data: <databases>"


def registry_stamp(registry: Registry) -> dict[str, str]:
    """sha256 of the registry's data files and imported lists (for a derived table's input stamp)."""
    from analysis.attribute.entities.registry import curated_files
    from analysis.session.custody import sha256_file

    files = [*curated_files(), *(Path(imp.source.url) for imp in registry.imports)]
    return {f"data:{p.name}": sha256_file(p) for p in files if p.is_file()}


def data_stamp(
    registry: Registry, geo: GeoDB, namer: DomainNamer, jurisdiction: JurisdictionData
) -> dict[str, str]:
    """sha256 of every database a destinations table depends on (for the derived table's input stamp):
    the registry's data files and imported lists, the suffix list, both IP sources, the jurisdiction data."""
    from analysis.session.custody import sha256_file

    stamp = registry_stamp(registry)
    if Path(jurisdiction.path).is_file():
        stamp[f"data:{Path(jurisdiction.path).name}"] = sha256_file(Path(jurisdiction.path))
    stamp["data:public_suffix_list"] = namer.info.sha256
    stamp["data:geolocation"] = geo.geo_source.sha256
    stamp["data:registered_country"] = geo.registry_source.sha256
    return stamp


# mitmproxy's own certificate page (http://mitm.it): the proxy answers it itself, nothing leaves the lab.
PROXY_HOSTS = frozenset({"mitm.it"})


# Flows a step of `_hosts_from_flows` turns into Python values: a 1M-flow session's columns as Python
# lists at once were most of a gigabyte.
FLOW_ROWS = 65_536
# The flow columns a destinations table is built from (`build_destinations` reads no others).
FLOW_COLUMNS = ("host", "sni", "server_ip", "server_port", "client", "via", "path",
                "request_body_size", "response_body_size")  # fmt: skip


def _hosts_from_flows(flows: pd.DataFrame, acc: dict[str, _HostAcc]) -> None:
    """Each flow's host (the host asked for, the server address the proxy used), bytes and paths."""
    for start in range(0, len(flows), FLOW_ROWS):
        _hosts_from_rows(flows.iloc[start : start + FLOW_ROWS], acc)


def _hosts_from_rows(flows: pd.DataFrame, acc: dict[str, _HostAcc]) -> None:
    sizes = _flow_bytes(flows)
    sent = (
        [int(v) for v in flows["request_body_size"].fillna(0)]
        if "request_body_size" in flows
        else [0] * len(flows)
    )
    # Only the columns used here: turning header lists into Python objects costs seconds at 100k flows.
    names = ("host", "sni", "server_ip", "via", "path")
    # Column by column through Arrow: a dict per row (`to_dict("records")`) was most of this stage.
    cols = pa.Table.from_pandas(
        flows[[c for c in names if c in flows.columns]], preserve_index=False
    ).to_pydict()
    empty = [None] * len(flows)
    columns = zip(*(cols.get(c, empty) for c in names), strict=True)
    for i, (f_host, f_sni, f_ip, f_via, f_path) in enumerate(columns):
        name = _text(f_host) or _text(f_sni) or _text(f_ip)
        if not name:
            continue
        host = normalise_host(name)
        if host in PROXY_HOSTS:
            continue
        a = acc[host]
        a.flows += 1
        via = f_via or "proxy"
        if via != "pcap-only":
            a.proxied = True
            a.bytes += int(sizes[i])
            a.sent += int(sent[i])
        # else: a request read from the pcap's cleartext; its connection's on-the-wire bytes (both ways,
        # headers included) are counted in `_hosts_from_pcap`, as for every connection the proxy missed.
        path = _text(f_path)
        if path:
            a.paths[path] += 1
        ip = normalise_ip(_text(f_ip))
        if ip:
            a.ips[ip].add("flow" if via != "pcap-only" else "pcap")


def _hosts_from_pcap(conns: pd.DataFrame, acc: dict[str, _HostAcc]) -> None:
    """Connections in the pcap the proxy never saw (`connection_table`), by the name each was for."""
    keep = ~conns["seen_by_proxy"].astype(bool) if len(conns) else None
    for r in _records(conns[keep]) if keep is not None else []:
        server_ip, _ = split_endpoint(r["server"])
        host = str(r["name"])
        if host in PROXY_HOSTS:
            continue
        a = acc[host]
        a.bytes += int(r["bytes_up"]) + int(r["bytes_down"])
        a.sent += int(r["bytes_up"])
        if server_ip:
            a.ips[server_ip].add("pcap")


def _add_dns_answers(acc: dict[str, _HostAcc], dns: dict[str, set[str]]) -> None:
    """The addresses the device was told to use for each host (DNS answers in the pcap)."""
    for host, a in acc.items():
        for ip in dns.get(host, ()):
            a.ips[ip].add("dns")


def names_for_ips(
    acc: dict[str, _HostAcc], dns: dict[str, set[str]], conns: pd.DataFrame | None = None
) -> dict[str, list[str]]:
    """ip -> host names the same session tied to it (a DNS answer, a named host's flow, or the TLS/QUIC
    SNI or HTTP Host of any pcap connection to it, the proxy's included)."""
    out: dict[str, set[str]] = defaultdict(set)
    if conns is not None and len(conns):
        named = conns[conns["name_source"].isin(["sni", "quic-sni", "http-host"])]
        for server, name in zip(named["server"], named["name"], strict=True):
            ip, _ = split_endpoint(str(server))
            if ip:
                out[ip].add(str(name))
    for name, ips in dns.items():
        for ip in ips:
            out[ip].add(name)
    for host, a in acc.items():
        if not is_ip(host):
            for ip in a.ips:
                out[ip].add(host)
    return {ip: sorted(names) for ip, names in out.items()}


NETWORK_BASIS = "network operator (ASN)"


@dataclass(frozen=True)
class NetworkBasis:
    """Why an IP-only host has (or has not) an owner from the network that announces its address."""

    ip: str
    as_name: str
    prefix: str
    data: str  # the ASN data's label (source, date)
    operator: str | None  # the entity that runs the network for itself, when it does
    hosting: str | None  # the cloud or CDN provider, when the network carries others' services

    def reason(self, party_reason: str) -> str:
        """The party reason with the network fact: the basis and how weak it is, or why it stays unknown."""
        where = f"{self.ip} is in {self.prefix or 'a prefix'} announced by {self.as_name} ({self.data})"
        if self.operator is not None:
            return (
                f"{party_reason}; basis: {NETWORK_BASIS}: {where}, a network {self.operator} runs for its own "
                "services (weaker than a host name: no name for this address is in the session)"
            )
        return (
            f"an IP address with no host name in the session; hosted at {self.hosting}: {where}, a network "
            "that carries other companies' services, so it does not identify the owner"
        )


def network_owner(registry: Registry, ip: Any, data: str) -> tuple[Any, NetworkBasis | None]:
    """(entity, basis) for an IP-only host from its AS organisation name (`geo.IpInfo`), if it says one.

    An AS the registry lists under an entity's `networks` names that entity; a hosting network (cloud,
    CDN) names no one but is stated as the reason; any other AS, or none, gives (None, None).
    """
    if not ip.asn:
        return None, None
    entity = registry.entity_for_network(ip.asn)
    hosting = None if entity is not None else registry.hosting_provider(ip.asn)
    if entity is None and hosting is None:
        return None, None
    op = entity.name if entity is not None else None
    return entity, NetworkBasis(ip.ip, ip.asn, ip.asn_prefix, data, op, hosting)


def _purpose(registry: Registry, host: str, paths: Counter[str], entity: Any) -> tuple[str, str | None]:
    """(category, purpose): the endpoint roles of the paths seen (most frequent first), else the host's."""
    roles: dict[str, int] = {}
    categories: dict[str, int] = {}
    # Each distinct path once, weighted by how often it was seen (100k flows hit few paths).
    for path, seen in paths.items() if paths else [(None, 1)]:
        ep = registry.endpoint_for(host, path)
        if ep is not None:
            roles[ep.purpose] = roles.get(ep.purpose, 0) + seen
            categories[ep.category] = categories.get(ep.category, 0) + seen
    fallback = entity.category if entity and entity.category != "conglomerate" else "unknown"
    category = max(categories, key=lambda c: categories[c]) if categories else fallback
    purpose = "; ".join(sorted(roles, key=lambda p: -roles[p])) if roles else None
    return category, purpose


def _entity_sources(registry: Registry, entity: Any, host: str) -> str:
    """The registry citations behind the owner of `host` ("owner: ..."), or "" when unknown."""
    if entity is None:
        return ""
    cited = [*entity.sources_of("legal_name"), *entity.sources_of("hq_country"), *entity.sources_of("parent")]
    domain_facts = [
        ids for fact, ids in entity.fact_sources if fact.startswith("domain:") and host.endswith(fact[7:])
    ]
    cited += [i for ids in domain_facts for i in ids]
    if not cited:
        cited = list(entity.sources)
    return "owner: " + ", ".join(dict.fromkeys(registry.cite(i) for i in cited))


def _sorted_ips(ips: Iterable[str]) -> list[str]:
    return sorted(
        ips,
        key=lambda ip: (
            (ipaddress.ip_address(ip).version, int(ipaddress.ip_address(ip))) if is_ip(ip) else (9, 0)
        ),
    )


def build_destinations(
    flows: pd.DataFrame,
    packets: pd.DataFrame | None,
    app_package: str | None,
    registry: Registry,
    geo: GeoDB,
    *,
    namer: DomainNamer | None = None,
    jurisdiction: JurisdictionData | None = None,
    first_party: FirstParty | None = None,
) -> pd.DataFrame:
    """The DESTINATIONS table: one row per host the app contacted (through the proxy or past it).

    `flows` has the FLOWS columns (server_ip is the address the proxy connected to); `packets` the
    PACKETS columns or None when the session has no pcap. `first_party` is the app's owner
    (`parties.establish`); without it, it is established from `app_package` alone. Rows are ordered by
    bytes, then host.
    """
    namer = namer or default_namer()
    jur = jurisdiction or default_jurisdiction()
    fp = first_party if first_party is not None else establish(registry, namer, package=app_package)
    dns = dns_names(packets)
    acc: dict[str, _HostAcc] = defaultdict(_HostAcc)
    _hosts_from_flows(flows, acc)
    conns = connection_table(flows, packets)
    _hosts_from_pcap(conns, acc)
    _add_dns_answers(acc, dns)
    ip_names = names_for_ips(acc, dns, conns)

    all_ips = sorted({ip for a in acc.values() for ip in a.ips})
    info = {i.ip: i for i in geo.lookup_many(all_ips)}
    label = sources_label(registry, geo, namer, jur)
    rows: list[dict[str, Any]] = []
    for host, a in acc.items():
        entity = registry.entity_for_host(host)
        joined = None
        if entity is None and is_ip(host):
            # An IP-only host: the owner of a name the same session tied to this address, if any.
            for name in ip_names.get(host, ()):
                if (entity := registry.entity_for_host(name)) is not None:
                    joined = name
                    break
        network = None
        if entity is None and is_ip(host) and host in info:
            # Last and weakest: the network that announces the address, when its operator runs it for
            # its own services only (a cloud or CDN network never names the owner).
            entity, network = network_owner(registry, info[host], geo.sources[0].label())
        root = registry.root(entity) if entity else None
        category, purpose = _purpose(registry, joined or host, a.paths, entity)
        ips = _sorted_ips(a.ips)
        geo_countries = [info[ip].country for ip in ips]
        j = jur.combine(geo_countries)
        hq_j = jur.classify(root.hq_country) if root and root.hq_country else None
        party, reason = classify(fp, registry, namer, joined or host, entity)
        if joined:
            reason += f" (via {joined}, which this session resolved or connected to at this address)"
        owner_sources = _entity_sources(registry, entity, joined or host)
        if network is not None:
            reason = network.reason(reason)
            if entity is not None:
                owner_sources = "owner: " + ", ".join(
                    registry.cite(i) for i in entity.sources_of(f"network:{network.as_name}")
                )
        rows.append(
            {
                "host": host,
                "etld1": namer.registrable(host) if not is_ip(host) else None,
                "entity": entity.name if entity else None,
                "legal_name": (entity.legal_name or None) if entity else None,
                "parent": root.name if root and entity and root.id != entity.id else None,
                "hq_country": (entity.hq_country or None) if entity else None,
                "party": party,
                "category": category,
                "purpose": purpose,
                "ips": ips,
                "ip_countries": geo_countries,
                "ip_registered_countries": [info[ip].registered_country for ip in ips],
                "asn": [info[ip].asn for ip in ips],
                "ip_evidence": [",".join(sorted(a.ips[ip])) for ip in ips],
                "jurisdiction": j.status,
                "jurisdiction_note": "; ".join(x for x in (j.country, j.basis, j.note) if x) or None,
                "hq_jurisdiction": hq_j.status if hq_j else "unknown",
                "via": "proxy" if a.proxied else "pcap-only",
                "bytes": a.bytes,
                "flows": a.flows,
                "endpoint_purpose": "; ".join(  # ByteDance endpoints: attribute/bytedance_endpoints.py
                    dict.fromkeys(p for path in sorted(a.paths) if (p := endpoint_purpose(host, path)))
                )
                or None,
                "sources": " | ".join(x for x in (owner_sources, DATA_PREFIX + label) if x),
                "party_reason": reason,
                "bytes_sent": a.sent,
            }
        )
    rows.sort(key=lambda r: (-r["bytes"], r["host"]))
    df = pd.DataFrame(rows, columns=DESTINATIONS.names)
    df.attrs["sources"] = label
    df.attrs["first_party"] = fp.describe()
    return df


def hosts_of(df: pd.DataFrame) -> Iterable[str]:
    """The hosts of a destinations table (convenience for callers and tests)."""
    return list(df["host"]) if len(df) else []
