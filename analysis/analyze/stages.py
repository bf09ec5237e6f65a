"""`privlab analyze`: raw session files -> `derived/<table>.parquet`, stage by stage.

Each stage is a small function taking a `StageContext`. A stage names the files it reads; the sha256
of those files (with `ANALYSIS_VERSION`) is stamped into the Parquet metadata of what it writes, and a
stage whose tables carry the stamp of the current inputs is skipped: re-running on unchanged inputs is
a no-op. Raw files are only read. Add a stage by appending to `STAGES`:

    def packets_stage(ctx: StageContext) -> None:
        inputs = ctx.inputs(["traffic.pcap"])  # session-relative names; "derived/flows.parquet" works too
        if inputs["traffic.pcap"] == "absent" or ctx.up_to_date(["packets"], inputs):
            return
        ctx.write("packets", build_packets(ctx.path / "traffic.pcap"), inputs)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn
from rich.progress import MofNCompleteColumn
from rich.progress import Progress
from rich.progress import ProgressColumn
from rich.progress import Task
from rich.progress import TextColumn
from rich.progress import TimeRemainingColumn
from rich.text import Text

from analysis.analyze.manifest import reject_untrusted
from analysis.analyze.manifest import write_manifest
from analysis.attribute import parties
from analysis.attribute.bytedance_layers import layers_rows
from analysis.attribute.destinations import build_destinations
from analysis.attribute.destinations import data_stamp
from analysis.attribute.destinations import registry_stamp
from analysis.attribute.domains import DomainNamer
from analysis.attribute.domains import default_namer
from analysis.attribute.entities import Registry
from analysis.attribute.entities import load_registry
from analysis.attribute.geo import GeoDB
from analysis.attribute.geo import default_geodb
from analysis.attribute.jurisdiction import JurisdictionData
from analysis.attribute.jurisdiction import default_jurisdiction
from analysis.attribute.stacks import attribute_events
from analysis.decode.bytedance_applog import app_events
from analysis.decode.limits import DecodeIssue
from analysis.detect.bytedance_hooks import hooked_detections
from analysis.detect.detector import Detector
from analysis.detect.runtime import runtime_canaries
from analysis.detect.runtime import seen_by_proxy
from analysis.detect.runtime import tls_plaintext
from analysis.errors import PrivlabError
from analysis.findings import flow_destinations
from analysis.findings import session_findings
from analysis.findings.rows import coverage_table
from analysis.findings.rows import findings_table
from analysis.findings.rows import flow_destinations_table
from analysis.ingest.packets import build_packets
from analysis.ingest.tables import flows_table
from analysis.ingest.tables import hook_events_table
from analysis.ingest.tables import hooks_source
from analysis.ingest.tables import read_hooks
from analysis.schema import APP_EVENTS
from analysis.schema import BYTEDANCE_LAYERS
from analysis.schema import CAPABILITY
from analysis.schema import DECODE_ISSUES
from analysis.schema import DESTINATIONS
from analysis.schema import DETECTIONS
from analysis.schema import HOOK_EVENTS
from analysis.schema import PACKETS
from analysis.schema import SCHEMA_VERSION
from analysis.schema import Canary
from analysis.schema import Detection
from analysis.schema import FlowRecord
from analysis.schema import HookEvent
from analysis.session import CANARIES_JSON
from analysis.session import CUSTODY
from analysis.session import DERIVED
from analysis.session import PCAP
from analysis.session import SESSION_JSON
from analysis.session import TLS_FAILURES_JSONL
from analysis.session import Session
from analysis.session.custody import sha256_file
from analysis.session.derived import read_tables
from analysis.session.flows import flow_source
from analysis.session.flows import map_ranges
from analysis.session.flows import read_flows
from analysis.session.flows import read_range
from analysis.session.flows import use_workers

STATIC_JSON = "apk/static.json"  # written by `privlab apk --out <session>`
# Bump when the same inputs would give different tables (a detection rule changed).
ANALYSIS_VERSION = "detect-3+findings-4"
STAMP_KEY = b"privlab.inputs_sha256"
INPUTS_KEY = b"privlab.inputs"
# What `findings_stage` writes: every table the report reads besides the ones above.
FINDINGS_TABLES = ["findings", "coverage", "flow_destinations"]


@dataclass
class StageContext:
    """What a stage gets: the session, cached raw records, stamping and writing, progress."""

    session: Session
    force: bool = False
    engine: str = "auto"
    progress: Progress | None = None
    registry_files: tuple[Path, ...] = ()  # `--registry`: extra entity lists, after the curated registry
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _hashes: dict[str, str] = field(default_factory=dict)
    _records: list[FlowRecord] | None = None
    _events: list[HookEvent] | None = None
    _source: tuple[Path | None] | None = None

    @property
    def path(self) -> Path:
        return self.session.path

    def table_path(self, table: str) -> Path:
        return self.path / DERIVED / f"{table}.parquet"

    # -- stamps -------------------------------------------------------------------------------------

    def file_hash(self, name: str) -> str:
        """sha256 of a session file (relative name), or 'absent'."""
        if name not in self._hashes:
            p = self.path / name
            self._hashes[name] = sha256_file(p) if p.exists() else "absent"
        return self._hashes[name]

    def inputs(self, names: list[str]) -> dict[str, str]:
        return {n: self.file_hash(n) for n in names}

    @staticmethod
    def stamp(inputs: dict[str, str]) -> str:
        """The sha256 stamped on a table built from `inputs` by this version of the analysis."""
        text = json.dumps(
            {"version": ANALYSIS_VERSION, "schema": SCHEMA_VERSION, "inputs": inputs}, sort_keys=True
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def up_to_date(self, tables: list[str], inputs: dict[str, str]) -> bool:
        """Whether every table exists with the stamp of these inputs (then the stage is skipped)."""
        if self.force:
            return False
        want = self.stamp(inputs).encode()
        for t in tables:
            if read_stamp(self.table_path(t)) != want:
                return False
        self.skipped.extend(tables)
        return True

    def write(self, table: str, data: pa.Table, inputs: dict[str, str]) -> Path:
        """Write `derived/<table>.parquet` atomically, stamped with its inputs."""
        target = self.table_path(table)
        target.parent.mkdir(exist_ok=True)
        meta = dict(data.schema.metadata or {})
        meta[STAMP_KEY] = self.stamp(inputs).encode()
        meta[INPUTS_KEY] = json.dumps(inputs, sort_keys=True).encode()
        tmp = target.with_name(f".{target.name}.tmp")
        pq.write_table(data.replace_schema_metadata(meta), tmp)
        os.replace(tmp, target)
        self._hashes.pop(f"{DERIVED}/{table}.parquet", None)  # a later stage may read it as an input
        self.written.append(table)
        return target

    # -- raw records (read once, shared by stages) ---------------------------------------------------

    def flow_source(self) -> Path | None:
        """The flows file this run reads (checked once: see `ingest.flow_source`)."""
        if self._source is None:
            imported = self.session.status == "imported"
            self._source = (flow_source(self.path, self.warnings, check=not imported),)
        return self._source[0]

    def flow_source_name(self) -> str | None:
        src = self.flow_source()
        return src.name if src else None

    def records(self) -> list[FlowRecord]:
        """All flow records of the session (empty when it has no flows)."""
        if self._records is None:
            src = self.flow_source()
            out: list[FlowRecord] = []
            if src is not None:
                with self.task(f"reading {src.name}", None) as advance:
                    try:
                        if src.suffix != ".jsonl" and use_workers(src):
                            # mitmproxy's reader is the slow part of a .mitm-only session: use every core.
                            for _, _, chunk in map_ranges(src, read_range):
                                out.extend(chunk)
                                advance(len(chunk))
                        else:
                            for rec in read_flows(src):
                                out.append(rec)
                                advance(1)
                    except PrivlabError as e:
                        if not out:
                            raise
                        self.warnings.append(f"{e}; analysed the {len(out)} flows before the damage")
            self._records = out
        return self._records

    def hook_events(self) -> list[HookEvent]:
        if self._events is None:
            src = hooks_source(self.path)
            self._events = list(read_hooks(src)) if src else []
        return self._events

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A progress bar line for a long step; yields `advance(n)`."""
        if self.progress is None:
            yield lambda n: None
            return
        tid = self.progress.add_task(description, total=total)
        try:
            yield lambda n: self.progress.advance(tid, n) if self.progress else None
        finally:
            self.progress.update(tid, visible=False)


class RateColumn(ProgressColumn):
    """Items per second of a task (flows/s while reading and detecting)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


def read_stamp(path: Path) -> bytes | None:
    """The inputs stamp of a derived table, or None when absent or unreadable."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    return meta.get(STAMP_KEY)


# -- stages ---------------------------------------------------------------------------------------------


def flows_stage(ctx: StageContext) -> None:
    """`flows`: one row per HTTP(S) exchange, from flows.jsonl or flows.mitm."""
    src = ctx.flow_source_name()
    if src is None:
        return
    inputs = ctx.inputs([src])
    if ctx.up_to_date(["flows"], inputs):
        return
    ctx.write("flows", flows_table(ctx.records()), inputs)


def hook_events_stage(ctx: StageContext) -> None:
    """`hook_events`: one row per access the Frida agent saw, with the SDK and entity its stack names."""
    src = hooks_source(ctx.path)
    if src is None:
        return
    registry = load_registry(ctx.registry_files)
    inputs = {**ctx.inputs([src.name]), **registry_stamp(registry)}
    if ctx.up_to_date(["hook_events"], inputs):
        return
    events = attribute_events(hook_events_table(ctx.hook_events()).to_pandas(), registry)
    ctx.write("hook_events", pa.Table.from_pandas(events, schema=HOOK_EVENTS, preserve_index=False), inputs)


def packets_stage(ctx: StageContext) -> None:
    """`packets`: DNS, TLS and QUIC SNI, and every connection, from traffic.pcap."""
    if not (ctx.path / PCAP).exists():
        return
    inputs = ctx.inputs([PCAP])
    if ctx.up_to_date(["packets"], inputs):
        return
    df = build_packets(ctx.path / PCAP, progress=ctx.progress is not None)
    if df.attrs.get("file_cut_off") or df.attrs.get("file_corrupt"):
        ctx.warnings.append(f"{PCAP}: damaged after {df.attrs.get('frames')} packets; analysed those")
    ctx.write("packets", pa.Table.from_pandas(df, schema=PACKETS, preserve_index=False), inputs)


def _flows_frame(ctx: StageContext) -> pd.DataFrame:
    """The flows table as written by `flows_stage` this run (reading it back beats rebuilding it)."""
    path = ctx.table_path("flows")
    if path.exists():
        return pq.read_table(path).to_pandas()
    return flows_table(ctx.records()).to_pandas()


def _extra_lists_stamp(ctx: StageContext) -> dict[str, str]:
    # `--registry` files are part of a destinations table's inputs (a .toml extra is merged as curated
    # data and is not among the registry's imported lists, so the registry stamp alone misses it).
    from analysis.session.custody import sha256_file

    return {f"registry:{p.name}": sha256_file(p) for p in ctx.registry_files}


def destinations_of(
    session: Session,
    flows: pd.DataFrame,
    packets: pd.DataFrame | None,
    registry: Registry,
    geo: GeoDB,
    *,
    namer: DomainNamer | None = None,
    jurisdiction: JurisdictionData | None = None,
    first_party: parties.FirstParty | None = None,
    app_package: str | None = None,
    declared_domains: Sequence[str] = (),
    declared_owner: str | None = None,
) -> pd.DataFrame:
    """The destinations stage's table for these flows and packets with these databases.

    `destinations_stage` calls it with the default databases and writes the result; `privlab
    destinations --registry/--geoip/--rir/--app/--first-party/--owner` calls it with others for a view
    that is never written. The first party is the session's own unless one is given or declared.
    """
    namer = namer or default_namer()
    if first_party is None:
        first_party = parties.for_session(
            session.meta, session.path, registry, namer, package=app_package,
            declared_domains=declared_domains, declared_owner=declared_owner,
        )  # fmt: skip
    return build_destinations(flows, packets, first_party.package, registry, geo, namer=namer,
                              jurisdiction=jurisdiction, first_party=first_party)  # fmt: skip


def destinations_stage(ctx: StageContext) -> None:
    """`destinations`: who received each host's traffic, the IPs contacted, their countries, jurisdiction."""
    names = [n for n in (ctx.flow_source_name(), PCAP if (ctx.path / PCAP).exists() else None) if n]
    if not names:
        return
    registry, geo, namer, jurisdiction = (
        load_registry(ctx.registry_files),
        default_geodb(),
        default_namer(),
        default_jurisdiction(),
    )
    first_party = parties.for_session(ctx.session.meta, ctx.path, registry, namer)
    inputs = {**ctx.inputs(names), **data_stamp(registry, geo, namer, jurisdiction),
              **_extra_lists_stamp(ctx), "first_party": first_party.describe()}  # fmt: skip
    if ctx.up_to_date(["destinations"], inputs):
        return
    packets_path = ctx.table_path("packets")
    packets = pq.read_table(packets_path).to_pandas() if packets_path.exists() and PCAP in names else None
    df = destinations_of(ctx.session, _flows_frame(ctx), packets, registry, geo, namer=namer,
                         jurisdiction=jurisdiction, first_party=first_party)  # fmt: skip
    ctx.write("destinations", pa.Table.from_pandas(df, schema=DESTINATIONS, preserve_index=False), inputs)


def findings_stage(ctx: StageContext) -> None:
    """`findings` (with exhibits, access events, provisions, summaries), `coverage` and
    `flow_destinations`: everything the report states, built once here (see analysis/findings/)."""
    derived = [
        f"{DERIVED}/{t}.parquet"
        for t in (
            "flows",
            "hook_events",
            "detections",
            "destinations",
            "packets",
            "app_events",
            "bytedance_layers",
        )
    ]
    inputs = ctx.inputs([SESSION_JSON, CANARIES_JSON, TLS_FAILURES_JSONL, CUSTODY, *derived])
    if ctx.up_to_date(FINDINGS_TABLES, inputs):
        return
    tables = read_tables(ctx.path)
    findings, coverage = session_findings(ctx.session, tables)
    ctx.write("findings", findings_table(findings), inputs)
    ctx.write("coverage", coverage_table(coverage), inputs)
    ctx.write("flow_destinations", flow_destinations_table(flow_destinations(tables)), inputs)


def capability_table(path: Path, tables: Any) -> pa.Table | None:
    """Capability vs observed for a session holding apk/static.json (None when it holds none)."""
    static_path = path / STATIC_JSON
    if not static_path.exists():
        return None
    # Imported here: the APK analysis stack is needed only by sessions that hold a static analysis.
    from analysis.apk import capability_rows
    from analysis.apk import load_static

    try:
        static = load_static(static_path.read_bytes(), str(static_path))
    except ValueError as e:
        raise PrivlabError(str(e)) from None
    frame = capability_rows(static, tables.hook_events, tables.detections)
    return pa.Table.from_pandas(frame, schema=CAPABILITY, preserve_index=False)


def capability_stage(ctx: StageContext) -> None:
    """`capability`: what the exact APK could do (apk/static.json) beside what the session saw it do."""
    if not (ctx.path / STATIC_JSON).exists():
        ctx.table_path("capability").unlink(missing_ok=True)  # the static analysis was removed
        return
    inputs = ctx.inputs([STATIC_JSON, *(f"{DERIVED}/{t}.parquet" for t in ("hook_events", "detections"))])
    if ctx.up_to_date(["capability"], inputs):
        return
    data = capability_table(ctx.path, read_tables(ctx.path))
    assert data is not None  # static.json exists (checked above)
    ctx.write("capability", data, inputs)


def detections_inputs(ctx: StageContext) -> dict[str, str]:
    hooks = hooks_source(ctx.path)
    names = [n for n in (ctx.flow_source_name(), CANARIES_JSON, hooks.name if hooks else None) if n]
    return ctx.inputs(names)


def _issue_rows(flow_id: str, found: list[DecodeIssue]) -> list[dict[str, str]]:
    return [{"flow_id": flow_id, **asdict(i)} for i in found]


def detect_one(
    detector: Detector, rec: FlowRecord, detections: list[Detection], issues: list[dict[str, str]]
) -> None:
    """Detections of one flow; a failure inside one flow is recorded for it, never raised."""
    try:
        result = detector.flow(rec)
    except Exception as e:  # noqa: BLE001 - one bad flow must not stop the session's analysis
        issues.extend(
            _issue_rows(rec.flow_id, [DecodeIssue("request", "", "internal", f"{type(e).__name__}: {e}")])
        )
        return
    detections.extend(result.detections)
    issues.extend(_issue_rows(rec.flow_id, result.issues))


def detect_range(
    path: Path, start: int, end: int, canaries: list[Canary], engine: str
) -> tuple[list[Detection], list[dict[str, str]], int]:
    """Detections in one byte range of a flows file (run in a worker process)."""
    detector = Detector(canaries, engine=engine)
    detections: list[Detection] = []
    issues: list[dict[str, str]] = []
    records = read_range(path, start, end)
    for rec in records:
        detect_one(detector, rec, detections, issues)
    return detections, issues, len(records)


def detections_stage(ctx: StageContext) -> None:
    """`detections` and `decode_issues`: canaries, runtime values and patterns in every request part."""
    inputs = detections_inputs(ctx)
    if ctx.up_to_date(["detections", "decode_issues"], inputs):
        return
    planted = ctx.session.canaries()
    events = ctx.hook_events()
    canaries = planted + runtime_canaries(events, planted)
    detector = Detector(canaries, engine=ctx.engine)
    detections: list[Detection] = []
    issues: list[dict[str, str]] = []
    # Plaintext the proxy also recorded is the same transmission: scan only what it could not see.
    plaintext, _ = seen_by_proxy(tls_plaintext(events), ctx.records()) if events else ([], 0)
    src = ctx.flow_source()
    parallel = src is not None and use_workers(src)
    total = None if parallel else len(ctx.records()) + len(plaintext)
    with ctx.task("detecting", total) as advance:
        if parallel:
            assert src is not None
            for _, _, (found, problems, count) in map_ranges(src, detect_range, canaries, ctx.engine):
                detections.extend(found)
                issues.extend(problems)
                advance(count)
        else:
            for rec in ctx.records():
                detect_one(detector, rec, detections, issues)
                advance(1)
        for record in plaintext:
            result = detector.plaintext(record)
            detections.extend(result.detections)
            issues.extend(_issue_rows(f"hook:{record.seq}", result.issues))
            advance(1)
        if events:  # plaintext the TikTok profile saw entering ttEncrypt (analysis.detect.bytedance_hooks)
            detections.extend(hooked_detections(detector, events, ctx.records()))
    ctx.write("detections", pa.Table.from_pylist([asdict(d) for d in detections], schema=DETECTIONS), inputs)
    ctx.write("decode_issues", pa.Table.from_pylist(issues, schema=DECODE_ISSUES), inputs)


def app_events_stage(ctx: StageContext) -> None:
    """`app_events`: one row per entry of every ByteDance app-log body (analysis.decode.bytedance_applog)."""
    src = ctx.flow_source_name()
    if src is None:
        return
    inputs = ctx.inputs([src])
    if ctx.up_to_date(["app_events"], inputs):
        return
    rows: list[dict[str, Any]] = []
    with ctx.task("app-log events", len(ctx.records())) as advance:
        for rec in ctx.records():
            rows.extend(asdict(e) for e in app_events(rec))
            advance(1)
    for r in rows:  # Arrow timestamps from epoch seconds
        r["t_request"] = pd.Timestamp(r["t_request"], unit="s", tz="UTC")
        r["local_time"] = (
            None if r["local_time"] is None else pd.Timestamp(r["local_time"], unit="s", tz="UTC")
        )
    ctx.write("app_events", pa.Table.from_pylist(rows, schema=APP_EVENTS), inputs)


def bytedance_layers_stage(ctx: StageContext) -> None:
    """`bytedance_layers`: per ByteDance request, what ttEncrypt, signature headers and payloads let us see."""
    src = ctx.flow_source_name()
    if src is None:
        return
    inputs = ctx.inputs([src])
    if ctx.up_to_date(["bytedance_layers"], inputs):
        return
    ctx.write(
        "bytedance_layers", pa.Table.from_pylist(layers_rows(ctx.records()), schema=BYTEDANCE_LAYERS), inputs
    )


Stage = Callable[[StageContext], None]
# In order; a later stage may read what an earlier one wrote (name it among its inputs).
STAGES: list[Stage] = [
    flows_stage,
    hook_events_stage,
    packets_stage,
    detections_stage,
    destinations_stage,
    app_events_stage,  # before findings: a finding's sentence names the app-log event that carried a value
    bytedance_layers_stage,  # before findings: the coverage statement says what ByteDance's layer hid
    findings_stage,
    capability_stage,
]


@dataclass
class AnalysisResult:
    """What a run did."""

    session: Path
    written: list[str]
    skipped: list[str]
    warnings: list[str]


def analyze(
    path: Path | str,
    *,
    force: bool = False,
    engine: str = "auto",
    show_progress: bool = True,
    console: Console | None = None,
    registry_files: Sequence[Path] = (),
) -> AnalysisResult:
    """Run every stage on a session folder; stages with up-to-date tables are skipped.

    `registry_files` are entity lists loaded after the curated registry (`privlab ... --registry`).
    """
    session = Session.open(path)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,
        disable=not show_progress,
    )
    ctx = StageContext(session, force=force, engine=engine, progress=progress if show_progress else None,
                       registry_files=tuple(Path(p) for p in registry_files))  # fmt: skip
    ctx.warnings.extend(reject_untrusted(session))  # derived files are checked, not trusted
    with progress:
        for stage in STAGES:
            stage(ctx)
    write_manifest(session)
    return AnalysisResult(session.path, ctx.written, ctx.skipped, ctx.warnings)
