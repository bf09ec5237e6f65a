"""Capability vs observed: for each data type, could the app get it, and did it?

One row per data type: is a permission that unlocks it requested, is an API that reads it referenced
(and by whose code), and, when the findings stage passes its tables, was it read at run time (hook
events) and sent (detections)? Static columns come from `static.json`; the observed columns stay empty
(NA) until `hook_events` / `detections` (columns of `schema.HOOK_EVENTS` / `schema.DETECTIONS`) are given.
"""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import fields
from typing import Any

import pandas as pd

from analysis.schema import CANARY_KINDS
from analysis.vocabulary import DataType
from analysis.vocabulary import hook_data_type

# The data types of the table, in the canary vocabulary's order (all but the catch-alls).
DATA_TYPES = tuple(k for k in CANARY_KINDS if k not in ("vendor_id", "other"))

# Data types Android hands out without any permission (clipboard: foreground apps since Android 10;
# ANDROID_ID; the advertising ID before API 33 targets; the package list before API 30 targets).
NO_PERMISSION_NEEDED = frozenset({"clipboard", "android_id", "advertising_id", "installed_apps"})


@dataclass(frozen=True)
class CapabilityRow:
    """One data type: capability (static) next to what was observed (dynamic)."""

    data_type: str
    permission_required: bool
    permissions_held: tuple[str, ...]
    permission_held: bool | None  # None when no permission is required
    api_referenced: bool
    call_sites: int
    referenced_by: tuple[str, ...]  # "Pangle (third)", "the app's own code (first)"
    observed_read: int | None  # hook events; None = no hook events given
    read_by: tuple[str, ...]
    observed_sent: int | None  # detections; None = no detections given


CAPABILITY_COLUMNS = tuple(f.name for f in fields(CapabilityRow))


def hook_event_data_type(category: str | None, api: str | None, args: Any = None) -> str | None:
    """The data type a hook event read, or None when it is none of the table's data types.

    The table is `analysis.vocabulary.hook_data_type`, the one access findings and runtime-value
    canaries use; reads with no type of their own (`other`: a device name, the build fingerprint) are
    not a row of the capability table.
    """
    read = hook_data_type(category, api, args)
    return None if read is None or read == DataType.OTHER else read


def capability_rows(
    static: dict[str, Any],
    hook_events: pd.DataFrame | None = None,
    detections: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The capability-vs-observed table (columns CAPABILITY_COLUMNS) from a static.json dict."""
    held: dict[str, list[str]] = {}
    for perm in static.get("permissions", []):
        for t in perm.get("data_types", []):
            held.setdefault(t, []).append(perm["name"])
    sites: dict[str, list[dict[str, Any]]] = {}
    for site in static.get("call_sites", []):
        if site.get("data_type"):
            sites.setdefault(site["data_type"], []).append(site)

    reads: dict[str, int] = {}
    readers: dict[str, set[str]] = {}
    if hook_events is not None:
        for row in hook_events.itertuples(index=False):
            t = hook_event_data_type(
                getattr(row, "category", None), getattr(row, "api", None), getattr(row, "args", None)
            )
            if t is None:
                continue
            reads[t] = reads.get(t, 0) + 1
            sdk = getattr(row, "sdk", None)
            if isinstance(sdk, str) and sdk:
                readers.setdefault(t, set()).add(sdk)
    sent: dict[str, int] = {}
    if detections is not None and "data_type" in detections.columns:
        sent = {str(k): int(v) for k, v in detections["data_type"].value_counts().items()}

    rows = []
    for t in DATA_TYPES:
        perms = tuple(sorted(set(held.get(t, []))))
        required = t not in NO_PERMISSION_NEEDED
        refs = sites.get(t, [])
        by = sorted({f"{s.get('sdk_name') or s.get('caller_class')} ({s.get('party')})" for s in refs})
        rows.append(
            CapabilityRow(
                data_type=t,
                permission_required=required,
                permissions_held=perms,
                permission_held=bool(perms) if required else None,
                api_referenced=bool(refs),
                call_sites=len(refs),
                referenced_by=tuple(by),
                observed_read=reads.get(t, 0) if hook_events is not None else None,
                read_by=tuple(sorted(readers.get(t, ()))),
                observed_sent=sent.get(t, 0) if detections is not None else None,
            )
        )
    frame = pd.DataFrame([asdict(r) for r in rows], columns=list(CAPABILITY_COLUMNS))
    for col in ("observed_read", "observed_sent"):
        frame[col] = frame[col].astype("Int64")
    return frame
