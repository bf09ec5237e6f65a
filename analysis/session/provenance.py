"""Where a session's evidence came from, stated exactly: the `provenance` record of session.json.

A session privlab captured has a proxy, optionally a Frida agent and a packet capture, and a seal. A
session imported from a file made elsewhere has only what that file holds. The report's methodology,
coverage and limits are written from this record, so they never claim a recorder the session lacks.

The record (written by `capture/import_.py` for imports):

    {"source": {"file", "size", "sha256", "format"},
     "made_by": {"tool", "version", "detail"},
     "capture_time": {"first", "last"},          # epoch seconds, from the capture itself
     "channels": {"proxy_flows", "frida", "pcap", "privlab_seal"},
     "imported_at": epoch seconds}

Sessions without the record (privlab's own captures) state their channels from the files present.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

CHANNELS = ("proxy_flows", "frida", "pcap", "privlab_seal")


@dataclass(frozen=True)
class Channels:
    """Which recorders a session's evidence comes from."""

    proxy_flows: bool
    frida: bool
    pcap: bool
    privlab_seal: bool


def _utc(t: Any) -> str:
    if not isinstance(t, int | float):
        return "not recorded"
    return datetime.fromtimestamp(float(t), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def provenance(meta: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The provenance record of an imported session, None for a session privlab captured."""
    p = meta.get("provenance")
    return p if isinstance(p, Mapping) else None


def channels(meta: Mapping[str, Any]) -> Channels:
    """The recorders a session's evidence comes from.

    Imported: the provenance record. Captured by privlab: the proxy always; Frida when the run recorded
    its agent (`frida` in session.json); a packet capture when one was asked for and started (no
    `pcap_note`); the seal when the session is sealed (or sealed as incomplete).
    """
    p = provenance(meta)
    if p is not None:
        c = p.get("channels") or {}
        return Channels(*(bool(c.get(k)) for k in CHANNELS))
    cap = meta.get("capture") or {}
    cap = cap if isinstance(cap, Mapping) else {}
    return Channels(
        proxy_flows=True,
        frida=bool(meta.get("frida")),
        pcap=bool(cap.get("pcap")) and not cap.get("pcap_note"),
        privlab_seal=meta.get("status") in ("sealed", "incomplete"),
    )


def made_by(meta: Mapping[str, Any]) -> str:
    """`tool version` of the program that made an imported capture, or a statement that it is unknown."""
    p = provenance(meta) or {}
    m = p.get("made_by") or {}
    tool = str(m.get("tool") or "").strip()
    version = str(m.get("version") or "").strip()
    if not tool:
        return "an unidentified tool (the file does not name the program that wrote it)"
    return f"{tool} {version}".strip()


def methodology(meta: Mapping[str, Any]) -> list[str]:
    """Paragraphs of the methodology for an imported session; empty for a session privlab captured.

    Each sentence is a fact of the provenance record: the file, its hash, the program that made it,
    the capture's own time range and the recorders it does and does not hold.
    """
    p = provenance(meta)
    ch = channels(meta)
    if p is None:
        return captured_methodology(meta, ch)
    src = p.get("source") or {}
    t = p.get("capture_time") or {}
    have = []
    lack = []
    if ch.proxy_flows:
        have.append(f"the HTTP(S) requests and responses as {made_by(meta)} recorded them")
    else:
        lack.append("no decrypted HTTP(S) flows from a proxy")
    if ch.pcap:
        have.append("a packet capture (DNS, TLS server names, QUIC and any cleartext HTTP)")
    else:
        lack.append("no packet capture, so traffic that went around the proxy is unknown")
    if ch.frida:
        have.append("a Frida hook recording of what the app read on the device")
    else:
        lack.append("no Frida hook recording, so no read on the device is in evidence")
    first = [
        f"This session was not recorded by privlab. It was imported on {_utc(p.get('imported_at'))} "
        f"from the file {src.get('file')} ({src.get('size')} bytes, {src.get('format')}, sha256 "
        f"{src.get('sha256')}), which was made by {made_by(meta)}. The capture's own first and last "
        f"request times are {_utc(t.get('first'))} and {_utc(t.get('last'))}; every time in this report "
        "comes from the capture."
    ]
    first.append("It holds " + "; ".join(have) + "." if have else "It holds no recorded traffic.")
    first.append("It holds " + "; ".join(lack) + ".")
    if not ch.privlab_seal:
        first.append(
            "privlab did not seal it: privlab hashed the file when it was imported and every later change "
            "is in the custody chain, but nothing in evidence shows what happened to the file before."
        )
    return [" ".join(first)]


def captured_methodology(meta: Mapping[str, Any], ch: Channels) -> list[str]:
    """The methodology of a session privlab recorded, naming only the recorders that ran."""
    where = "on the device described above" if meta.get("mode") == "device" else "as described above"
    ran = [
        "mitmproxy recorded what it sent over HTTP(S) after decrypting it with a lab certificate authority"
    ]
    if ch.frida:
        ran.insert(
            0,
            "a Frida agent recorded what the app read on the device (with Java stack traces, "
            "attributed to an SDK)",
        )
    if ch.pcap:
        ran.append("a packet capture recorded what went around the proxy (DNS, TLS server names, QUIC)")
    count = {1: "one recorder", 2: "two recorders", 3: "three recorders"}[len(ran)]
    text = f"The app ran {where} while {count} ran side by side: " + "; ".join(ran) + "."
    if not ch.frida:
        text += " No Frida agent ran: no read on the device is in evidence."
    if not ch.pcap:
        text += " No packet capture ran: traffic that went around the proxy is not covered."
    text += " Every byte recorded was hashed into a custody chain as it was written"
    text += (
        ", and the session was sealed at the end (see the integrity appendix)."
        if ch.privlab_seal
        else "; the session has not been sealed."
    )
    return [text]


def limits(meta: Mapping[str, Any]) -> list[str]:
    """Extra limits of the method: an imported session's recorders, and marks an analyst added later."""
    out: list[str] = []
    if provenance(meta) is not None:
        ch = channels(meta)
        out.append(
            f"The traffic was recorded by {made_by(meta)}, not by privlab: what that tool left out "
            "(flows it did not intercept, bodies it truncated or re-encoded) is not in evidence."
        )
        if not ch.frida:
            out.append("No device reads are in evidence: the capture has no hook recording.")
        if not ch.pcap:
            out.append("No packet capture: hosts the app reached around the proxy are not counted.")
    marks = [m for m in meta.get("marks") or [] if isinstance(m, Mapping) and m.get("by") == "analyst"]
    if marks:
        out.append(
            "Consent marks on this session were added afterwards by an analyst (see the phase marks); "
            "they are the analyst's assertion of when consent was given, not a recording of it."
        )
    if any(m.get("recorded_in") for m in marks):
        out.append(
            "The session was sealed before those marks were made: they are kept beside the seal in "
            "annotations.jsonl, a hash chain bound to the seal that `privlab verify` checks, and the "
            "sealed evidence itself is unchanged."
        )
    return out


def parse_time(text: str, start: float | None) -> float:
    """An analyst's time: ISO 8601 (no zone = UTC), epoch seconds, or `+SECONDS` after the session start."""
    from analysis.errors import PrivlabError

    s = text.strip()
    try:
        if s.startswith("+"):
            if start is None:
                raise PrivlabError(f"--at {text}: the session has no start time to count from")
            return float(start) + float(s[1:])
        if s.replace(".", "", 1).isdigit():
            return float(s)
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise PrivlabError(
            f"--at {text!r}: not a time (use ISO 8601 such as 2024-05-01T10:00:05Z, epoch seconds, "
            "or +SECONDS after the session start)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _signer(signing_key: Path | None) -> Callable[[bytes], dict[str, str]] | None:
    """An ed25519 signer for annotation records from the operator's key file (as seals are signed)."""
    if signing_key is None:
        return None
    import base64

    from analysis.session.seal import load_private_key
    from analysis.session.seal import public_key_hex

    key = load_private_key(signing_key)

    def sign(data: bytes) -> dict[str, str]:
        return {
            "public_key": public_key_hex(key.public_key()),
            "value": base64.b64encode(key.sign(data)).decode(),
        }

    return sign


def analyst_mark(
    session: Any, label: str, t: float, note: str, signing_key: Path | None = None
) -> dict[str, Any]:
    """Add a phase mark an analyst asserts after the fact, with the time it was made and the note.

    The mark says who made it (`by: analyst`), when the assertion was made and why, so the report can
    show it as an assertion, not as a mark the operator recorded during the capture. An unsealed
    session records it in session.json (custody records the change); a sealed one, whose session.json
    the seal fixes, records it in annotations.jsonl beside the seal (`annotations.append_mark`), so the
    seal and the evidence stay as they were and `verify` still finds them intact.
    """
    import time

    from analysis.errors import PrivlabError
    from analysis.session.annotations import append_mark

    if not label or not all(c.isalnum() or c in "._-" for c in label):
        raise PrivlabError(f"mark label {label!r}: use letters, digits, '.', '_' or '-'")
    if (session.path / "seal.json").exists():
        rec = append_mark(session.path, session.id, label, t, note, _signer(signing_key))
        session.reload()
        return rec
    if signing_key is not None:
        raise PrivlabError(
            f"{session.path}: not sealed; --sign-key signs marks made after a seal (this one goes into "
            "session.json, which the custody chain and the seal will cover)"
        )
    mark = {"t": t, "label": label, "by": "analyst", "asserted_at": time.time(), "note": note}

    def add(meta: dict[str, Any]) -> None:
        meta.setdefault("marks", []).append(mark)

    session.update_meta(add, reason=f"analyst-mark:{label} at {t:.3f}: {note}"[:500])
    return mark
