"""Where `privlab apk` puts its result, and how an APK joins a session.

- `privlab apk app.apk [--out DIR]` writes `DIR/static.json` (default `./apk/static.json`).
- `privlab apk <session>` analyses the APKs in the session's `apk/` folder.
- `privlab apk app.apk --out <session>` first adds the APK(s) to the session's `apk/` folder.

In a session, the APKs are added with a custody record (`Session.add_file`, never overwriting), the base
APK's sha256 and the splits go into `session.json` under `app` (`Session.update_meta`, reason "apk"),
and `apk/static.json` is added the same way. The analysis is deterministic, so a re-run that produces
the same bytes leaves the session untouched; one that differs (another registry, another privlab) is
refused rather than overwriting a recorded file. A sealed session is never written to: give `--out`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from analysis.apk.analyse import Step
from analysis.apk.analyse import analyse_parts
from analysis.apk.bundle import ApkPart
from analysis.apk.bundle import Limits
from analysis.apk.bundle import load_parts
from analysis.apk.report import StaticReport
from analysis.attribute.entities import load_registry
from analysis.errors import SessionError
from analysis.session import SEAL_JSON
from analysis.session import SESSION_JSON
from analysis.session import Session

STATIC_JSON = "static.json"
APK_DIR = "apk"


@dataclass
class Outcome:
    """What a run wrote."""

    report: StaticReport
    static_path: Path
    session: str | None = None
    added: list[str] = field(default_factory=list)  # APK files added to the session
    unchanged: bool = False  # static.json already held exactly these bytes


def is_session(path: Path) -> bool:
    """True if `path` is a privlab session folder."""
    return path.is_dir() and (path / SESSION_JSON).is_file()


def run(
    target: Path,
    out: Path | None = None,
    *,
    registry_paths: Sequence[Path] = (),
    limits: Limits | None = None,
    step: Step | None = None,
) -> Outcome:
    """Analyse `target` (APK, split folder, bundle or session) and write static.json (see module doc)."""
    target = Path(target)
    session: Session | None = None
    if is_session(target):
        session = Session.open(target)
        apk_dir = target / APK_DIR
        if not apk_dir.is_dir() or not any(p.suffix == ".apk" for p in apk_dir.iterdir()):
            raise SessionError(
                f"{apk_dir}: the session holds no APK; add one with `privlab apk FILE.apk --out {target}`"
            )
        parts = load_parts(apk_dir, limits)
    else:
        parts = load_parts(target, limits)
        if out is not None and is_session(out):
            session = Session.open(out)
            _refuse_if_closed(session)  # before the analysis, not after minutes of it
            out = None

    registry = load_registry(list(registry_paths))
    report = analyse_parts(parts, registry, limits=limits, registry_paths=registry_paths, step=step)
    data = report.to_json_bytes()

    if session is None:
        path = (out or Path(APK_DIR)) / STATIC_JSON
        _write_plain(path, data)
        return Outcome(report, path)
    if out is not None:  # a session analysed into a folder of the user's choosing: the session is not touched
        path = out / STATIC_JSON
        _write_plain(path, data)
        return Outcome(report, path, session=session.id)
    return _store_in_session(session, parts, report, data)


def _write_plain(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        raise SessionError(f"{path}: cannot write ({e.strerror or e})") from None


def _store_in_session(session: Session, parts: list[ApkPart], report: StaticReport, data: bytes) -> Outcome:
    _refuse_if_closed(session)
    app = report.app
    recorded = session.meta.get("app") or {}
    if app and app.package and recorded.get("package") and recorded["package"] != app.package:
        raise SessionError(
            f"{session.path}: the session recorded app {recorded['package']!r} but the APK is {app.package!r}"
        )
    # Check every name first, so a conflict leaves the session as it was.
    to_add: list[ApkPart] = []
    for part in parts:
        target = session.path / APK_DIR / part.name
        if target.exists():
            if target.read_bytes() != part.data:
                raise SessionError(f"{target}: a different file of that name is already in the session")
            continue
        to_add.append(part)
    static_path = session.path / APK_DIR / STATIC_JSON
    unchanged = static_path.exists() and static_path.read_bytes() == data
    if static_path.exists() and not unchanged:
        raise SessionError(
            f"{static_path}: already recorded with a different result; recorded files are never overwritten "
            "(write the new analysis elsewhere with --out DIR)"
        )
    wanted = _app_meta(session.reload().get("app") or {}, report)
    for part in to_add:
        session.add_file(f"{APK_DIR}/{part.name}", part.data, kind="apk")

    if wanted != (session.meta.get("app") or {}):

        def record(meta: dict[str, Any]) -> None:
            meta["app"] = _app_meta(meta.get("app") or {}, report)

        session.update_meta(record, reason="apk")
    if not unchanged:
        session.add_file(f"{APK_DIR}/{STATIC_JSON}", data, kind="apk-static")
    return Outcome(
        report, static_path, session=session.id, added=[p.name for p in to_add], unchanged=unchanged
    )


def _refuse_if_closed(session: Session) -> None:
    """Only an open session is written to: a seal (sealed, incomplete or imported) is final."""
    if session.status != "open" or (session.path / SEAL_JSON).exists():
        raise SessionError(
            f"{session.path}: session is {session.status}, sealed; write the analysis elsewhere with --out DIR "
            "(adding to a sealed session would break its seal)"
        )


def _app_meta(current: dict[str, Any], report: StaticReport) -> dict[str, Any]:
    """session.json `app` with the APK's sha256 and parts; package and version only fill gaps."""
    out = dict(current)
    if report.sha256:
        out["apk_sha256"] = report.sha256
    out["apks"] = [
        {"name": i.name, "sha256": i.sha256, "size": i.size, "split": i.split} for i in report.inputs
    ]
    if report.app:
        for key, value in (
            ("package", report.app.package),
            ("version_name", report.app.version_name),
            ("version_code", report.app.version_code),
        ):
            if value and not out.get(key):
                out[key] = value
    return out
