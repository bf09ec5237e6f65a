"""Findings: what was read on the device, what was sent, to whom, in which country, and when.

A *transmission finding* is one data type sent to one receiving entity in one country in one consent
phase. It carries the first and last time it was seen, how many flows carried it, the flows that prove
it (exhibits, each with the custody hash of the flow's raw bytes) and, where a Frida hook saw the value
first, the access events that preceded it: api, time, delay to the first transmission, the SDK that made
the call.

An *access finding* is one data type read on the device by one SDK (or the app) in one phase. It stands
alone: reading information stored on a device needs consent by itself (ePrivacy Art. 5(3)), whether or
not it is ever sent.

`Coverage` states what the session could and could not see: flows decrypted vs seen only in the pcap,
failed TLS handshakes (pinning), QUIC that was not intercepted, hook modules attached or failed, and
canaries planted vs found. An expert needs it to say what the absence of a finding means.

Inputs are the tables of `analysis/schema.py` as pandas DataFrames (`FLOWS`, `HOOK_EVENTS`,
`DETECTIONS`, `DESTINATIONS`, `PACKETS`), session.json, and optionally canaries, TLS failures and the
custody hashes of flows. Nothing here reads or writes the session folder; `analysis.report` does that.
"""

from analysis.findings.access import ACCESS_CATEGORIES
from analysis.findings.access import hook_data_type
from analysis.findings.access import runtime_seq
from analysis.findings.build import build_findings
from analysis.findings.build import findings_frame
from analysis.findings.build import session_findings
from analysis.findings.coverage import hook_modules
from analysis.findings.frames import empty_frame
from analysis.findings.frames import epoch
from analysis.findings.frames import frame_from_rows
from analysis.findings.frames import short_id
from analysis.findings.frames import table
from analysis.findings.model import JURISDICTION_RANK
from analysis.findings.model import MAX_ACCESS_EVENTS
from analysis.findings.model import MAX_EXHIBITS
from analysis.findings.model import AccessEvent
from analysis.findings.model import Coverage
from analysis.findings.model import Exhibit
from analysis.findings.model import Finding
from analysis.findings.model import HookRead
from analysis.findings.model import Provision
from analysis.findings.model import TableSet
from analysis.findings.phases import PHASE_AFTER
from analysis.findings.phases import PHASE_BEFORE
from analysis.findings.phases import PHASE_REFUSED
from analysis.findings.phases import PHASE_WITHDRAWN
from analysis.findings.phases import PHASES
from analysis.findings.phases import consent_transitions
from analysis.findings.phases import phase_at
from analysis.findings.provisions import EPRIVACY_5_3
from analysis.findings.provisions import provisions_for
from analysis.findings.transmissions import flow_custody
from analysis.findings.transmissions import flow_destinations
from analysis.findings.transmissions import summary_sentence

__all__ = [
    "ACCESS_CATEGORIES",
    "AccessEvent",
    "Coverage",
    "EPRIVACY_5_3",
    "Exhibit",
    "Finding",
    "HookRead",
    "JURISDICTION_RANK",
    "MAX_ACCESS_EVENTS",
    "MAX_EXHIBITS",
    "PHASES",
    "PHASE_AFTER",
    "PHASE_BEFORE",
    "PHASE_REFUSED",
    "PHASE_WITHDRAWN",
    "Provision",
    "TableSet",
    "build_findings",
    "consent_transitions",
    "empty_frame",
    "epoch",
    "findings_frame",
    "flow_custody",
    "flow_destinations",
    "frame_from_rows",
    "hook_data_type",
    "hook_modules",
    "phase_at",
    "provisions_for",
    "runtime_seq",
    "session_findings",
    "short_id",
    "summary_sentence",
    "table",
]
