"""`privlab verify`: re-hash every file, walk the custody chain, check the seal and its signature.

Every difference is a `Problem` naming the file, the custody record where it applies, and the expected
and found values. A session is intact only when there are none. `Notice`s are facts that are not
tampering (a session never sealed, the bytes a killed writer left after its last record).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from analysis.errors import SessionError
from analysis.session import CUSTODY
from analysis.session import SEAL_JSON
from analysis.session import SESSION_JSON
from analysis.session import Session
from analysis.session.annotations import ANNOTATIONS
from analysis.session.annotations import check_annotations
from analysis.session.custody import genesis_prev
from analysis.session.custody import read_lines
from analysis.session.custody import sha256_file
from analysis.session.custody import sha256_hex
from analysis.session.seal import SEAL_TSR
from analysis.session.seal import canonical
from analysis.session.seal import evidence_files
from analysis.session.seal import load_public_key
from analysis.session.seal import public_key_hex
from analysis.session.seal import verify_signature
from analysis.session.timestamp import check_timestamp


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    record: int | None = None
    expected: str | None = None
    found: str | None = None

    def __str__(self) -> str:
        where = self.file + (f" (custody record {self.record})" if self.record is not None else "")
        s = f"{where}: {self.message}"
        if self.expected is not None or self.found is not None:
            s += f" [expected {self.expected}, found {self.found}]"
        return s


@dataclass
class VerifyReport:
    session_id: str
    status: str
    records: int = 0
    files: int = 0
    problems: list[Problem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    signed_by: str | None = None

    @property
    def intact(self) -> bool:
        return not self.problems


def _range_sha256(path: Path, offset: int, length: int) -> str | None:
    """sha256 of `length` bytes at `offset`, or None when the file does not hold that range.

    A forged record may name any integer (negative, or beyond what `seek` accepts); that is a
    range the file does not hold, not a reason to stop verifying.
    """
    if offset < 0 or length < 0 or offset + length > path.stat().st_size:
        return None
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        fh.seek(offset)
        remaining = length
        while remaining:
            block = fh.read(min(remaining, 1 << 20))
            if not block:
                return None  # the file is shorter than the record says
            h.update(block)
            remaining -= len(block)
    return h.hexdigest()


def _well_formed(records: list[dict[str, Any]], report: VerifyReport) -> list[dict[str, Any]]:
    """The records whose file, offset and length have the types a writer gives them; the rest are problems.

    A hand-edited chain (an offset written as a string) is a difference to report, not a crash.
    """
    out = []
    for rec in records:
        seq = rec.get("seq") if isinstance(rec.get("seq"), int) else None
        if "file" in rec and not isinstance(rec["file"], str):
            report.problems.append(
                Problem(CUSTODY, "record names no file (file is not a string)", record=seq)
            )
            continue
        if "offset" in rec:  # an appended segment (a "recovered" record has a length and no offset)
            offset, length = rec.get("offset"), rec.get("length")
            ok = (isinstance(offset, int) and isinstance(length, int) and not isinstance(offset, bool)
                  and offset >= 0 and length >= 0)  # fmt: skip
            if not ok or "file" not in rec:
                report.problems.append(
                    Problem(CUSTODY, "record's offset or length is not a byte count", record=seq,
                            found=f"offset={offset!r} length={length!r}")
                )  # fmt: skip
                continue
        out.append(rec)
    return out


def _as_dict(doc: dict[str, Any], key: str, report: VerifyReport) -> dict[str, Any]:
    """A part of seal.json that must be an object; anything else is a problem and reads as empty."""
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        report.problems.append(Problem(SEAL_JSON, f"'{key}' is not an object ({type(value).__name__})"))
        return {}
    if key == "files":
        bad = [n for n, v in value.items() if not isinstance(v, dict)]
        for name in bad:
            report.problems.append(Problem(SEAL_JSON, f"entry for {name!r} in 'files' is not an object"))
        return {n: v for n, v in value.items() if isinstance(v, dict)}
    return value


def _unsigned_notice(doc: dict[str, Any], report: VerifyReport) -> None:
    """What an unsigned seal can and cannot show (a consistent rewrite of everything is not detectable)."""
    if "signature" not in doc:
        report.notices.append(
            f"{SEAL_JSON} is not signed: integrity depends on the seal hash being recorded elsewhere "
            f"(seal_sha256 {str(doc.get('seal_sha256'))[:16]}…; compare it with the deposited copy)"
        )


def _seal_witnessed(path: Path, name: str) -> bool:
    """True if there is no seal, or the seal recorded `name` exactly as it is now (it saw the damage)."""
    try:
        doc = json.loads((path / SEAL_JSON).read_bytes())
    except OSError:
        return True
    except (ValueError, RecursionError):
        return False
    entry = (
        doc.get("files", {}).get(name)
        if isinstance(doc, dict) and isinstance(doc.get("files"), dict)
        else None
    )
    p = path / name
    return (
        isinstance(entry, dict)
        and entry.get("size") == p.stat().st_size
        and entry.get("sha256") == sha256_file(p)
    )


def _interrupted_tail(path: Path, records: list[dict[str, Any]], report: VerifyReport) -> None:
    """A last write torn by a power loss or crash is an interruption, not tampering.

    After a power loss the custody record of the last write can be on disk while the bytes it describes
    are not (the file ends inside that segment, or its tail reads as zeros). Only the final segment of a
    file may be torn that way, and only before a seal that saw it; anything else stays a problem.
    """
    last: dict[str, dict[str, Any]] = {}
    for rec in records:
        if "offset" in rec and "file" in rec:
            last[str(rec["file"])] = rec
    kept = []
    for problem in report.problems:
        seg = last.get(problem.file)
        torn = False
        if seg is not None and problem.record == seg.get("seq") and "differ" in problem.message:
            p = path / problem.file
            size = p.stat().st_size if p.exists() else -1
            start, end = int(seg["offset"]), int(seg["offset"]) + int(seg["length"])
            if start <= size < end:
                torn = True  # the file ends inside its last segment
            elif size >= end:
                with open(p, "rb") as fh:
                    fh.seek(start)
                    data = fh.read(end - start)
                cut = len(data.rstrip(b"\0"))
                # A zero-filled tail from a page boundary on (what a filesystem shows for blocks allocated
                # but never written), not a flipped byte.
                torn = size == end and len(data) - cut >= 512 and (start + cut) % 4096 == 0
            torn = torn and _seal_witnessed(path, problem.file)
        if torn:
            report.notices.append(
                f"{problem.file}: the last write (custody record {problem.record}) did not reach the disk in "
                "full: an interruption (power loss or crash while writing), not a change; the bytes before it "
                "are intact"
            )
        else:
            kept.append(problem)
    report.problems[:] = kept


def _check_chain(session_id: str, lines: list[bytes], report: VerifyReport) -> list[dict[str, Any]]:
    """Walk the chain; returns the parsed records (unparseable ones skipped)."""
    records: list[dict[str, Any]] = []
    parsed: list[dict[str, Any] | None] = []
    for line in lines:
        try:
            rec = json.loads(line)
            parsed.append(rec if isinstance(rec, dict) else None)
        except (ValueError, RecursionError):
            parsed.append(None)
    prev_hash = genesis_prev(session_id)
    expected_seq = 0
    for i, (line, rec) in enumerate(zip(lines, parsed, strict=True)):
        if rec is None:
            nxt = parsed[i + 1] if i + 1 < len(parsed) else None
            if nxt and nxt.get("kind") == "recovered" and nxt.get("sha256") == sha256_hex(line):
                report.notices.append(f"{CUSTODY}: line {i + 1} was cut short by an interrupted writer "
                                      f"(recorded by custody record {nxt.get('seq')})")  # fmt: skip
            else:
                report.problems.append(
                    Problem(CUSTODY, f"line {i + 1} is not a JSON record", record=expected_seq)
                )
                prev_hash = sha256_hex(line)
            continue
        if rec.get("seq") != expected_seq:
            report.problems.append(
                Problem(CUSTODY, "sequence number out of place (line deleted, duplicated or moved)",
                        record=expected_seq, expected=str(expected_seq), found=str(rec.get("seq")))
            )  # fmt: skip
        if rec.get("prev") != prev_hash:
            report.problems.append(
                Problem(CUSTODY, "prev does not match the sha256 of the previous line",
                        record=expected_seq, expected=prev_hash, found=str(rec.get("prev")))
            )  # fmt: skip
        if expected_seq == 0 and (rec.get("kind") != "genesis" or rec.get("ref") != session_id):
            report.problems.append(
                Problem(CUSTODY, "genesis record is not bound to this session", record=0,
                        expected=session_id, found=str(rec.get("ref")))
            )  # fmt: skip
        prev_hash = sha256_hex(line)
        expected_seq += 1
        records.append(rec)
    return records


def _check_segments(path: Path, records: list[dict[str, Any]], report: VerifyReport) -> dict[str, int]:
    """Hash every appended segment; segments of a file must follow each other from byte 0."""
    next_offset: dict[str, int] = {}
    for rec in records:
        if "offset" not in rec or "file" not in rec:
            continue
        name, seq = str(rec["file"]), rec.get("seq")
        target = path / name
        if not target.exists():
            if name not in next_offset:
                report.problems.append(Problem(name, "file is missing", record=seq))
            next_offset[name] = -1
            continue
        if next_offset.get(name) == -1:
            continue
        offset, length = int(rec["offset"]), int(rec["length"])
        if offset != next_offset.get(name, 0):
            report.problems.append(
                Problem(
                    name,
                    "segment does not follow the previous one (bytes inserted or removed)",
                    record=seq,
                    expected=str(next_offset.get(name, 0)),
                    found=str(offset),
                )
            )
        found = _range_sha256(target, offset, length)
        if found != rec.get("sha256"):
            report.problems.append(
                Problem(
                    name,
                    f"bytes {offset}..{offset + length} ({rec.get('kind')} {rec.get('ref')}) differ",
                    record=seq,
                    expected=str(rec.get("sha256")),
                    found=found or "file too short",
                )
            )
        next_offset[name] = offset + length
    return {k: v for k, v in next_offset.items() if v >= 0}


def _check_whole_files(path: Path, records: list[dict[str, Any]], report: VerifyReport) -> None:
    """The last whole-file record of each file must match the file as it is now."""
    latest: dict[str, dict[str, Any]] = {}
    for rec in records:
        if "file" in rec and "offset" not in rec:
            latest[str(rec["file"])] = rec
    for name, rec in latest.items():
        target = path / name
        if not target.exists():
            report.problems.append(Problem(name, "file is missing", record=rec.get("seq")))
            continue
        found = sha256_file(target)
        if found != rec.get("sha256"):
            report.problems.append(
                Problem(
                    name,
                    "file differs from its last custody record",
                    record=rec.get("seq"),
                    expected=str(rec.get("sha256")),
                    found=found,
                )
            )


def _read_seal(path: Path, report: VerifyReport) -> dict[str, Any] | None:
    """seal.json as a dict, or None with a problem when it is not a JSON object."""
    try:
        doc = json.loads((path / SEAL_JSON).read_bytes())
        if not isinstance(doc, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError, OSError) as e:
        report.problems.append(Problem(SEAL_JSON, f"not valid JSON ({e})"))
        return None
    return doc


def _check_seal_hash(doc: dict[str, Any], report: VerifyReport) -> None:
    """The seal's own hash covers its content: any edit of seal.json shows here."""
    found_self = sha256_hex(canonical(doc))
    if doc.get("seal_sha256") != found_self:
        report.problems.append(
            Problem(
                SEAL_JSON, "seal content was altered", expected=str(doc.get("seal_sha256")), found=found_self
            )
        )


def _check_seal_session(doc: dict[str, Any], report: VerifyReport) -> None:
    """The seal names this session (a seal copied from another session does not verify)."""
    if doc.get("session_id") != report.session_id:
        report.problems.append(
            Problem(
                SEAL_JSON,
                "seal belongs to another session",
                expected=report.session_id,
                found=str(doc.get("session_id")),
            )
        )


def _check_sealed_files(path: Path, doc: dict[str, Any], report: VerifyReport) -> None:
    """Every file the seal lists is present with its size and sha256; no evidence file was added."""
    listed: dict[str, Any] = _as_dict(doc, "files", report)
    present = set(evidence_files(path))
    if ANNOTATIONS not in listed:
        present.discard(ANNOTATIONS)  # added after the seal by design; checked by `_check_annotations`
    for name in sorted(set(listed) - present):
        report.problems.append(Problem(name, "file listed in the seal is missing"))
    for name in sorted(present - set(listed)):
        report.problems.append(Problem(name, "file was added after the seal"))
    for name in sorted(set(listed) & present):
        p = path / name
        size = p.stat().st_size
        if size != listed[name].get("size"):
            report.problems.append(
                Problem(
                    name,
                    "size differs from the seal",
                    expected=str(listed[name].get("size")),
                    found=str(size),
                )
            )
        found = sha256_file(p)
        if found != listed[name].get("sha256"):
            report.problems.append(
                Problem(
                    name,
                    "sha256 differs from the seal",
                    expected=str(listed[name].get("sha256")),
                    found=found,
                )
            )


def _check_chain_head(doc: dict[str, Any], lines: list[bytes], report: VerifyReport) -> None:
    """The sealed chain head is still in the chain, unchanged, and nothing was appended after it."""
    head = _as_dict(doc, "chain_head", report)
    head_seq = head.get("seq")
    by_seq: dict[int, bytes] = {}
    for line in lines:
        try:
            seq = json.loads(line).get("seq")
        except (ValueError, AttributeError, RecursionError):
            continue
        if isinstance(seq, int):
            by_seq.setdefault(seq, line)
    last_seq = max(by_seq, default=-1)
    if not isinstance(head_seq, int) or head_seq not in by_seq:
        report.problems.append(
            Problem(CUSTODY, "chain is shorter than the sealed head (records removed)",
                    expected=str(head_seq), found=str(last_seq))
        )  # fmt: skip
        return
    found_head = sha256_hex(by_seq[head_seq])
    if found_head != head.get("line_sha256"):
        report.problems.append(
            Problem(CUSTODY, "sealed chain head differs", record=head_seq,
                    expected=str(head.get("line_sha256")), found=found_head)
        )  # fmt: skip
    if last_seq > head_seq:
        report.problems.append(Problem(CUSTODY, "records were appended after the seal", record=head_seq + 1))


def _check_uncovered_tails(
    path: Path, doc: dict[str, Any], covered: dict[str, int], report: VerifyReport
) -> None:
    """Bytes after a file's last custody record: a notice when the seal lists them, else a problem."""
    sealed_uncovered: dict[str, int] = _as_dict(doc, "uncovered", report)
    for name, end in covered.items():
        p = path / name
        if not p.exists():
            continue
        tail = p.stat().st_size - end
        if tail > 0 and sealed_uncovered.get(name) == tail:
            report.notices.append(
                f"{name}: last {tail} bytes were written after the final custody record "
                f"(writer stopped mid-write); they are covered by the seal only"
            )
        elif tail > 0:
            report.problems.append(
                Problem(
                    name,
                    "bytes after the last custody record",
                    expected=str(end),
                    found=str(p.stat().st_size),
                )
            )


def _check_signature(doc: dict[str, Any], report: VerifyReport, pubkey: Path | None) -> None:
    """The ed25519 signature verifies, and was made with the given public key when one is given."""
    if "signature" not in doc:
        if pubkey is not None:
            report.problems.append(Problem(SEAL_JSON, "seal is not signed, but a public key was given"))
        return
    valid, key_hex = verify_signature(doc)
    if not valid:
        report.problems.append(Problem(SEAL_JSON, "signature does not verify"))
    else:
        report.signed_by = key_hex
    if pubkey is not None and key_hex != public_key_hex(load_public_key(pubkey)):
        report.problems.append(
            Problem(
                SEAL_JSON,
                "signed with a different key than the one given",
                expected=public_key_hex(load_public_key(pubkey)),
                found=key_hex,
            )
        )


def _check_seal(
    path: Path,
    lines: list[bytes],
    covered: dict[str, int],
    report: VerifyReport,
    pubkey: Path | None,
    tsa_cert: Path | None = None,
) -> None:
    """seal.json against the folder: six independent checks, each adding its own problems, and a notice
    when the seal is unsigned."""
    doc = _read_seal(path, report)
    if doc is None:
        return
    _check_seal_hash(doc, report)
    _check_seal_session(doc, report)
    _check_sealed_files(path, doc, report)
    _check_chain_head(doc, lines, report)
    _check_uncovered_tails(path, doc, covered, report)
    _check_signature(doc, report, pubkey)
    _unsigned_notice(doc, report)
    stamp = check_timestamp(path, doc, tsa_cert)  # seal.tsr, the RFC 3161 token over the seal hash
    report.problems.extend(Problem(SEAL_TSR, p) for p in stamp.problems)
    report.notices.extend(stamp.notices)


def _check_annotations(path: Path, session_id: str, report: VerifyReport, pubkey: Path | None) -> None:
    """The analyst's annotations after the seal: their hash chain, bound to the seal, and signatures."""
    if not (path / ANNOTATIONS).exists():
        return
    check = check_annotations(path, session_id)
    for p in check.problems:
        report.problems.append(Problem(ANNOTATIONS, p.message, p.record, p.expected, p.found))
    if check.torn:
        report.notices.append(f"{ANNOTATIONS}: last line is incomplete ({check.torn} bytes; not counted)")
    if pubkey is not None and check.signed_by:
        want = public_key_hex(load_public_key(pubkey))
        for key_hex in sorted(check.signed_by - {want}):
            report.problems.append(
                Problem(
                    ANNOTATIONS,
                    "a mark is signed with a different key than the one given",
                    None,
                    want,
                    key_hex,
                )
            )
    if not check.problems:
        report.notices.append(check.notice())


def verify_session(
    path: Path | str, pubkey: Path | None = None, tsa_cert: Path | None = None
) -> VerifyReport:
    """Check a session folder; raises SessionError only when it is not a session at all."""
    session_path = Path(path)
    try:
        session = Session.open(session_path)
        session_id, status = session.id, session.status
    except SessionError:
        if not (session_path / SESSION_JSON).exists() or not (session_path / CUSTODY).exists():
            raise
        # session.json damaged: take the id from the genesis record so the rest can still be checked.
        first = (session_path / CUSTODY).read_bytes().split(b"\n", 1)[0]
        try:
            session_id, status = str(json.loads(first)["ref"]), "unknown"
        except (ValueError, KeyError):
            raise SessionError(
                f"{session_path}: neither session.json nor custody.jsonl can be read"
            ) from None
    report = VerifyReport(session_id=session_id, status=status)
    if status == "unknown":
        report.problems.append(Problem(SESSION_JSON, "not readable as a privlab session.json"))
    chain_path = session_path / CUSTODY
    if not chain_path.exists():
        report.problems.append(Problem(CUSTODY, "file is missing"))
        return report
    lines, torn = read_lines(chain_path)
    report.records = len(lines)
    sealed = (session_path / SEAL_JSON).exists()
    if torn:
        msg = f"last line is incomplete ({len(torn)} bytes; the writer was interrupted)"
        if sealed:
            report.notices.append(f"{CUSTODY}: {msg}")
        else:
            report.notices.append(f"{CUSTODY}: {msg}; the records before it are checked")
    records = _well_formed(_check_chain(session_id, lines, report), report)
    covered = _check_segments(session_path, records, report)
    _interrupted_tail(session_path, records, report)
    _check_whole_files(session_path, records, report)
    report.files = len([f for f in evidence_files(session_path) if f != ANNOTATIONS])
    if sealed:
        _check_seal(session_path, lines, covered, report, pubkey, tsa_cert)
    else:
        if status == "sealed":
            report.problems.append(Problem(SEAL_JSON, "session says sealed but seal.json is missing"))
        else:
            report.notices.append(f"session is {status} and not sealed: only the custody chain was checked")
        for name, end in covered.items():
            p = session_path / name
            if p.exists() and p.stat().st_size > end:
                report.notices.append(
                    f"{name}: {p.stat().st_size - end} bytes after the last custody record "
                    "(writer interrupted)"
                )
    _check_annotations(session_path, session_id, report, pubkey)
    return report
