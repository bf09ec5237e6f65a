"""Sealing a session: `seal.json` names every evidence file's sha256 and size, the chain head, the tools.

The seal carries its own hash (`seal_sha256`, over the canonical JSON without that field and without the
signature) so a flipped byte anywhere in it shows; an optional ed25519 signature with the operator's key
makes it attributable. Files the chain covers only in part (a writer killed mid-write) are listed under
`uncovered` with the number of trailing bytes, so `verify` can tell a crash from tampering.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from analysis.errors import PrivlabError
from analysis.errors import SessionError
from analysis.errors import require_file
from analysis.session import NOT_EVIDENCE
from analysis.session import SEAL_JSON
from analysis.session import Session
from analysis.session import tool_versions
from analysis.session.custody import read_lines
from analysis.session.custody import sha256_file
from analysis.session.custody import sha256_hex

SEAL_FORMAT = 1
# An RFC 3161 token over the seal hash (session/timestamp.py): kept beside the seal, not listed in it.
SEAL_TSR = "seal.tsr"


def evidence_files(path: Path) -> list[str]:
    """Relative paths of every evidence file in a session folder (sorted; not seal, derived/ or report/)."""
    out: list[str] = []
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path)
        if (
            not p.is_file()
            or rel.parts[0] in NOT_EVIDENCE
            or rel.name == SEAL_JSON
            or rel.as_posix() == SEAL_TSR
        ):
            continue
        # Hidden temporaries are covered too: nothing writes them once a session is sealed, so one found
        # later was put there by someone else, and one present at sealing is part of what was sealed.
        out.append(rel.as_posix())
    return out


def covered_lengths(chain_lines: list[bytes]) -> dict[str, int]:
    """For files written by appends, the end of the last custody-covered segment."""
    ends: dict[str, int] = {}
    for line in chain_lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(rec, dict)
            and isinstance(rec.get("offset"), int)
            and isinstance(rec.get("length"), int)
        ):
            ends[str(rec.get("file"))] = max(
                ends.get(rec["file"], 0), int(rec["offset"]) + int(rec["length"])
            )
    return ends


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes that `seal_sha256` and the signature cover."""
    body = {k: v for k, v in doc.items() if k not in ("seal_sha256", "signature")}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        require_file(path, "a signing key file (PEM)")  # a FIFO would block the read forever
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise PrivlabError(f"{path}: signing key not found") from None
    except (ValueError, TypeError) as e:
        raise PrivlabError(f"{path}: not a PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PrivlabError(f"{path}: not an ed25519 key (privlab signs seals with ed25519)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    if path.exists():
        require_file(path, "a public key file")  # a directory or FIFO, said as such, never opened
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PrivlabError(f"{path}: public key not found") from None
    except OSError as e:
        raise PrivlabError(f"{path}: cannot read the public key ({e.strerror})") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        try:
            key = load_private_key(path).public_key()
        except (ValueError, TypeError):
            raise PrivlabError(f"{path}: not a PEM ed25519 key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PrivlabError(f"{path}: not an ed25519 public key")
    return key


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def generate_key(path: Path) -> str:
    """Write a new ed25519 private key (PEM) and its public key beside it; returns the public key hex."""
    if path.exists():
        raise PrivlabError(f"{path}: already exists; refusing to overwrite a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    pub = key.public_key()
    path.with_suffix(".pub").write_bytes(
        pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return public_key_hex(pub)


def verify_signature(doc: dict[str, Any]) -> tuple[bool, str]:
    """Check the seal's embedded signature; returns (valid, public key hex)."""
    sig = doc.get("signature") or {}
    if not isinstance(sig, dict):  # a hand-edited seal: a signature that is not an object does not verify
        return False, ""
    try:
        pub = Ed25519PublicKey.from_public_bytes(bytes.fromhex(sig["public_key"]))
        pub.verify(base64.b64decode(sig["value"]), canonical(doc))
    except (KeyError, ValueError, TypeError, InvalidSignature):
        return False, str(sig.get("public_key", ""))
    return True, str(sig["public_key"])


# Disk space kept back while a capture runs, so a full disk still leaves room to seal (session.json and
# seal.json need a few KiB): written as real blocks at the start, deleted first thing when sealing.
SEAL_RESERVE = ".seal-reserve"
RESERVE_BYTES = 256 * 1024


def reserve_seal_space(session: Session, size: int = RESERVE_BYTES) -> bool:
    """Hold `size` bytes of disk for the seal; False when even that cannot be had (said, not fatal)."""
    path = session.path / SEAL_RESERVE
    try:
        with open(path, "wb") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
        return True
    except OSError:
        path.unlink(missing_ok=True)
        return False


def release_seal_space(session: Session) -> None:
    (session.path / SEAL_RESERVE).unlink(missing_ok=True)


def seal_session(
    session: Session,
    *,
    status: str = "sealed",
    reason: str | None = None,
    signing_key: Path | None = None,
    extra: dict[str, Any] | None = None,
    seal_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Close the session (status `sealed` or `incomplete`) and write `seal.json`.

    `seal_fields` go into seal.json itself (covered by its hash and signature), e.g. an import's source.
    """
    if status not in ("sealed", "incomplete", "imported"):
        raise ValueError(status)
    if (session.path / SEAL_JSON).exists():
        raise SessionError(f"{session.path / SEAL_JSON}: session is already sealed")
    key = load_private_key(signing_key) if signing_key else None
    release_seal_space(session)  # the space kept back for this moment (not evidence: never sealed)
    ended = time.time()

    def close(meta: dict[str, Any]) -> None:
        meta["status"] = status
        if status == "imported" and meta.get("ended") is not None:
            # An import's session times are the capture's own (its provenance); the seal's time is apart.
            meta["sealed_at"] = ended
        else:
            meta["ended"] = ended
        if reason:
            meta["status_reason"] = reason
        if extra:
            meta.update(extra)

    session.update_meta(close, reason=f"seal:{status}")
    with session.chain.locked():
        head = session.chain.head()
        lines, torn = read_lines(session.chain.path)
        covered = covered_lengths(lines)
        files: dict[str, dict[str, Any]] = {}
        uncovered: dict[str, int] = {}
        for rel in evidence_files(session.path):
            p = session.path / rel
            size = p.stat().st_size
            files[rel] = {"sha256": sha256_file(p), "size": size}
            if rel in covered and size > covered[rel]:
                uncovered[rel] = size - covered[rel]
        doc: dict[str, Any] = {
            "format": SEAL_FORMAT,
            "session_id": session.id,
            "status": status,
            "reason": reason,
            "sealed_at": ended,
            "files": files,
            "chain_head": {"seq": head.seq, "line_sha256": head.line_sha256},
            "chain_torn_tail_bytes": len(torn),
            "uncovered": uncovered,
            "tools": tool_versions(),
            **(seal_fields or {}),
        }
        doc["seal_sha256"] = sha256_hex(canonical(doc))
        if key is not None:
            pub = key.public_key()
            doc["signature"] = {
                "alg": "ed25519",
                "public_key": public_key_hex(pub),
                "value": base64.b64encode(key.sign(canonical(doc))).decode(),
            }
        (session.path / SEAL_JSON).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return doc


def seal_imported(session: Session, source: dict[str, Any]) -> dict[str, Any]:
    """Seal a session made by `privlab import` at once, the source file's name, size and sha256 in the seal.

    An imported session was never sealed before, so any later change to it went unseen by `verify`.
    """
    keep = {k: source[k] for k in ("file", "sha256", "size", "format") if k in source}
    return seal_session(session, status="imported", seal_fields={"import_source": keep})
