"""The session folder: `captures/<session-id>/`, created at capture start and sealed at the end.

| file            | content                                                              |
|-----------------|----------------------------------------------------------------------|
| session.json    | id, app, device, tools, marks, status (open/sealed/incomplete/imported) |
| canaries.json   | the ground truth planted or read (list of `schema.Canary`)           |
| custody.jsonl   | hash chain written live (`custody.py`)                               |
| flows.mitm      | the raw flows, mitmproxy's own format: the primary evidence          |
| flows.jsonl     | the same flows as analysis-ready records (`flowrecord.py`)           |
| hooks.jsonl     | Frida events                                                         |
| traffic.pcap    | optional raw packets                                                 |
| seal.json       | every file's sha256 and size, chain head, optional signature         |
| annotations.jsonl | analyst's marks added after the seal, chained to it (`annotations.py`) |
| apk/            | pulled APK(s) and static analysis                                    |
| derived/        | analysis output, rebuildable, never evidence                         |
| report/         | exports                                                              |

Raw files are only ever appended to, each append covered by a custody record. Analysis only reads.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.errors import PrivlabError
from analysis.errors import SessionError
from analysis.schema import CANARY_KINDS
from analysis.schema import Canary
from analysis.session.custody import CustodyChain
from analysis.session.custody import sha256_file
from analysis.session.custody import sha256_hex

SESSION_FORMAT = 1

SESSION_JSON = "session.json"
CANARIES_JSON = "canaries.json"
CUSTODY = "custody.jsonl"
FLOWS_MITM = "flows.mitm"
FLOWS_JSONL = "flows.jsonl"
HOOKS_JSONL = "hooks.jsonl"
TLS_FAILURES_JSONL = "tls_failures.jsonl"
PCAP = "traffic.pcap"
SEAL_JSON = "seal.json"
DERIVED = "derived"
REPORT = "report"

# Folders that hold rebuildable output, never evidence: the seal does not cover them.
NOT_EVIDENCE = frozenset({DERIVED, REPORT})

STATUSES = ("open", "sealed", "incomplete", "imported")

_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


def new_session_id(name: str, now: float | None = None) -> str:
    """`YYYYmmdd-HHMMSS-<name>-<4 hex>`: sortable, readable, unique."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    clean = _NAME_OK.sub("-", name).strip("-")[:40] or "session"
    return f"{stamp}-{clean}-{secrets.token_hex(2)}"


def tool_versions() -> dict[str, str]:
    """Versions of the tools that make evidence, recorded in session.json and the seal."""
    from importlib import metadata

    versions: dict[str, str] = {}
    for dist in ("privlab", "mitmproxy", "frida", "frida-tools", "scapy", "androguard", "pandas", "pyarrow"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    import platform

    versions["python"] = platform.python_version()
    return versions


class Session:
    """One session folder. Create with `Session.create`, open an existing one with `Session.open`."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = path
        self._meta = meta
        self._chain = CustodyChain(path / CUSTODY, str(meta["id"]))
        self._fds: dict[str, int] = {}  # append descriptors of raw files, kept open for capture speed

    def close(self) -> None:
        """Close the descriptors this object keeps open (the files stay as they are)."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._chain.close()

    # -- creation and loading -------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: Path,
        name: str,
        *,
        mode: str = "host",
        app: dict[str, Any] | None = None,
        device: dict[str, Any] | None = None,
        note: str = "",
        canaries: Iterable[Canary] = (),
        status: str = "open",
        session_id: str | None = None,
        extra: dict[str, Any] | None = None,
        conditions: Mapping[str, str] | None = None,
    ) -> Session:
        """Make a new session folder with session.json, canaries.json and the chain's genesis."""
        sid = session_id or new_session_id(name)
        path = Path(root) / sid
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise SessionError(f"{path}: session folder already exists; refusing to write over it") from None
        except OSError as e:
            raise SessionError(f"{path}: cannot create session folder ({e.strerror})") from None
        meta: dict[str, Any] = {
            "format": SESSION_FORMAT,
            "id": sid,
            "name": name,
            "created": time.time(),
            "mode": mode,
            "status": status,
            "app": app or {},
            "device": device or {},
            "tools": tool_versions(),
            "note": note,
            "marks": [],
            "conditions": check_conditions(conditions or {}),
        }
        if extra:
            meta.update(extra)
        session = cls(path, meta)
        chain = session.chain
        chain.create()
        with chain.locked():
            session._write_meta_locked(meta, reason="created")
            session._write_whole_locked(CANARIES_JSON, _canaries_bytes(canaries), kind="canaries")
        return session

    @classmethod
    def open(cls, path: Path | str) -> Session:
        """Open an existing session folder; raises SessionError with a one-line reason."""
        p = Path(path)
        if not p.exists():
            raise SessionError(f"{p}: no such session folder")
        if not p.is_dir():
            raise SessionError(f"{p}: not a session folder (it is a file)")
        meta_path = p / SESSION_JSON
        if not meta_path.exists():
            raise SessionError(f"{meta_path}: missing; {p} is not a privlab session")
        meta = _read_json(meta_path)
        if not isinstance(meta, dict) or "id" not in meta:
            raise SessionError(f"{meta_path}: not a privlab session.json (no 'id')")
        if meta.get("status") not in STATUSES:
            raise SessionError(f"{meta_path}: unknown status {meta.get('status')!r}")
        return cls(p, _with_annotations(p, meta))

    # -- facts ------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return str(self._meta["id"])

    @property
    def meta(self) -> dict[str, Any]:
        """session.json as last read or written by this object; `reload()` re-reads it.

        Its `marks` are every phase mark (`annotations.session_marks`): session.json's, then those an
        analyst added after the seal in annotations.jsonl (each with `recorded_in`).
        """
        return self._meta

    def reload(self) -> dict[str, Any]:
        self._meta = _with_annotations(self.path, _read_json(self.path / SESSION_JSON))
        return self._meta

    @property
    def status(self) -> str:
        return str(self._meta["status"])

    @property
    def chain(self) -> CustodyChain:
        return self._chain

    def file(self, name: str) -> Path:
        return self.path / name

    def canaries(self) -> list[Canary]:
        """The ground truth in canaries.json, validated."""
        p = self.path / CANARIES_JSON
        if not p.exists():
            return []
        return load_canaries(p)

    def current_phase(self) -> str | None:
        marks = self._meta.get("marks") or []
        return str(marks[-1]["label"]) if marks else None

    def derived_dir(self) -> Path:
        """Where analysis writes; created on demand, never part of the evidence."""
        d = self.path / DERIVED
        d.mkdir(exist_ok=True)
        return d

    # -- writing (append-only, every write in the chain) -------------------------------------------

    def mark(self, label: str, t: float | None = None) -> dict[str, Any]:
        """Add a phase mark such as `consent-accepted`; refused once the session is sealed."""
        if not label or not _NAME_OK.sub("", label) == label.replace(" ", ""):
            raise SessionError(f"mark label {label!r}: use letters, digits, '.', '_' or '-'")
        mark = {"t": t if t is not None else time.time(), "label": label}

        def add(meta: dict[str, Any]) -> None:
            meta.setdefault("marks", []).append(mark)

        self.update_meta(add, reason=f"mark:{label}")
        return mark

    @property
    def conditions(self) -> dict[str, str]:
        """The conditions the session was run under (`consent=refused`, `account=none`, ...)."""
        return dict(self._meta.get("conditions") or {})

    def set_condition(self, key: str, value: str, note: str = "") -> dict[str, Any]:
        """Record a condition after the fact: an analyst's assertion, with its time and note, in custody."""
        check_conditions({key: value})
        entry = {"t": time.time(), "key": key, "value": value, "note": note, "by": "analyst"}

        def add(meta: dict[str, Any]) -> None:
            meta.setdefault("conditions", {})[key] = value
            meta.setdefault("condition_log", []).append(entry)

        self.update_meta(add, reason=f"condition:{key}={value}")
        return entry

    def update_meta(self, change: Callable[[dict[str, Any]], None], reason: str) -> dict[str, Any]:
        """Read-modify-write session.json under the chain lock, with a custody record."""
        with self.chain.locked():
            meta = _read_json(self.path / SESSION_JSON)
            if meta.get("status") == "sealed":
                raise SessionError(f"{self.path}: session is sealed; it can no longer change")
            change(meta)
            self._write_meta_locked(meta, reason=reason)
        return meta

    def append(self, name: str, data: bytes, kind: str, ref: str) -> dict[str, Any]:
        """Append bytes to a raw file and record them in the chain (offset, length, sha256)."""
        with self.chain.locked():
            return self.append_locked(name, data, kind, ref)

    def append_locked(self, name: str, data: bytes, kind: str, ref: str) -> dict[str, Any]:
        """`append` for a caller that holds `chain.locked()` (to group several appends)."""
        fd = self._fds.get(name)
        if fd is None:
            fd = self._fds[name] = os.open(self.path / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        offset = os.fstat(fd).st_size
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        return self.chain.append_locked(
            kind, ref, sha256_hex(data), file=name, offset=offset, length=len(data)
        )

    def add_file(self, name: str, data: bytes, kind: str) -> dict[str, Any]:
        """Write a new whole file (e.g. `apk/base.apk`) and record its hash; never overwrites."""
        with self.chain.locked():
            target = self.path / name
            if target.exists():
                raise SessionError(f"{target}: already exists; raw files are never overwritten")
            target.parent.mkdir(parents=True, exist_ok=True)
            return self._write_whole_locked(name, data, kind=kind)

    def record_file(self, name: str, kind: str) -> dict[str, Any]:
        """Record the current hash of a file another program wrote (e.g. tcpdump's pcap)."""
        target = self.path / name
        data_hash = sha256_file(target)
        return self.chain.append(kind, name, data_hash, file=name, size=target.stat().st_size)

    # -- internals -----------------------------------------------------------------------------------

    def _write_meta_locked(self, meta: dict[str, Any], reason: str) -> None:
        data = (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()
        _atomic_write(self.path / SESSION_JSON, data)
        self._meta = meta
        self.chain.append_locked("session", reason, sha256_hex(data), file=SESSION_JSON)

    def _write_whole_locked(self, name: str, data: bytes, kind: str) -> dict[str, Any]:
        _atomic_write(self.path / name, data)
        return self.chain.append_locked(kind, name, sha256_hex(data), file=name, size=len(data))


def check_conditions(conditions: Mapping[str, str]) -> dict[str, str]:
    """Conditions as `{key: value}` text; a key or value that is empty or not a plain word is refused."""
    out: dict[str, str] = {}
    for key, value in conditions.items():
        for what, text in (("key", key), ("value", value)):
            if not isinstance(text, str) or not text or _NAME_OK.sub("", text) != text:
                raise SessionError(f"condition {what} {text!r}: use letters, digits, '.', '_' or '-'")
        out[key] = value
    return out


def parse_condition(text: str) -> tuple[str, str]:
    """`consent=refused` -> ("consent", "refused"), checked."""
    key, sep, value = text.partition("=")
    if not sep:
        raise SessionError(f"condition {text!r}: write it as KEY=VALUE (e.g. consent=refused)")
    check_conditions({key.strip(): value.strip()})
    return key.strip(), value.strip()


def load_canaries(path: Path) -> list[Canary]:
    """Read and validate a canaries.json: a JSON list of objects with id, kind and value."""
    data = _read_json(path)
    if not isinstance(data, list):
        raise SessionError(f"{path}: canaries must be a JSON list of objects")
    out: list[Canary] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not all(k in item for k in ("id", "kind", "value")):
            raise SessionError(f"{path}: entry {i} needs 'id', 'kind' and 'value'")
        if item["kind"] not in CANARY_KINDS:
            raise SessionError(f"{path}: entry {i} has unknown kind {item['kind']!r}")
        if item["id"] in seen:
            raise SessionError(f"{path}: entry {i} repeats id {item['id']!r}")
        seen.add(item["id"])
        out.append(Canary.from_dict({**item, "value": str(item["value"])}))
    return out


def _canaries_bytes(canaries: Iterable[Canary]) -> bytes:
    return (json.dumps([c.to_dict() for c in canaries], indent=2, ensure_ascii=False) + "\n").encode()


def _with_annotations(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """session.json's content with the marks accessor's view of `marks` (see `Session.meta`)."""
    from analysis.session.annotations import ANNOTATIONS
    from analysis.session.annotations import session_marks

    if (path / ANNOTATIONS).exists():
        meta = {**meta, "marks": session_marks(path, meta)}
    return meta


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        raise SessionError(f"{path}: missing") from None
    except PermissionError:
        raise SessionError(f"{path}: not readable (permission denied)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SessionError(f"{path}: not valid JSON ({e})") from None


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_jsonl_records(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSONL evidence file (a torn last line, left by a killed writer, is skipped)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    if not data.endswith(b"\n"):
        lines = lines[:-1]  # the torn tail: not a record
    out: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise PrivlabError(f"{path}: line {n} is not JSON") from None
        if isinstance(record, dict):
            out.append(record)
    return out
