"""Readers for user-supplied tracker lists: Exodus, X-Ray, Disconnect and DuckDuckGo.

DuckDuckGo's Tracker Radar is published as a directory (`entities/*.json`, one owner per file, and
`domains/<region>/*.json`, one domain per file); `--registry DIR` reads such a directory in bulk.

privlab does not ship these lists (their licences differ; see docs); a user points at their own copy
and each owner in it becomes an `ImportedEntity`. Entries that cannot be expressed as a registrable
domain, a host or a Java package prefix (general regular expressions) are counted as skipped, never
guessed at.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.attribute.entities.model import ImportedEntity
from analysis.attribute.entities.model import ImportedList
from analysis.attribute.entities.model import RegistryError
from analysis.attribute.entities.model import Source

# Exodus categories -> registry categories.
_EXODUS_CATEGORIES = {
    "Advertisement": "ads",
    "Analytics": "analytics",
    "Crash reporting": "crash-reporting",
    "Identification": "identity",
    "Location": "maps",
    "Profiling": "analytics",
}
_DISCONNECT_CATEGORIES = {
    "Advertising": "ads",
    "Analytics": "analytics",
    "Social": "social-network",
    "Content": "cdn",
    "FingerprintingInvasive": "analytics",
    "FingerprintingGeneral": "analytics",
    "Anti-fraud": "security",
    "ConsentManagers": "configuration",
    "Cryptomining": "unknown",
    "Email": "messaging",
    "EmailAggressive": "messaging",
}
# X-Ray uses "uk" for the United Kingdom; ISO 3166-1 says GB.
_COUNTRY_FIXES = {"UK": "GB"}

_HOST_RE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$")
_PREFIX_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")


def list_digest(path: Path) -> str:
    """sha256 of a list file, or of a list directory: over each file's relative path and sha256, sorted.

    A directory's digest changes when any file in it is added, removed, renamed or edited, so a table
    stamped with it names exactly the data it was built from.
    """
    if not path.is_dir():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path).as_posix()}\0{hashlib.sha256(f.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


def _source(path: Path, fmt: str, title: str, date: str = "", checked: str = "") -> Source:
    return Source(
        id=f"import:{fmt}:{path.name}",
        title=f"{title} ({path.name}, sha256 {list_digest(path)[:16]})",
        url=str(path),
        date=date,
        checked=checked or "user-supplied list, loaded as given",
    )


def regex_to_host(pattern: str) -> str | None:
    r"""A host from a simple host regex (`\.appsflyer\.com`, `^api\.branch\.io$`), else None."""
    p = pattern.strip().lstrip("^").rstrip("$")
    p = re.sub(r"^(\.\*)?(\\\.)?", "", p)
    host = p.replace(r"\.", ".").replace(r"\-", "-").lower()
    return host if _HOST_RE.match(host) else None


def regex_to_prefix(pattern: str) -> str | None:
    r"""A Java package prefix from an Exodus code signature part (`com.appsflyer.`), else None."""
    p = pattern.strip().replace(r"\.", ".").rstrip(".")
    return p if _PREFIX_RE.match(p) else None


def read_exodus(path: Path, data: Any) -> ImportedList:
    """Exodus Privacy `/api/trackers`: {"trackers": {id: {name, code_signature, network_signature, ...}}}."""
    out: list[ImportedEntity] = []
    skipped = 0
    for tid, t in sorted(data["trackers"].items(), key=lambda kv: str(kv[0])):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise RegistryError(f"{path}: Exodus tracker {tid!r} has no name")
        item = ImportedEntity(name=t["name"])
        for signature, convert, into in (
            (t.get("code_signature"), regex_to_prefix, item.code_prefixes),
            (t.get("network_signature"), regex_to_host, item.domains),
        ):
            for part in filter(None, str(signature or "").split("|")):
                value = convert(part)
                if value is None:
                    skipped += 1
                else:
                    into.append(value)
        item.categories = sorted({_EXODUS_CATEGORIES.get(c, "unknown") for c in t.get("categories") or []})
        out.append(item)
    return ImportedList(_source(path, "exodus", "Exodus Privacy trackers"), "exodus", out, skipped)


def read_xray(path: Path, data: Any) -> ImportedList:
    """X-Ray 2020: [{owner_name, doms, country, parent, root_parent}]; country is the owner's HQ."""
    out: list[ImportedEntity] = []
    for i, row in enumerate(data):
        if not isinstance(row, dict) or not isinstance(row.get("owner_name"), str):
            raise RegistryError(f"{path}: X-Ray entry {i + 1} has no owner_name")
        country = str(row.get("country") or "").upper()
        country = _COUNTRY_FIXES.get(country, country)
        out.append(
            ImportedEntity(
                name=row["owner_name"],
                domains=[d.lower() for d in row.get("doms") or [] if isinstance(d, str)],
                parent_name=row.get("parent") or None,
                hq_country=country if re.fullmatch(r"[A-Z]{2}", country) else "",
            )
        )
    return ImportedList(_source(path, "xray", "X-Ray 2020 owner list"), "xray", out)


def read_disconnect(path: Path, data: Any) -> ImportedList:
    """Disconnect `entities.json` ({entities: {name: {properties, resources}}}) or `services.json`."""
    out: dict[str, ImportedEntity] = {}
    if "entities" in data:
        for name, e in data["entities"].items():
            doms = {*e.get("properties", []), *e.get("resources", [])}
            out[name] = ImportedEntity(name=name, domains=sorted(d.lower() for d in doms))
        title = "Disconnect entities"
    else:
        for cat, services in data["categories"].items():
            for service in services:
                for name, sites in service.items():
                    item = out.setdefault(name, ImportedEntity(name=name))
                    c = _DISCONNECT_CATEGORIES.get(cat, "unknown")
                    if c not in item.categories:
                        item.categories.append(c)
                    for url, doms in sites.items():
                        if isinstance(doms, list):
                            item.domains.extend(d.lower() for d in doms if d.lower() not in item.domains)
                        elif url == "performance":  # metadata key, not a site
                            continue
        title = "Disconnect services"
    return ImportedList(_source(path, "disconnect", title), "disconnect", list(out.values()))


def read_duckduckgo(path: Path, data: Any) -> ImportedList:
    """DuckDuckGo: Android TDS ({trackers: {host: {owner}}, packageNames}) or a TDS `entities` map."""
    out: dict[str, ImportedEntity] = {}
    if isinstance(data.get("trackers"), dict):
        for host, t in data["trackers"].items():
            owner = (t.get("owner") or {}).get("name")
            if isinstance(owner, str):
                out.setdefault(owner, ImportedEntity(name=owner, legal_name=owner)).domains.append(
                    host.lower()
                )
        for package, owner in (data.get("packageNames") or {}).items():
            if isinstance(owner, str):
                out.setdefault(owner, ImportedEntity(name=owner, legal_name=owner)).app_packages.append(
                    package
                )
        title = "DuckDuckGo Android tracker data set"
        date = str(data.get("version", ""))
    else:
        for name, e in data["entities"].items():
            doms = e.get("domains") if isinstance(e, dict) else None
            if isinstance(doms, list):
                out[name] = ImportedEntity(name=name, legal_name=name, domains=[d.lower() for d in doms])
        title = "DuckDuckGo Tracker Radar entities"
        date = ""
    return ImportedList(_source(path, "duckduckgo", title, date), "duckduckgo", list(out.values()))


# Tracker Radar categories (docs/CATEGORIES.md of duckduckgo/tracker-radar) -> registry categories.
_RADAR_CATEGORIES = {
    "Action Pixels": "ads",
    "Ad Fraud": "security",
    "Ad Motivated Tracking": "ads",
    "Advertising": "ads",
    "Analytics": "analytics",
    "Audience Measurement": "analytics",
    "CDN": "cdn",
    "Consent Management Platform": "configuration",
    "Embedded Content": "cdn",
    "Federated Login": "identity",
    "Online Payment": "commerce",
    "Session Replay": "analytics",
    "Social - Comment": "social-network",
    "Social - Share": "social-network",
    "Social Network": "social-network",
    "SSO": "identity",
    "Support Chat Widget": "messaging",
    "Tag Manager": "configuration",
    "Third-Party Analytics Marketing": "analytics",
}


def _load_json(path: Path, what: str) -> Any:
    """A JSON file's content; a one-line RegistryError naming the file when it cannot be read or parsed."""
    try:
        return json.loads(path.read_bytes())
    except OSError as e:
        raise RegistryError(f"{path}: cannot read ({e.strerror or e})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RegistryError(f"{path}: not {what} ({e})") from None


def _radar_json(f: Path) -> dict[str, Any]:
    data = _load_json(f, "JSON")
    if not isinstance(data, dict):
        raise RegistryError(f"{f}: a Tracker Radar file must hold one JSON object")
    return data


def _radar_licence(root: Path) -> str:
    for name in ("LICENSE", "LICENSE.md", "LICENSE.txt"):
        f = root / name
        if f.is_file():
            first = next((ln.strip() for ln in f.read_text(errors="replace").splitlines() if ln.strip()), "")
            return f"licence as its {name} states: {first[:120]}"
    return "no licence file in the directory (DuckDuckGo publishes Tracker Radar under CC BY-NC-SA 4.0)"


def read_tracker_radar(root: Path) -> ImportedList:
    """DuckDuckGo Tracker Radar as published: a directory with `entities/*.json` and `domains/*/*.json`.

    An entity file is `{name, displayName, properties: [domain, ...], prevalence}`; a domain file is
    `{domain, owner: {name, displayName}, categories: [...], ...}` under one folder per crawl region.
    Each owner becomes one `ImportedEntity` (its properties plus every domain that names it as owner,
    with the categories those domain files give); a domain file without an owner is counted as skipped.
    """
    entity_files = sorted((root / "entities").glob("*.json"))
    domain_files = sorted((root / "domains").glob("*/*.json")) + sorted((root / "domains").glob("*.json"))
    if not entity_files and not domain_files:
        raise RegistryError(
            f"{root}: a directory, but not a Tracker Radar one (no entities/*.json or domains/<region>/*.json)"
        )
    out: dict[str, ImportedEntity] = {}
    skipped = 0

    def owner(name: str, display: Any) -> ImportedEntity:
        item = out.get(name)
        if item is None:
            shown = display if isinstance(display, str) and display.strip() else name
            item = out[name] = ImportedEntity(name=shown, legal_name=name)
        return item

    for f in entity_files:
        e = _radar_json(f)
        if not isinstance(e.get("name"), str) or not e["name"].strip():
            raise RegistryError(f"{f}: Tracker Radar entity file has no name")
        item = owner(e["name"], e.get("displayName"))
        for d in e.get("properties") or []:
            if isinstance(d, str) and d.lower() not in item.domains:
                item.domains.append(d.lower())
        if isinstance(e.get("parent"), str) and e["parent"].strip():
            item.parent_name = e["parent"]
    for f in domain_files:
        d = _radar_json(f)
        dom = d.get("domain")
        who: dict[str, Any] = d["owner"] if isinstance(d.get("owner"), dict) else {}
        name = who.get("name")
        if not isinstance(dom, str) or not isinstance(name, str) or not name.strip():
            skipped += 1  # a domain with no known owner: nothing to attribute it to
            continue
        item = owner(name, who.get("displayName"))
        if dom.lower() not in item.domains:
            item.domains.append(dom.lower())
        for c in d.get("categories") or []:
            mapped = _RADAR_CATEGORIES.get(str(c), "unknown")
            if mapped not in item.categories:
                item.categories.append(mapped)
    for item in out.values():
        if len(item.categories) > 1 and "unknown" in item.categories:
            item.categories.remove("unknown")
    title = (
        f"DuckDuckGo Tracker Radar directory ({len(entity_files)} entity files, "
        f"{len(domain_files)} domain files)"
    )
    version = ""
    pkg = root / "package.json"
    if pkg.is_file():
        with contextlib.suppress(OSError, ValueError):  # no version stated: the date stays unknown
            version = str(json.loads(pkg.read_bytes()).get("version") or "")
    checked = f"user-supplied directory, loaded as given; {_radar_licence(root)}"
    return ImportedList(
        _source(root, "tracker-radar", title, version, checked), "tracker-radar", list(out.values()), skipped
    )


def detect_format(data: Any) -> str | None:
    """Which list format a parsed JSON document is in, or None."""
    if isinstance(data, list) and data and isinstance(data[0], dict) and "owner_name" in data[0]:
        return "xray"
    if not isinstance(data, dict):
        return None
    trackers = data.get("trackers")
    if isinstance(trackers, dict) and trackers:
        first = next(iter(trackers.values()))
        if isinstance(first, dict) and "code_signature" in first:
            return "exodus"
        if isinstance(first, dict) and "owner" in first:
            return "duckduckgo"
    entities = data.get("entities")
    if isinstance(entities, dict) and entities:
        first = next(iter(entities.values()))
        if isinstance(first, dict) and ("properties" in first or "resources" in first):
            return "disconnect"
        if isinstance(first, dict) and "domains" in first:
            return "duckduckgo"
    if isinstance(data.get("categories"), dict):
        return "disconnect"
    return None


READERS: dict[str, Callable[[Path, Any], ImportedList]] = {
    "exodus": read_exodus,
    "xray": read_xray,
    "disconnect": read_disconnect,
    "duckduckgo": read_duckduckgo,
}


def read_list(path: Path) -> ImportedList:
    """Read a tracker list in any supported format (detected from its content; a directory is Tracker Radar)."""
    if path.is_dir():
        return read_tracker_radar(path)
    data = _load_json(path, "a JSON tracker list")
    fmt = detect_format(data)
    if fmt is None:
        raise RegistryError(
            f"{path}: not a tracker list privlab can read (expected Exodus, X-Ray, Disconnect or DuckDuckGo JSON)"
        )
    try:
        return READERS[fmt](path, data)
    except (KeyError, TypeError, AttributeError) as e:
        raise RegistryError(f"{path}: malformed {fmt} list ({type(e).__name__}: {e})") from None
