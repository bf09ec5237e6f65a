"""The records of findings: transmissions, access events, exhibits, coverage, provisions."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pandas as pd

from analysis.findings.frames import empty_frame
from analysis.findings.frames import frame_from_rows
from analysis.schema import DESTINATIONS
from analysis.schema import DETECTIONS
from analysis.schema import FLOWS
from analysis.schema import HOOK_EVENTS
from analysis.schema import PACKETS

# Exhibits and access events listed per finding; every flow id stays in `flow_ids` regardless.
MAX_EXHIBITS = 5


MAX_ACCESS_EVENTS = 10


JURISDICTION_RANK = {"third-country": 3, "unknown": 2, "adequacy": 1, "EEA": 0}


@dataclass(frozen=True)
class Provision:
    """A legal provision a finding may engage, phrased as support for an expert, not a conclusion."""

    instrument: str
    article: str
    note: str


@dataclass(frozen=True)
class HookRead:
    """What every hook event says about a read: when, which API, what data, which SDK."""

    seq: int
    t: float
    api: str
    category: str
    data_type: str
    sdk: str | None
    entity: str | None


@dataclass(frozen=True)
class AccessEvent(HookRead):
    """One hook event that read the data, as shown beside a finding."""

    value: str  # what the hook saw returned (JSON text), shortened
    stack_top: tuple[str, ...]
    link: str  # value: the hook returned the exact value sent | type: same kind of data | access
    delay_s: float | None  # seconds to the first transmission of the finding at or after t


@dataclass(frozen=True)
class Exhibit:
    """One flow that proves a transmission finding, with the part and the matched excerpt."""

    ref: str  # E-<n>, numbered across the report
    flow_id: str
    t: float
    method: str
    url: str
    host: str
    server_ip: str | None
    status: int | None
    http_version: str
    via: str
    part: str
    data_type: str
    encoding: str
    detection_method: str
    confidence: float
    canary_id: str | None
    excerpt: str  # the match between « and »
    request_headers: tuple[tuple[str, str], ...]
    custody: Mapping[str, Any] | None  # {file, offset, length, sha256, seq} of the flow's raw bytes


@dataclass
class Finding:
    """One finding: a transmission (data type x entity x country x phase) or an access."""

    finding_id: str
    kind: str  # transmission | access
    data_type: str
    entity: str
    parent: str | None
    country: str
    jurisdiction: str
    party: str
    hosts: list[str]
    phase: str
    first_seen: float
    last_seen: float
    count: int
    flow_ids: list[str] = field(default_factory=list)
    access_seqs: list[int] = field(default_factory=list)
    sdk: str | None = None
    apis: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    encodings: list[str] = field(default_factory=list)
    canary_ids: list[str] = field(default_factory=list)
    confidence: float = 1.0
    exhibits: list[Exhibit] = field(default_factory=list)
    access: list[AccessEvent] = field(default_factory=list)
    related: list[str] = field(default_factory=list)  # access <-> transmission finding ids
    provisions: list[Provision] = field(default_factory=list)
    summary: str = ""
    endpoint_purpose: str | None = None  # ByteDance endpoint purposes of the exhibits' requests


@dataclass
class Coverage:
    """What the session could see, and what it could not."""

    flows_total: int = 0
    flows_decrypted: int = 0
    flows_pcap_only: int = 0
    flows_with_error: int = 0
    tls_failures: int = 0
    tls_failure_hosts: list[tuple[str, int]] = field(default_factory=list)  # (sni, count), most first
    quic_packets: int = 0
    quic_hosts: list[str] = field(default_factory=list)
    pcap_tls_hosts_not_decrypted: list[str] = field(default_factory=list)
    pcap_present: bool = False
    # From attribute.connections.connection_table: connections that carried data, those the proxy never
    # saw, the hosts they were for with the bytes the device sent on them (most first).
    pcap_connections: int = 0
    pcap_only_connections: int = 0
    pcap_only_hosts: list[tuple[str, int]] = field(default_factory=list)  # (host, bytes sent)
    # The entity registry's coverage of the session's destinations (registry_coverage).
    registry_hosts: int = 0
    registry_hosts_attributed: int = 0
    registry_unattributed: list[str] = field(default_factory=list)
    hook_events: int = 0
    hook_events_attributed: int = 0
    hook_modules_attached: list[str] = field(default_factory=list)
    hook_modules_failed: list[tuple[str, str]] = field(default_factory=list)  # (module, error)
    frida_recorded: bool = False
    canaries_planted: list[str] = field(default_factory=list)
    canaries_found: list[str] = field(default_factory=list)
    canaries_missing: list[str] = field(default_factory=list)
    detections: int = 0
    detections_by_method: dict[str, int] = field(default_factory=dict)
    consent_marks: list[tuple[float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TableSet:
    """The five tables findings are built from; any object with these attributes works too.

    `analysis.tables.load_session` returns such an object; tests and benchmarks build one directly.
    A missing table is an empty frame with the schema's columns.
    """

    def __init__(
        self,
        flows: pd.DataFrame | None = None,
        hook_events: pd.DataFrame | None = None,
        detections: pd.DataFrame | None = None,
        destinations: pd.DataFrame | None = None,
        packets: pd.DataFrame | None = None,
    ) -> None:
        self.flows = flows if flows is not None else empty_frame(FLOWS)
        self.hook_events = hook_events if hook_events is not None else empty_frame(HOOK_EVENTS)
        self.detections = detections if detections is not None else empty_frame(DETECTIONS)
        self.destinations = destinations if destinations is not None else empty_frame(DESTINATIONS)
        self.packets = packets if packets is not None else empty_frame(PACKETS)

    @classmethod
    def from_rows(
        cls,
        *,
        flows: Sequence[Mapping[str, Any]] = (),
        hook_events: Sequence[Mapping[str, Any]] = (),
        detections: Sequence[Mapping[str, Any]] = (),
        destinations: Sequence[Mapping[str, Any]] = (),
        packets: Sequence[Mapping[str, Any]] = (),
    ) -> TableSet:
        """Tables from row dicts (times as epoch seconds), typed exactly like the schema's tables."""
        return cls(
            flows=frame_from_rows(FLOWS, flows),
            hook_events=frame_from_rows(HOOK_EVENTS, hook_events),
            detections=frame_from_rows(DETECTIONS, detections),
            destinations=frame_from_rows(DESTINATIONS, destinations),
            packets=frame_from_rows(PACKETS, packets),
        )
