"""What the session could see and what it could not: the coverage statement of a report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pandas as pd

from analysis.attribute.connections import connection_table
from analysis.attribute.destinations import NETWORK_BASIS
from analysis.findings.access import _Hook
from analysis.findings.model import Coverage
from analysis.schema import Canary


def _given(v: Any) -> bool:
    """A cell that holds a value (pandas' `notna` for one cell; a string always does)."""
    return v is not None and (type(v) is str or not pd.isna(v))


@dataclass
class DetectionTotals:
    """What the coverage statement says of the detections, counted a chunk of rows at a time."""

    count: int = 0
    canary_ids: set[str] = field(default_factory=set)  # every canary id found
    by_method: Counter[str] = field(default_factory=Counter)

    def add(self, chunk: Mapping[str, Sequence[Any]]) -> None:
        """Count a chunk of detection rows (column -> values; `canary_id` and `method` at least)."""
        self.count += len(chunk["method"])
        self.canary_ids.update(str(x) for x in chunk["canary_id"] if _given(x))
        self.by_method.update(str(m) if _given(m) else "unknown" for m in chunk["method"])


def _coverage(
    flows: pd.DataFrame,
    detections: DetectionTotals,
    hooks: Sequence[_Hook],
    packets: pd.DataFrame,
    meta: Mapping[str, Any],
    canaries: Sequence[Canary],
    tls_failures: Sequence[Mapping[str, Any]],
    transitions: Sequence[tuple[float, str, str]],
) -> Coverage:
    c = Coverage()
    via = flows["via"].fillna("proxy").astype(str) if len(flows) else pd.Series([], dtype=str)
    c.flows_total = len(flows)
    c.flows_pcap_only = int((via == "pcap-only").sum())
    c.flows_decrypted = c.flows_total - c.flows_pcap_only
    c.flows_with_error = int(flows["error"].notna().sum()) if len(flows) else 0

    c.tls_failures = len(tls_failures)
    per_sni = Counter(str(r.get("sni") or r.get("server") or "(no SNI)") for r in tls_failures)
    c.tls_failure_hosts = sorted(per_sni.items(), key=lambda kv: (-kv[1], kv[0]))

    c.pcap_present = len(packets) > 0
    if len(packets):
        proto = packets["proto"].astype(str)
        # Every number about pcap connections comes from the one connection table (destinations too).
        conns = connection_table(flows, packets)
        c.pcap_connections = len(conns)
        quic = conns[conns["app"].isin(["quic", "gquic"])]
        c.quic_packets = int(quic["packets"].sum()) if len(quic) else 0  # all packets, not Initials
        hosts = {str(n) for n in quic["name"] if str(n)}
        # QUIC Initials of a table with no connection row for them (a table built by hand or cut short):
        # their own packets, at least one each, so a QUIC event never goes uncounted.
        have = set(zip(quic["client"], quic["server"], strict=True))
        for r in packets[proto == "quic"].to_dict("records"):
            if (r.get("src"), r.get("dst")) not in have:
                n = r.get("packets")
                c.quic_packets += int(n) if n is not None and not pd.isna(n) and int(n) > 0 else 1
                if r.get("sni") is not None and not pd.isna(r.get("sni")):
                    hosts.add(str(r["sni"]))
        c.quic_hosts = sorted(hosts)
        only = conns[~conns["seen_by_proxy"].astype(bool)] if len(conns) else conns
        c.pcap_only_connections = len(only)
        sent: Counter[str] = Counter()
        for name, up in zip(only["name"], only["bytes_up"], strict=True):
            sent[str(name)] += int(up)
        c.pcap_only_hosts = sorted(sent.items(), key=lambda kv: (-kv[1], kv[0]))
        seen = {str(s).lower() for s in flows["sni"].dropna()} | {
            str(s).lower() for s in flows["host"].dropna()
        }
        tls_snis = {str(s).lower() for s in packets[proto == "tls"]["sni"].dropna()}
        c.pcap_tls_hosts_not_decrypted = sorted(tls_snis - seen)

    c.hook_events = len(hooks)
    c.hook_events_attributed = sum(1 for h in hooks if h.sdk)
    attached, failed, recorded = hook_modules(meta.get("frida"))
    c.hook_modules_attached, c.hook_modules_failed, c.frida_recorded = attached, failed, recorded

    found_ids = detections.canary_ids
    planted = sorted(x.id for x in canaries if x.source == "planted")
    c.canaries_planted = planted
    c.canaries_found = sorted(i for i in planted if i in found_ids)
    c.canaries_missing = sorted(i for i in planted if i not in found_ids)
    c.detections = detections.count
    if detections.count:
        c.detections_by_method = dict(sorted(detections.by_method.items()))
    c.consent_marks = [(t, label) for t, label, _ in transitions]

    if not transitions:
        c.notes.append("No consent mark was recorded: every finding is classed as before consent.")
    if not c.pcap_present:
        c.notes.append("No packet capture was analysed: traffic that bypassed the proxy is not covered.")
    if not c.frida_recorded:
        c.notes.append("The session does not record which hook modules attached: access coverage is unknown.")
    if c.pcap_only_connections:
        c.notes.append(
            f"{c.pcap_only_connections} connection(s) to {len(c.pcap_only_hosts)} host(s) were seen only in "
            "the pcap; their content is unknown."
        )
    if c.tls_failures:
        c.notes.append(
            f"{c.tls_failures} TLS handshake(s) failed (likely certificate pinning): what they carried is unknown."
        )
    if c.quic_packets:
        c.notes.append(
            f"{c.quic_packets} QUIC packet(s) on {len(quic)} connection(s) were not intercepted: "
            "their content is unknown."
        )
    return c


def hook_modules(frida: Any) -> tuple[list[str], list[tuple[str, str]], bool]:
    """(attached, failed, recorded) from session.json's `frida` key, written by the Frida runner.

    Accepts the runner's `{"summary": {"modules": {name: {"status", "reason"}}}}`,
    `{"modules": {name: "attached" | {"status", "error"}}}`, `{"attached": [...], "failed":
    [...] | {name: error}}`, or a plain `{name: status}` mapping.
    """
    if not isinstance(frida, Mapping):
        return [], [], False
    if isinstance(frida.get("summary"), Mapping):  # analysis/frida_runner.py: {"summary": {"modules": ...}}
        frida = {"modules": frida["summary"].get("modules") or {}}
    attached: set[str] = set()
    failed: dict[str, str] = {}

    def status_of(name: str, v: Any) -> None:
        if isinstance(v, Mapping):
            st = str(v.get("status", "attached" if not v.get("error") else "failed"))
            err = str(v.get("error") or v.get("reason") or "")
        else:
            st, err = str(v), ""
        if st.lower() in ("attached", "ok", "installed", "true"):
            attached.add(name)
        elif st.lower() != "skipped":  # a skipped module was not selected: neither coverage nor a failure
            failed[name] = err or st

    if isinstance(frida.get("attached"), list) or "failed" in frida:
        attached.update(str(x) for x in frida.get("attached") or [])
        fl = frida.get("failed") or []
        if isinstance(fl, Mapping):
            failed.update({str(k): str(v) for k, v in fl.items()})
        else:
            for x in fl:
                if isinstance(x, Mapping):
                    failed[str(x.get("module", x.get("name", "?")))] = str(x.get("error", ""))
                else:
                    failed[str(x)] = ""
    else:
        mods = frida.get("modules", frida)
        if isinstance(mods, Mapping):
            for k, v in mods.items():
                status_of(str(k), v)
        elif isinstance(mods, list):
            for m in mods:
                if isinstance(m, Mapping):
                    status_of(str(m.get("name", m.get("module", "?"))), m)
    return sorted(attached), sorted(failed.items()), True


def registry_coverage(c: Coverage, destinations: pd.DataFrame) -> None:
    """How many of the session's hosts the entity registry attributes, and which stay unknown."""
    if not len(destinations):
        return
    known = destinations["entity"].notna() & (destinations["entity"].astype(str) != "")
    c.registry_hosts = len(destinations)
    c.registry_hosts_attributed = int(known.sum())
    c.registry_unattributed = sorted(str(h) for h in destinations.loc[~known, "host"])
    # IP-only hosts attributed by the network that announces them: counted, and said to be a weaker basis.
    reasons = destinations["party_reason"] if "party_reason" in destinations else pd.Series([], dtype=str)
    by_network = int(reasons.astype(str).str.contains(f"basis: {NETWORK_BASIS}", regex=False).sum())
    how = f", {by_network} only by their {NETWORK_BASIS} (a weaker basis)" if by_network else ""
    if c.registry_unattributed or by_network:
        c.notes.append(
            f"The entity registry attributes {c.registry_hosts_attributed} of {c.registry_hosts} host(s)"
            f"{how}; {len(c.registry_unattributed)} stay unknown (a list can be added with --registry)."
        )
