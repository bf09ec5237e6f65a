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
from collections import deque
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from functools import partial
from operator import attrgetter
from pathlib import Path
from threading import Thread
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
from analysis.attribute.destinations import FLOW_COLUMNS as DESTINATION_FLOW_COLUMNS
from analysis.attribute.destinations import build_destinations
from analysis.attribute.destinations import data_stamp
from analysis.attribute.destinations import registry_stamp
from analysis.attribute.domains import DomainNamer
from analysis.attribute.domains import default_namer
from analysis.attribute.entities import Registry
from analysis.attribute.entities import load_registry
from analysis.attribute.entities.importers import list_digest
from analysis.attribute.geo import GeoDB
from analysis.attribute.geo import default_geodb
from analysis.attribute.jurisdiction import JurisdictionData
from analysis.attribute.jurisdiction import default_jurisdiction
from analysis.attribute.stacks import attribute_events
from analysis.decode.bytedance_applog import EVENT_FIELDS
from analysis.decode.bytedance_applog import app_event_rows
from analysis.decode.limits import DecodeIssue
from analysis.decode.limits import DecodeLimits
from analysis.detect.bytedance_hooks import hooked_detections
from analysis.detect.detector import Detector
from analysis.detect.detector import MessageResult
from analysis.detect.runtime import runtime_canaries
from analysis.detect.runtime import seen_by_proxy
from analysis.detect.runtime import tls_plaintext
from analysis.errors import PrivlabError
from analysis.findings import session_findings
from analysis.findings.build import LAYER_COLUMNS
from analysis.findings.rows import coverage_table
from analysis.findings.rows import findings_table
from analysis.findings.rows import flow_destinations_table
from analysis.findings.transmissions import FLOW_COLUMNS as FINDINGS_FLOW_COLUMNS
from analysis.findings.transmissions import flow_destination_parts
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
from analysis.schema import FLOW_DESTINATIONS
from analysis.schema import FLOWS
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
from analysis.session.annotations import ANNOTATIONS
from analysis.session.custody import sha256_file
from analysis.session.derived import read_table
from analysis.session.derived import read_tables
from analysis.session.flows import RANGES_PER_WORKER
from analysis.session.flows import flow_source
from analysis.session.flows import map_ranges
from analysis.session.flows import read_flows
from analysis.session.flows import read_range
from analysis.session.flows import source_ranges
from analysis.session.flows import use_workers
from analysis.session.flows import worker_pool
from analysis.session.flows import workers

STATIC_JSON = "apk/static.json"  # written by `privlab apk --out <session>`
# Bump when the same inputs would give different tables (a detection rule changed).
ANALYSIS_VERSION = "detect-6+findings-7"  # detect-6: push tokens (Google registration tokens, tokens under push keys); findings-7: no "before consent" without a consent mark
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
    _pass: FlowPass | None = None

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

    def current(self, tables: list[str], inputs: dict[str, str]) -> bool:
        """Whether every table exists with the stamp of these inputs (nothing recorded)."""
        if self.force:
            return False
        want = self.stamp(inputs).encode()
        return all(read_stamp(self.table_path(t)) == want for t in tables)

    def up_to_date(self, tables: list[str], inputs: dict[str, str]) -> bool:
        """Whether every table exists with the stamp of these inputs (then the stage is skipped)."""
        if not self.current(tables, inputs):
            return False
        self.skipped.extend(tables)
        return True

    def stamped_schema(self, schema: pa.Schema, inputs: dict[str, str]) -> pa.Schema:
        """`schema` with the inputs stamp in its metadata."""
        meta = dict(schema.metadata or {})
        meta[STAMP_KEY] = self.stamp(inputs).encode()
        meta[INPUTS_KEY] = json.dumps(inputs, sort_keys=True).encode()
        return schema.with_metadata(meta)

    def temp_path(self, table: str) -> Path:
        target = self.table_path(table)
        target.parent.mkdir(exist_ok=True)
        return target.with_name(f".{target.name}.tmp")

    def commit(self, table: str) -> Path:
        """Move a table written to its temporary name into place (atomic) and record it."""
        target = self.table_path(table)
        os.replace(self.temp_path(table), target)
        self._hashes.pop(f"{DERIVED}/{table}.parquet", None)  # a later stage may read it as an input
        self.written.append(table)
        return target

    def write(self, table: str, data: pa.Table, inputs: dict[str, str]) -> Path:
        """Write `derived/<table>.parquet` atomically, stamped with its inputs."""
        pq.write_table(data.replace_schema_metadata(self.stamped_schema(data.schema, inputs).metadata),
                       self.temp_path(table))  # fmt: skip
        return self.commit(table)

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


# -- the per-flow tables, built in one streaming pass over the flows file -------------------------------
#
# `flows`, `detections` + `decode_issues`, `app_events` and `bytedance_layers` all need every request of
# the session. They are built together in one pass: the flows file is read once, a bounded range at a
# time (in worker processes for a large file), each range gives a piece of each table that is still out
# of date, and the pieces are appended to the tables' temporary files as they come. No stage holds the
# session's records: memory is bounded by the range size, whatever the number of flows. Each stage then
# moves its own table into place (or is skipped), so what `analyze` reports per stage is unchanged.

PASS_TABLES = {
    "flows": FLOWS,
    "detections": DETECTIONS,
    "decode_issues": DECODE_ISSUES,
    "app_events": APP_EVENTS,
    "bytedance_layers": BYTEDANCE_LAYERS,
}
RANGE_BYTES = 16 * 1024 * 1024  # the most of a flows file one step reads into memory (a bigger record: whole)
SERIAL_CHUNK = 2000  # at most this many records per piece when the file is read in this process


def _detections_table(found: list[Detection]) -> pa.Table:
    names = DETECTIONS.names
    if not found:
        return DETECTIONS.empty_table()
    columns = zip(*map(attrgetter(*names), found), strict=True)  # column by column, not a dict per row
    return pa.Table.from_arrays(
        [pa.array(list(c), f.type) for c, f in zip(columns, DETECTIONS, strict=True)], schema=DETECTIONS
    )


def _app_events_table(
    records: list[FlowRecord], documents: list[tuple[Any, str] | None] | None = None
) -> pa.Table:
    """`app_events` rows of these records; `documents[i]`, when given and not None, is record i's body
    document as its decoding found it (`MessageResult.document`), used instead of a second unwrapping."""
    # Column by column from tuples: a TikTok-like session has ~12 entries a flow, and a dict (`asdict`)
    # plus two `pd.Timestamp`s per entry was a fifth of analyze. The times convert as one column each.
    docs = documents or [None] * len(records)
    rows = [row for rec, doc in zip(records, docs, strict=True) for row in app_event_rows(rec, document=doc)]
    index = {name: i for i, name in enumerate(EVENT_FIELDS)}
    columns: dict[str, Any] = {n: [r[index[n]] for r in rows] for n in APP_EVENTS.names}
    for n in ("t_request", "local_time"):  # epoch seconds (None: NaT) -> UTC timestamps in whole µs
        times = pd.to_datetime(pd.Series(columns[n], dtype="float64"), unit="s", utc=True)
        columns[n] = times.dt.floor("us")  # as a datetime's microsecond field: the sub-µs part is dropped
    return pa.Table.from_pandas(pd.DataFrame(columns), schema=APP_EVENTS, preserve_index=False)


def pass_records(
    records: list[FlowRecord], wanted: frozenset[str], detector: Detector | None
) -> dict[str, pa.Table]:
    """The pieces of the wanted per-flow tables that these records give."""
    out: dict[str, pa.Table] = {}
    if "flows" in wanted:
        out["flows"] = flows_table(records)
    documents: list[tuple[Any, str] | None] | None = None
    if detector is not None:
        detections: list[Detection] = []
        issues: list[dict[str, str]] = []
        # The app-log table reads the body documents the decoding found, when both unwrap a body under
        # the same limits (`body_document`'s, the default ones).
        keep = "app_events" in wanted and detector.limits == DecodeLimits()
        documents = [] if keep else None
        for rec in records:
            result = detect_one(detector, rec, detections, issues)
            if documents is not None:
                documents.append(result.document if result is not None else None)
        out["detections"] = _detections_table(detections)
        out["decode_issues"] = pa.Table.from_pylist(issues, schema=DECODE_ISSUES)
    if "app_events" in wanted:
        out["app_events"] = _app_events_table(records, documents)
    if "bytedance_layers" in wanted:
        out["bytedance_layers"] = pa.Table.from_pylist(layers_rows(records), schema=BYTEDANCE_LAYERS)
    return out


def pass_range(
    path: Path, start: int, end: int, wanted: frozenset[str], canaries: list[Canary], engine: str
) -> tuple[dict[str, pa.Table], int]:
    """The per-flow table pieces of one byte range of a flows file (run in a worker process).

    Arrow tables cross the process boundary, not records: they pickle as a few buffers.
    """
    detector = _worker_detector(canaries, engine) if "detections" in wanted else None
    records = read_range(path, start, end)
    return pass_records(records, wanted, detector), len(records)


_DETECTORS: dict[tuple[tuple[Canary, ...], str], Detector] = {}


def _worker_detector(canaries: list[Canary], engine: str) -> Detector:
    """One detector per worker process and run: its memos of requests and values (`Detector.flow`,
    `ValueMemo`) then carry over from one range to the next, as they do in a serial pass. A worker
    process lives for one pass; a later pass with other canaries gets its own detector."""
    key = (tuple(canaries), engine)
    if key not in _DETECTORS:
        _DETECTORS.clear()
        _DETECTORS[key] = Detector(canaries, engine=engine)
    return _DETECTORS[key]


def _bounded_ranges(path: Path) -> list[tuple[int, int]]:
    """Ranges of whole records of at most about RANGE_BYTES each, at least RANGES_PER_WORKER per worker."""
    return source_ranges(path, max(workers() * RANGES_PER_WORKER, -(-path.stat().st_size // RANGE_BYTES)))


def _ready() -> None:
    """A worker's first task: unpickling it imports this module (and the analysis) in the worker."""


@contextmanager
def _worker_pool(start: bool) -> Iterator[ProcessPoolExecutor | None]:
    """The pass's worker processes, started now when `start`: their start-up (importing the analysis
    takes a second or more) then overlaps this process's hashing of the inputs. None when not started
    or when no pool can run here (no semaphores): the pass then runs in this process."""
    if not start:
        yield None
        return
    try:
        pool = worker_pool(workers())
    except OSError:
        yield None
        return
    with pool:
        try:
            for _ in range(workers()):
                pool.submit(_ready)
        except OSError:  # a process could not be started
            yield None
            return
        yield pool


def _pieces_in_pool(
    path: Path, args: tuple[Any, ...], pool: ProcessPoolExecutor | None
) -> Iterator[tuple[dict[str, pa.Table], int]]:
    """`pass_range` over the file's ranges in worker processes, in file order, a bounded number in flight.

    If the pool cannot run (none, a worker killed), the remaining ranges run in this process.
    """
    ranges = _bounded_ranges(path)
    n = workers()
    done = 0
    if pool is not None:
        # A worker killed, or one that could not be started: the loop after this block runs the rest.
        with suppress(BrokenProcessPool, OSError):
            pending: deque[Future[tuple[dict[str, pa.Table], int]]] = deque()
            for a, b in ranges:
                pending.append(pool.submit(pass_range, path, a, b, *args))
                if len(pending) > 2 * n:  # results wait in memory only a few ranges ahead of the writer
                    yield pending.popleft().result()
                    done += 1
            while pending:
                yield pending.popleft().result()
                done += 1
    try:
        for a, b in ranges[done:]:
            yield pass_range(path, a, b, *args)
    finally:
        _DETECTORS.clear()  # (this process lives on: its detector's memos are not kept past the pass)


@dataclass
class FlowPass:
    """The per-flow tables this run rebuilds, written to their temporary files (open until committed)."""

    writers: dict[str, pq.ParquetWriter]
    inputs: dict[str, dict[str, str]]
    canaries: list[Canary]

    def close(self, table: str) -> None:
        self.writers.pop(table).close()

    def discard(self, ctx: StageContext) -> None:
        """Drop every table not committed (the run failed): no half-written temporary file stays."""
        for table in list(self.writers):
            self.close(table)
            ctx.temp_path(table).unlink(missing_ok=True)


def _pass_inputs(ctx: StageContext) -> dict[str, dict[str, str]]:
    """The per-flow tables whose stamps are out of date, with the inputs each is stamped with."""
    src = ctx.flow_source_name()
    detections: dict[tuple[str, ...], dict[str, str]] = {
        ("detections", "decode_issues"): detections_inputs(ctx)
    }
    if src is None:  # a session of hooks only: its TLS plaintext is still searched
        groups = detections
    else:
        per_flow = ctx.inputs([src])
        groups = {
            ("flows",): per_flow,
            **detections,
            ("app_events",): per_flow,
            ("bytedance_layers",): per_flow,
        }
    return {
        t: inputs
        for tables, inputs in groups.items()
        if not ctx.current(list(tables), inputs)
        for t in tables
    }


def flow_pass(ctx: StageContext) -> FlowPass:
    """Run the one pass over the flows file (once per run) for every per-flow table that is out of date."""
    if ctx._pass is not None:
        return ctx._pass
    src = ctx.flow_source()
    parallel = src is not None and use_workers(src)
    # Workers are started before the inputs are hashed when the pass is sure to run (forced, or a table
    # missing); otherwise only once the hashes say a table is out of date.
    sure = ctx.force or not all(ctx.table_path(t).exists() for t in PASS_TABLES)
    with _worker_pool(parallel and sure) as early:
        inputs = _pass_inputs(ctx)
        wanted = frozenset(inputs)
        canaries: list[Canary] = []
        if "detections" in wanted:
            planted = ctx.session.canaries()
            canaries = planted + runtime_canaries(ctx.hook_events(), planted)
        writers = {
            t: pq.ParquetWriter(ctx.temp_path(t), ctx.stamped_schema(PASS_TABLES[t], inputs[t]))
            for t in inputs
        }
        ctx._pass = FlowPass(writers, inputs, canaries)
        if not wanted or src is None:
            return ctx._pass
        with _worker_pool(parallel and early is None) as late:
            _run_pass(ctx, ctx._pass, src, early or late, parallel)
    return ctx._pass


def _run_pass(
    ctx: StageContext, fp: FlowPass, src: Path, pool: ProcessPoolExecutor | None, parallel: bool
) -> None:
    """Read the flows file and append each range's pieces to the pass's tables: in ranges (in `pool`'s
    workers, or here when it could not start) when `parallel`, else record by record here."""
    wanted = frozenset(fp.inputs)
    count = 0

    def add(pieces: dict[str, pa.Table], n: int, advance: Callable[[int], None]) -> None:
        nonlocal count
        for t, piece in pieces.items():
            if piece.num_rows:
                fp.writers[t].write_table(piece)
        count += n
        advance(n)

    with ctx.task(
        "reading and detecting" if "detections" in wanted else f"reading {src.name}", None
    ) as advance:
        try:
            if parallel:
                # While the workers read, this process mostly waits: it loads the data the later
                # stages need meanwhile (GeoIP, the domain list: ~0.5 s that would otherwise be serial).
                preload = Thread(target=_load_attribution_data, daemon=True)
                preload.start()
                for pieces, n in _pieces_in_pool(src, (wanted, fp.canaries, ctx.engine), pool):
                    add(pieces, n, advance)
                preload.join()
            else:
                detector = Detector(fp.canaries, engine=ctx.engine) if "detections" in wanted else None
                chunk: list[FlowRecord] = []
                held = 0  # body bytes in the chunk: a piece is bounded in bytes as well as in records
                try:
                    for rec in read_flows(src):
                        chunk.append(rec)
                        held += len(rec.request_body)
                        if len(chunk) >= SERIAL_CHUNK or held >= RANGE_BYTES:
                            add(pass_records(chunk, wanted, detector), len(chunk), advance)
                            chunk, held = [], 0
                finally:  # the records before damage are analysed too
                    add(pass_records(chunk, wanted, detector), len(chunk), advance)
        except PrivlabError as e:
            if not count:
                raise
            ctx.warnings.append(f"{e}; analysed the {count} flows before the damage")


def _load_attribution_data() -> None:
    """Load (and cache) what `destinations_stage` reads; a failure is left for that stage to report."""
    with suppress(Exception):
        default_geodb()
        default_namer()


def commit_pass_table(ctx: StageContext, table: str) -> bool:
    """Move a table the pass built into place; False when the pass did not build it (up to date)."""
    fp = flow_pass(ctx)
    if table not in fp.writers:
        return False
    fp.close(table)
    ctx.commit(table)
    return True


# -- stages ---------------------------------------------------------------------------------------------


def flows_stage(ctx: StageContext) -> None:
    """`flows`: one row per HTTP(S) exchange, from flows.jsonl or flows.mitm (built by `flow_pass`)."""
    src = ctx.flow_source_name()
    if src is not None and not commit_pass_table(ctx, "flows"):
        ctx.up_to_date(["flows"], ctx.inputs([src]))


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


# Header lists become a Python dict per header in pandas (about 1 GB at 100k real flows); neither the
# destinations nor the findings stage reads them (exhibits fetch their flows' own: findings.ExhibitSource).
_HEADER_COLUMNS = ("request_headers", "response_headers")


def _flows_frame(ctx: StageContext, columns: Sequence[str]) -> pd.DataFrame:
    """These columns of the flows table as written by `flows_stage` this run.

    A stage reads only the columns it uses: a 1M-flow session's urls, paths and queries alone are
    hundreds of MB in pandas.
    """
    path = ctx.table_path("flows")
    if not path.exists():
        return flows_table([]).select(list(columns)).to_pandas()  # a session of packets only
    present = pq.read_schema(path).names
    return pq.read_table(path, columns=[c for c in columns if c in present]).to_pandas()


def _extra_lists_stamp(ctx: StageContext) -> dict[str, str]:
    # `--registry` files are part of a destinations table's inputs (a .toml extra is merged as curated
    # data and is not among the registry's imported lists, so the registry stamp alone misses it).
    return {f"registry:{p.name}": list_digest(p) for p in ctx.registry_files}


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
    flows = _flows_frame(ctx, DESTINATION_FLOW_COLUMNS)
    df = destinations_of(ctx.session, flows, packets, registry, geo, namer=namer,
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
    # annotations.jsonl: marks an analyst adds after the seal split findings by phase as well.
    inputs = ctx.inputs([SESSION_JSON, ANNOTATIONS, CANARIES_JSON, TLS_FAILURES_JSONL, CUSTODY, *derived])
    if ctx.up_to_date(FINDINGS_TABLES, inputs):
        return
    # Only the flow columns findings use; the exhibits' urls, headers and app-log entries are read for
    # their flows only, and the detections a chunk at a time (findings.session_findings): a 1M-flow
    # session's tables whole were 2.5 GB.
    tables = {
        "flows": _flows_frame(ctx, FINDINGS_FLOW_COLUMNS),
        **{t: read_table(ctx.path, t) for t in ("hook_events", "destinations")},
        # The coverage notes read these columns only; at 1M TikTok-like flows the table whole was 400 MB.
        "bytedance_layers": read_table(ctx.path, "bytedance_layers", LAYER_COLUMNS, shared_lists=True),
        **({"packets": read_table(ctx.path, "packets")} if ctx.table_path("packets").exists() else {}),
    }
    findings, coverage = session_findings(ctx.session, tables)
    ctx.write("findings", findings_table(findings), inputs)
    ctx.write("coverage", coverage_table(coverage), inputs)
    del findings  # their flow ids: a million strings at 1M flows
    # Written a part at a time: at 1M flows the whole table as a frame and as Arrow was ~300 MB more.
    schema = ctx.stamped_schema(FLOW_DESTINATIONS, inputs)
    with pq.ParquetWriter(ctx.temp_path("flow_destinations"), schema) as writer:
        for part in flow_destination_parts(tables):
            writer.write_table(flow_destinations_table(part).replace_schema_metadata(schema.metadata))
    ctx.commit("flow_destinations")


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
) -> MessageResult | None:
    """Detections of one flow, appended; a failure inside one flow is recorded for it, never raised.

    Returns the flow's result (None after a failure): `pass_records` hands its body document on.
    """
    return _detect_guarded(rec.flow_id, lambda: detector.flow(rec), detections, issues)


def _detect_guarded(
    message_id: str,
    run: Callable[[], MessageResult],
    detections: list[Detection],
    issues: list[dict[str, str]],
) -> MessageResult | None:
    try:
        result = run()
    except Exception as e:  # noqa: BLE001 - one bad message must not stop the session's analysis
        issues.extend(
            _issue_rows(message_id, [DecodeIssue("request", "", "internal", f"{type(e).__name__}: {e}")])
        )
        return None
    detections.extend(result.detections)
    issues.extend(_issue_rows(message_id, result.issues))
    return result


def detections_stage(ctx: StageContext) -> None:
    """`detections` and `decode_issues`: canaries, runtime values and patterns in every request part.

    The flows' detections come from `flow_pass`; the agent's TLS plaintext and ttEncrypt inputs are
    added here (they need the flows they may duplicate, so a session with hooks reads its records).
    """
    fp = flow_pass(ctx)
    if "detections" not in fp.writers:
        ctx.up_to_date(["detections", "decode_issues"], detections_inputs(ctx))
        return
    events = ctx.hook_events()
    if events:
        detector = Detector(fp.canaries, engine=ctx.engine)
        detections: list[Detection] = []
        issues: list[dict[str, str]] = []
        # Plaintext the proxy also recorded is the same transmission: scan only what it could not see.
        plaintext, _ = seen_by_proxy(tls_plaintext(events), ctx.records())
        for record in plaintext:  # what the app wrote: a record that breaks a decoder is noted, not raised
            _detect_guarded(f"hook:{record.seq}", partial(detector.plaintext, record), detections, issues)
        # plaintext the TikTok profile saw entering ttEncrypt (analysis.detect.bytedance_hooks)
        detections.extend(hooked_detections(detector, events, ctx.records()))
        fp.writers["detections"].write_table(_detections_table(detections))
        fp.writers["decode_issues"].write_table(pa.Table.from_pylist(issues, schema=DECODE_ISSUES))
    for table in ("detections", "decode_issues"):
        commit_pass_table(ctx, table)


def app_events_stage(ctx: StageContext) -> None:
    """`app_events`: one row per entry of every ByteDance app-log body (analysis.decode.bytedance_applog)."""
    src = ctx.flow_source_name()
    if src is not None and not commit_pass_table(ctx, "app_events"):
        ctx.up_to_date(["app_events"], ctx.inputs([src]))


def bytedance_layers_stage(ctx: StageContext) -> None:
    """`bytedance_layers`: per ByteDance request, what ttEncrypt, signature headers and payloads let us see."""
    src = ctx.flow_source_name()
    if src is not None and not commit_pass_table(ctx, "bytedance_layers"):
        ctx.up_to_date(["bytedance_layers"], ctx.inputs([src]))


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
    try:
        with progress:
            for stage in STAGES:
                stage(ctx)
    finally:
        if ctx._pass is not None:
            ctx._pass.discard(ctx)  # after a failure: the per-flow tables no stage committed
    write_manifest(session)
    return AnalysisResult(session.path, ctx.written, ctx.skipped, ctx.warnings)
