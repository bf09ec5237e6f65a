"""Derived data is checked, not trusted: `derived/manifest.json` records the sha256 of every derived file.

`privlab analyze` skips a stage whose table carries the stamp of its inputs. The stamp lives inside
the table, so a forged `derived/flows.parquet` with the stamp copied from the real one would be
skipped over and reach the report. The manifest closes that: at the end of every analysis run it
records each derived file's sha256, bound to the custody chain head the analysis saw, and it is
authenticated with an HMAC under a key kept outside the session (`derived.key` in the privlab state
folder, made on first use, mode 0600), so a forger with write access to the session cannot make a
matching one. At the start of the next run (every `report`, `load_session` and `analyze`), each
derived file is checked against it: a file that does not match, a file the manifest does not list,
or a manifest that is missing, unauthenticated or made for another chain head sends the files it
concerns to `derived/rejected/` (kept for inspection, never read) and the analysis rebuilds them.
Rebuilding is always safe: derived data is a function of the sealed evidence.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.errors import SessionError
from analysis.session import CUSTODY
from analysis.session import DERIVED
from analysis.session import Session
from analysis.session.custody import CustodyChain
from analysis.session.custody import sha256_file

MANIFEST = "manifest.json"
REJECTED = "rejected"
KEY_NAME = "derived.key"
log = logging.getLogger("privlab")


def state_dir() -> Path:
    """Where privlab keeps its own state: `$PRIVLAB_STATE`, else `$XDG_STATE_HOME/privlab`."""
    if os.environ.get("PRIVLAB_STATE"):
        return Path(os.environ["PRIVLAB_STATE"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "privlab"


def _unchanged(target: Path, body: dict[str, Any]) -> bool:
    """Whether the manifest on disk already states this session, chain head and files."""
    try:
        old = json.loads(target.read_text())
        return all(old.get(k) == body[k] for k in ("session_id", "chain_head", "files"))
    except (OSError, ValueError, AttributeError):  # none yet, or not a manifest: write a new one
        return False


def _key() -> bytes | None:
    """The local HMAC key, made on first use; None where it cannot be kept (then hashes only)."""
    path = state_dir() / KEY_NAME
    with contextlib.suppress(OSError, ValueError):  # no key yet, or an unreadable one: make a new one
        return bytes.fromhex(path.read_text().strip())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        return None  # no writable home: the manifest still binds hashes, without authentication


def _chain_head(session: Session) -> dict[str, Any] | None:
    if not (session.path / CUSTODY).exists():
        return None
    try:
        head = CustodyChain(session.path / CUSTODY, session.id).head()
    except (ValueError, KeyError, OSError):
        return None
    return {"seq": head.seq, "line_sha256": head.line_sha256}


def derived_files(session: Session) -> list[Path]:
    """The files the manifest covers: every file directly in derived/, temporaries included."""
    d = session.path / DERIVED
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.is_file() and p.name != MANIFEST)


def _mac(key: bytes, body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def write_manifest(session: Session) -> Path | None:
    """Record every derived file's sha256 with the chain head (called at the end of `analyze`)."""
    files = derived_files(session)
    if not files:
        return None
    body: dict[str, Any] = {
        "session_id": session.id,
        "chain_head": _chain_head(session),
        "t": time.time(),
        "files": {p.name: sha256_file(p) for p in files},
    }
    key = _key()
    doc = {**body, "hmac_sha256": _mac(key, body) if key is not None else None}
    target = session.path / DERIVED / MANIFEST
    if _unchanged(target, body) and not check_derived(session):
        return target  # a re-run that changed nothing leaves derived/ untouched, the manifest included
    tmp = target.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, target)
    return target


@dataclass
class Mismatch:
    """A derived file that cannot be trusted, and why."""

    name: str
    why: str

    def __str__(self) -> str:
        return f"{DERIVED}/{self.name}: {self.why}"


def check_derived(session: Session) -> list[Mismatch]:
    """The derived files that do not match an authentic manifest for the current chain head."""
    files = derived_files(session)
    if not files:
        return []
    path = session.path / DERIVED / MANIFEST
    try:
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict) or not isinstance(doc.get("files"), dict):
            raise ValueError("not a manifest")
    except OSError:
        return [Mismatch(p.name, "no manifest records it") for p in files]
    except ValueError:
        return [Mismatch(p.name, f"{MANIFEST} is unreadable") for p in files]
    body = {k: v for k, v in doc.items() if k != "hmac_sha256"}
    key = _key()
    if key is not None and not hmac.compare_digest(str(doc.get("hmac_sha256")), _mac(key, body)):
        return [Mismatch(p.name, f"{MANIFEST} was not written by this privlab installation") for p in files]
    if doc.get("session_id") != session.id or doc.get("chain_head") != _chain_head(session):
        return [Mismatch(p.name, f"{MANIFEST} was made for another chain head") for p in files]
    bad = []
    for p in files:
        want = doc["files"].get(p.name)
        if want is None:
            bad.append(Mismatch(p.name, "not listed in the manifest"))
        elif sha256_file(p) != want:
            bad.append(Mismatch(p.name, f"sha256 differs from the manifest ({str(want)[:12]}…)"))
    return bad


def reject_untrusted(session: Session) -> list[str]:
    """Move derived files that fail `check_derived` to derived/rejected/ so they are rebuilt; warnings.

    Called before the analysis stages run, so nothing untrusted is skipped over as up to date.
    """
    bad = check_derived(session)
    if not bad:
        return []
    rejected = session.path / DERIVED / REJECTED
    rejected.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    out = []
    for m in bad:
        src = session.path / DERIVED / m.name
        try:
            os.replace(src, rejected / f"{stamp}-{m.name}")
        except OSError as e:
            raise SessionError(
                f"{src}: cannot be trusted ({m.why}) and cannot be moved aside ({e})"
            ) from None
        if m.name.startswith(".") or m.why.startswith(MANIFEST) or m.why.startswith("no manifest"):
            continue  # a temporary, or a whole-manifest problem: one summary line below
        out.append(f"{m}: moved to {DERIVED}/{REJECTED}/ and rebuilt")
    whole = {m.why for m in bad if m.why.startswith(MANIFEST) or m.why.startswith("no manifest")}
    for why in sorted(whole):
        names = ", ".join(m.name for m in bad if m.why == why)
        out.append(f"{DERIVED}/ ({names}): {why}; rebuilt from the evidence")
    for line in out:
        log.warning("privlab: %s", line)
    return out


def require_trusted(session: Session) -> None:
    """For readers that do not rebuild: a one-line error naming the first derived file that fails."""
    bad = check_derived(session)
    if bad:
        raise SessionError(f"{session.path}: {bad[0]}; run `privlab analyze` to rebuild it")
