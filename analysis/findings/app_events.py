"""Which ByteDance app-log event carried a finding's value (a clause for its sentence), and the endpoint
purposes of its requests.

A detection inside an app-log body has a part such as `body:event_v3[3].params.text`; the `app_events`
row of that flow whose part is `body:event_v3[3]` names the event and the device's time for it.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from analysis.attribute.bytedance_endpoints import endpoint_purpose
from analysis.findings.frames import epoch
from analysis.findings.model import Finding


def _entry_of(part: str, parts: dict[str, tuple[str, float | None]]) -> tuple[str, float | None] | None:
    """The app-log entry a part lies in: the longest entry part that is the part or its prefix."""
    best = None
    for p, v in parts.items():
        if (part == p or part.startswith(p + ".")) and (best is None or len(p) > len(best[0])):
            best = (p, v)
    return best[1] if best else None


def event_clause(f: Finding, app_events: pd.DataFrame) -> str:
    """` The app-log event `X` at 12:03:04 UTC carried it.` for a transmission found inside an app-log
    entry (naming how many other events did too); "" when none of its exhibits lies in one."""
    if f.kind != "transmission" or app_events is None or app_events.empty:
        return ""
    by_flow: dict[str, dict[str, tuple[str, float | None]]] = {}
    flows = {e.flow_id for e in f.exhibits}
    for row in app_events[app_events["flow_id"].isin(flows)].itertuples(index=False):
        lt: Any = row.local_time
        t = None if lt is None or lt is pd.NaT else epoch(lt)
        by_flow.setdefault(str(row.flow_id), {})[str(row.part)] = (str(row.event), t)
    hits: list[tuple[str, float | None]] = []
    for e in f.exhibits:
        entry = _entry_of(e.part, by_flow.get(e.flow_id, {}))
        if entry and entry not in hits:
            hits.append(entry)
    if not hits:
        return ""
    name, t = hits[0]
    when = f" at {datetime.fromtimestamp(t, UTC):%H:%M:%S} UTC (device time)" if t is not None else ""
    more = f", as did {len(hits) - 1} other app-log event(s)" if len(hits) > 1 else ""
    return f" The app-log event `{name}`{when} carried it{more}."


def finding_purpose(f: Finding) -> str | None:
    """The ByteDance endpoint purposes of a finding's exhibits (`analytics log; device registration`)."""
    purposes = []
    for e in f.exhibits:
        parts = urlsplit(e.url) if e.url else None
        p = endpoint_purpose(e.host or (parts.hostname if parts else None), parts.path if parts else None)
        if p and p not in purposes:
            purposes.append(p)
    return "; ".join(sorted(purposes)) or None
