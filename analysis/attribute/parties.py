"""First and third parties for any app: who the app's owner is, and which hosts are the owner's.

The first party is derived, in this order, from:
1. the user's declaration: `--first-party DOMAIN ...` and `--owner "Company"` (session.json `app`);
2. the app's static analysis when an APK is in the session (`apk/static.json`: package, the signing
   certificate subject's organisation);
3. the registry: an app package the registry knows (its publisher), or an owner name it knows;
4. the package name itself: `com.spotify.music` -> `spotify.com` (reverse-DNS naming convention).

A host on a first-party domain, or owned by an entity that shares the owner's ultimate parent, is first
party. Every other host the registry attributes to a known entity (an SDK, an analytics or ad vendor, a
CDN, a platform) is third party. A host that stays unknown says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.attribute.domains import DomainNamer
from analysis.attribute.domains import default_namer
from analysis.attribute.domains import is_ip
from analysis.attribute.entities import Registry
from analysis.attribute.entities import normalise_host
from analysis.attribute.entities.model import Entity

# Second-level labels of reverse-DNS package names that are not a company's domain.
_GENERIC = frozenset({"android", "app", "apps", "example", "mobile", "my", "test", "www"})


@dataclass(frozen=True)
class FirstParty:
    """The app's owner as far as it is known, and how it was established."""

    package: str | None
    owner: Entity | None  # the registry's entity for the owner, when known
    owner_name: str | None  # the owner's name as declared or read (may be outside the registry)
    domains: tuple[str, ...]  # registrable domains that are the owner's
    basis: tuple[str, ...]  # how each fact was established, in order

    @property
    def known(self) -> bool:
        """Whether anything identifies the app: an owner, its domains, or at least its package.

        A package alone is enough to call a known SDK vendor third party: the registry would have named
        the vendor as the package's publisher (`app_packages`, code prefix) if it were.
        """
        return self.owner is not None or bool(self.domains) or bool(self.package)

    def describe(self) -> str:
        """One line: the owner and domains, and the basis of each."""
        who = self.owner.name if self.owner else (self.owner_name or "not established")
        if self.owner is None and self.owner_name is None and self.package:
            who = f"{self.package}, publisher not in the registry"
        doms = ", ".join(self.domains) or "none"
        return f"first party: {who}; domains {doms} ({'; '.join(self.basis) or 'no basis'})"


def package_domain(package: str | None, namer: DomainNamer | None = None) -> str | None:
    """The domain a reverse-DNS package name points to: `com.spotify.music` -> `spotify.com`.

    The labels are reversed into a host name and its registrable domain is read from the Public Suffix
    List, so a country code or a multi-label suffix comes out right: `de.zeit.online` -> `zeit.de`,
    `uk.co.bbc.iplayer` -> `bbc.co.uk`, `br.com.xyz.app` -> `xyz.com.br`. A package whose first label is
    no public suffix (`tld.sample.app`) or whose name label is generic (`com.android.chrome`: a
    platform label, not a company's domain) points to no domain. `com.google.*` is Google's namespace:
    `com.google.android.gm` (Gmail) -> `google.com`.
    """
    if not package:
        return None
    parts = [p for p in package.lower().split(".") if p]
    if len(parts) < 2 or not all(re.fullmatch(r"[a-z0-9_-]{1,63}", p) for p in parts):
        return None
    dom = (namer or default_namer()).registrable(".".join(reversed(parts)).replace("_", "-"))
    if dom is None or dom.split(".", 1)[0] in _GENERIC:
        return None
    return dom


def _certificate_org(static: Mapping[str, Any]) -> str | None:
    signing = static.get("signing") or {}
    for cert in signing.get("certificates") or []:
        subject = str(cert.get("subject") or "") if isinstance(cert, Mapping) else ""
        m = re.search(r"(?:^|[,/]\s*)(?:O|organizationName)=([^,/]+)", subject)
        if m and m.group(1).strip().lower() not in ("android", "unknown", "google inc."):
            return m.group(1).strip()
    return None


def read_static(session_dir: Path | None) -> Mapping[str, Any] | None:
    """The session's `apk/static.json` as a dict, or None (absent or unreadable: the basis says so)."""
    if session_dir is None:
        return None
    p = session_dir / "apk" / "static.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, Mapping) else None


def establish(
    registry: Registry,
    namer: DomainNamer,
    *,
    package: str | None = None,
    declared_domains: Iterable[str] = (),
    declared_owner: str | None = None,
    static: Mapping[str, Any] | None = None,
) -> FirstParty:
    """The app's first party from the sources in the module docstring, in that order."""
    basis: list[str] = []
    domains: list[str] = []
    owner: Entity | None = None
    owner_name: str | None = None
    for d in declared_domains:
        dom = namer.registrable(normalise_host(d)) or normalise_host(d)
        if dom and dom not in domains:
            domains.append(dom)
    if domains:
        basis.append(f"domains declared by the analyst ({', '.join(domains)})")
    if declared_owner:
        owner_name = declared_owner
        owner = registry.by_name(declared_owner)
        basis.append(
            f"owner declared by the analyst ({declared_owner}"
            + (", in the registry)" if owner else ", not in the registry)")
        )
    if static is not None:
        app = static.get("app") or {}
        pkg = app.get("package") if isinstance(app, Mapping) else None
        if isinstance(pkg, str) and pkg and not package:
            package = str(pkg)
            basis.append(f"package {package} from the session's APK")
        org = _certificate_org(static)
        if org is not None and owner is None:
            found = registry.by_name(org)
            if found is not None or owner_name is None:
                owner, owner_name = found, org
                basis.append(f"signing certificate organisation {org}")
    if package and owner is None:
        publisher = registry.first_party_for_app(package)
        if publisher is not None:
            owner = publisher
            basis.append(f"registry: {package} is published by {publisher.name}")
    pkg_dom = package_domain(package, namer)
    if pkg_dom and pkg_dom not in domains:
        known = registry.entity_for_host(pkg_dom)
        if owner is None or known is None or registry.root(known).id == registry.root(owner).id:
            domains.append(pkg_dom)
            basis.append(f"package name {package} -> {pkg_dom}")
            if owner is None and known is not None:
                owner = known
                basis.append(f"registry: {pkg_dom} belongs to {known.name}")
    return FirstParty(
        package, owner, owner_name or (owner.name if owner else None), tuple(domains), tuple(basis)
    )


def classify(
    fp: FirstParty | None, registry: Registry, namer: DomainNamer, host: str, entity: Entity | None
) -> tuple[str, str]:
    """(party, reason) of one host: first | third | unknown, and the fact that decided it."""
    if fp is None or not fp.known:
        if entity is None:
            return "unknown", "host not in the entity registry, and the app's owner is not established"
        return "unknown", f"owned by {entity.name}; the app's owner is not established (use --app or --owner)"
    h = normalise_host(host)
    dom = None if is_ip(h) else (namer.registrable(h) or h)
    if dom and dom in fp.domains:
        return "first", f"{dom} is the app's own domain"
    if entity is not None and entity.category == "hosting":
        # A name under a cloud's customer domain (cloudfront.net, amazonaws.com) is rented by anyone: the
        # cloud's owner is not the recipient, so neither ownership nor "third party" follows from it.
        return "unknown", (
            f"hosted at {entity.name}: names under {dom} are rented by its customers, so the name does "
            "not identify the recipient"
        )
    if entity is not None and fp.owner is not None and registry.root(entity).id == registry.root(fp.owner).id:
        return "first", f"owned by {entity.name}, the app's owner ({fp.owner.name})"
    if entity is not None:
        owner = fp.owner.name if fp.owner else fp.owner_name or ", ".join(fp.domains)
        if owner:
            return "third", f"owned by {entity.name} ({entity.category}), not the app's owner ({owner})"
        return (
            "third",
            f"owned by {entity.name} ({entity.category}), which the registry does not name as publisher of {fp.package}",
        )
    if is_ip(h):
        return "unknown", "an IP address with no host name in the session and no owner in the registry"
    return "unknown", f"{dom} is not in the entity registry and not one of the app's domains"


def for_session(
    meta: Mapping[str, Any],
    session_dir: Path | None,
    registry: Registry,
    namer: DomainNamer,
    *,
    package: str | None = None,
    declared_domains: Iterable[str] = (),
    declared_owner: str | None = None,
) -> FirstParty:
    """The first party of a session: arguments first, then session.json's `app`, then its APK."""
    app = meta.get("app") or {}
    app = app if isinstance(app, Mapping) else {}
    domains = list(declared_domains) or [str(d) for d in app.get("first_party") or []]
    return establish(
        registry,
        namer,
        package=package or (str(app["package"]) if app.get("package") else None),
        declared_domains=domains,
        declared_owner=declared_owner or (str(app["owner"]) if app.get("owner") else None),
        static=read_static(session_dir),
    )
