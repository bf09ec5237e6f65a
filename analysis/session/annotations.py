"""An analyst's assertions about a sealed session: `annotations.jsonl`, beside the seal, never in it.

A sealed session cannot change: its session.json, custody chain and every evidence file are fixed by
`seal.json`. An analyst who later establishes when consent was given (from a screen recording, say)
still needs to say so. The assertion goes into `annotations.jsonl`, an append-only file of its own:

    {"seq": 0, "prev": <hex>, "kind": "mark", "t": <epoch>, "label": "consent-accepted",
     "by": "analyst", "asserted_at": <epoch>, "note": "..."}

Each line is canonical JSON (`custody.encode_record`). Record 0's `prev` is the sha256 of
`privlab-annotations-genesis:<session id>:<seal_sha256>:<sealed chain head line_sha256>`, so the chain
is bound to this seal and no other; each later `prev` is the sha256 of the line before. The seal, the
custody chain and the evidence are untouched, so `verify` still finds them intact, and it checks this
chain as well: a changed, inserted or reordered annotation breaks it and is named. What a hash chain
cannot show is its own tail being changed or cut off: nothing after the seal witnesses the last line.
A mark signed with the operator's ed25519 key (`privlab mark --sign-key`, as for seals) carries a
`signature` over its canonical JSON, so the last line cannot be altered without that key; removing
lines from the end still would not show. `verify` says which of these holds in its notice.

Every reader of a session's marks goes through `session_marks`, which adds these to session.json's.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from analysis.errors import SessionError
from analysis.session.custody import encode_record
from analysis.session.custody import sha256_hex

ANNOTATIONS = "annotations.jsonl"
GENESIS_PREFIX = "privlab-annotations-genesis:"
# analysis.session.SEAL_JSON: not imported, because the session package reads marks through this module
# (and seal.py, which imports the package, is not imported here for the same reason).
SEAL_JSON = "seal.json"

# Signs the canonical bytes of a record: returns {"public_key": hex, "value": base64}.
Signer = Callable[[bytes], dict[str, str]]


@dataclass(frozen=True)
class AnnotationProblem:
    """One way the annotation chain differs from what was appended."""

    message: str
    record: int | None = None
    expected: str | None = None
    found: str | None = None


@dataclass
class AnnotationCheck:
    """The annotation chain as checked against the session's seal."""

    records: list[dict[str, Any]] = field(default_factory=list)  # the valid prefix, in order
    lines: int = 0
    problems: list[AnnotationProblem] = field(default_factory=list)
    torn: int = 0  # bytes of an incomplete last line (a writer interrupted), not counted
    seal_sha256: str = ""
    signed_by: set[str] = field(default_factory=set)  # public keys (hex) of signed records

    def notice(self) -> str:
        """One line for `verify`: what the annotations are and how far their integrity can be shown."""
        n = len(self.records)
        last = self.records[-1] if self.records else {}
        witness = (
            "the last one is signed, so it cannot be altered without the key"
            if "signature" in last
            else "the last one is unsigned, so an edit to it would not show"
        )
        return (
            f"{ANNOTATIONS}: {n} analyst mark{'s' if n != 1 else ''} added after the seal, outside it, "
            f"in a hash chain bound to seal {self.seal_sha256[:16]}; {witness}, and lines removed from "
            "the end would not show"
        )


def genesis_prev(session_id: str, seal: Mapping[str, Any]) -> str:
    """`prev` of record 0: binds the chain to this session's seal hash and sealed custody head."""
    head = seal.get("chain_head") if isinstance(seal.get("chain_head"), Mapping) else {}
    text = f"{GENESIS_PREFIX}{session_id}:{seal.get('seal_sha256')}:{(head or {}).get('line_sha256')}"
    return sha256_hex(text.encode())


def _read_seal(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((path / SEAL_JSON).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _unsigned(rec: Mapping[str, Any]) -> bytes:
    """The bytes a record's signature covers: its canonical JSON without the signature."""
    return encode_record({k: v for k, v in rec.items() if k != "signature"})


def signature_of(rec: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether a record's ed25519 signature verifies over `_unsigned(rec)`; (valid, public key hex)."""
    sig = rec.get("signature")
    if not isinstance(sig, Mapping):
        return False, ""
    try:
        pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(sig["public_key"])))
        pub.verify(base64.b64decode(str(sig["value"])), _unsigned(rec))
    except (KeyError, ValueError, TypeError, InvalidSignature):
        return False, str(sig.get("public_key", ""))
    return True, str(sig["public_key"])


def _record_problem(rec: Any, seq: int, sealed_at: Any) -> str | None:
    if not isinstance(rec, dict):
        return "not a JSON object"
    if rec.get("kind") != "mark" or rec.get("by") != "analyst":
        return f"kind {rec.get('kind')!r} by {rec.get('by')!r}: only an analyst's marks are annotations"
    label = rec.get("label")
    if not isinstance(label, str) or not label:
        return "mark has no label"
    for key in ("t", "asserted_at"):
        if not isinstance(rec.get(key), int | float) or isinstance(rec.get(key), bool):
            return f"{key} is not a time"
    if isinstance(sealed_at, int | float) and rec["asserted_at"] < sealed_at:
        return "asserted before the session was sealed (annotations are added after the seal)"
    return None


def check_annotations(path: Path, session_id: str) -> AnnotationCheck:
    """Walk `annotations.jsonl` against the seal; the valid prefix and every problem after it."""
    out = AnnotationCheck()
    p = path / ANNOTATIONS
    if not p.exists():
        return out
    seal = _read_seal(path)
    if seal is None:
        out.problems.append(AnnotationProblem("present, but the session has no seal to annotate"))
        return out
    out.seal_sha256 = str(seal.get("seal_sha256") or "")
    raw = p.read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1]:
        out.torn = len(lines[-1])
    lines = lines[:-1]
    out.lines = len(lines)
    prev = genesis_prev(session_id, seal)
    broken = False
    for i, line in enumerate(lines):
        try:
            rec = json.loads(line)
        except ValueError:
            rec = None
        if rec is None:
            out.problems.append(AnnotationProblem("line is not JSON", record=i))
            broken = True
            continue
        if not isinstance(rec, dict) or rec.get("seq") != i:
            found = rec.get("seq") if isinstance(rec, dict) else None
            out.problems.append(AnnotationProblem("sequence number out of order", i, str(i), str(found)))
            broken = True
        elif rec.get("prev") != prev:
            out.problems.append(
                AnnotationProblem(
                    "chain broken: prev is not the hash of the line before (or of the seal, for the first)",
                    i,
                    prev,
                    str(rec.get("prev")),
                )
            )
            broken = True
        elif encode_record(rec) != line:
            out.problems.append(AnnotationProblem("line is not in canonical form (edited by hand?)", i))
            broken = True
        else:
            why = _record_problem(rec, i, seal.get("sealed_at"))
            if why is None and "signature" in rec:
                valid, key_hex = signature_of(rec)
                if valid:
                    out.signed_by.add(key_hex)
                else:
                    why = "signature does not verify"
            if why is not None:
                out.problems.append(AnnotationProblem(why, i))
                broken = True
            elif not broken:
                out.records.append(rec)
        prev = sha256_hex(line)
    return out


def annotated_marks(path: Path, session_id: str) -> list[dict[str, Any]]:
    """The analyst's marks added after the seal, from the chain's valid prefix (each says where it is)."""
    return [
        {
            "t": r["t"],
            "label": r["label"],
            "by": "analyst",
            "asserted_at": r["asserted_at"],
            "note": str(r.get("note") or ""),
            "recorded_in": ANNOTATIONS,
            "annotation_seq": r["seq"],
        }
        for r in check_annotations(path, session_id).records
    ]


def session_marks(path: Path, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every phase mark of a session: session.json's, then the analyst's annotations after its seal.

    The one accessor for marks (findings phases, report, compare, corpus catalogue read through it, via
    `Session.meta` or directly), so a mark asserted after the seal counts wherever a recorded one does.
    """
    own = [dict(m) for m in meta.get("marks") or [] if isinstance(m, Mapping)]
    if not (path / ANNOTATIONS).exists():
        return own
    return own + annotated_marks(path, str(meta.get("id") or ""))


def append_mark(
    path: Path, session_id: str, label: str, t: float, note: str, signer: Signer | None = None
) -> dict[str, Any]:
    """Append an analyst's mark to a sealed session's annotations; refused onto a broken chain.

    Appends under an exclusive lock (two analysts at once still make one chain) and fsyncs the line.
    With a `signer` (the operator's ed25519 key, `provenance.analyst_mark`) the record carries a
    signature over its canonical JSON.
    """
    if _read_seal(path) is None:
        raise SessionError(f"{path}: not sealed; an unsealed session's marks go into session.json")
    p = path / ANNOTATIONS
    fd = os.open(p, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        check = check_annotations(path, session_id)
        if check.problems or check.torn:
            first = check.problems[0].message if check.problems else "an incomplete last line"
            raise SessionError(
                f"{p}: the annotation chain does not verify ({first}); run `privlab verify {path}` "
                "before adding to it"
            )
        seal = _read_seal(path) or {}
        prev = genesis_prev(session_id, seal)
        if check.lines:
            prev = sha256_hex(p.read_bytes().split(b"\n")[check.lines - 1])
        rec = {
            "seq": check.lines,
            "prev": prev,
            "kind": "mark",
            "t": float(t),
            "label": label,
            "by": "analyst",
            "asserted_at": time.time(),
            "note": note,
        }
        if signer is not None:
            rec["signature"] = signer(_unsigned(rec))
        os.write(fd, encode_record(rec) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return rec
