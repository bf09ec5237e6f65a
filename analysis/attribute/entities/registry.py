"""The entity registry: load the curated TOML data (plus any user-supplied lists) and answer ownership.

Data files (`analysis/entities/data/*.toml`, read with `tomllib`):

```toml
[source.xray2020]                 # citations, referenced by id from any file
title = "X-Ray 2020 company-domain list"
url = "https://..."
date = "2020"
checked = "read here 2026-11-28: ../shared/data/tracker_lists/xray"

[[entity]]
id = "tiktok"                     # [a-z0-9-]+, unique
name = "TikTok"
legal_name = "TikTok Pte. Ltd."   # "" when not established
parent = "bytedance"              # another entity's id; "" for an ultimate parent
hq_country = "SG"                 # ISO 3166-1 alpha-2, "" when not established
categories = ["social-network"]   # model.CATEGORIES
aliases = ["TikTok Inc."]         # other names lists use (imported lists attach to us by these)
notes = "..."
[entity.facts]                    # fact -> source ids: legal_name, parent, hq_country (all required
legal_name = ["..."]              # when the fact is set)
[entity.domains]                  # registrable domain or host -> source ids
"tiktokv.com" = ["xray2020"]
[entity.code_prefixes]            # Java package/class prefix -> source ids
"com.zhiliaoapp.musically" = ["..."]
[entity.app_packages]             # Android package it publishes -> source ids
"com.zhiliaoapp.musically" = ["..."]
[entity.networks]                 # AS organisation name (as the offline ASN data names it) of a network
"BYTEDANCE" = ["geoip2fast-asn"]  # the entity runs for its own services only -> source ids
[[entity.endpoint]]               # roles of specific hosts (glob) and paths
host = "log*.tiktokv.com"
path = "/service/2/device_register/"
category = "device-registration"
purpose = "device registration"
sources = ["..."]

[library]                         # code that runs on its caller's behalf (skipped by attribution)
"okhttp3" = ["..."]

[hosting_network."AMAZON-02"]     # an AS that carries other companies' services (cloud, CDN): an
provider = "Amazon Web Services"  # IP-only host in it stays unknown, "hosted at" the provider
sources = ["geoip2fast-asn"]
```

Lookups: a host maps to the entity owning its longest matching suffix, curated data first and then
imported lists in the order given (a curated fact is never overridden by a list); a class maps to the
longest matching package prefix, in the same order. An IP address maps to an entity only through the
AS that announces it, and only when that AS is one the entity runs for itself (`networks`); a cloud or
CDN network (`hosting_network`) never attributes an address to anyone.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.attribute.entities.model import CATEGORIES
from analysis.attribute.entities.model import Endpoint
from analysis.attribute.entities.model import Entity
from analysis.attribute.entities.model import ImportedList
from analysis.attribute.entities.model import RegistryError
from analysis.attribute.entities.model import Source

DATA_DIR = Path(__file__).resolve().parent / "data"

_ID_OK = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_COUNTRY_OK = re.compile(r"^[A-Z]{2}$")
_DOMAIN_OK = re.compile(r"^[a-z0-9_*-]+(\.[a-z0-9_-]+)*$")
_AS_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,&()+'/-]*$")
_PREFIX_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_$]+)*$")
_LEGAL_SUFFIXES = re.compile(
    r"\b(ltd|limited|inc|incorporated|llc|corp|corporation|co|company|gmbh|ag|sa|sas|bv|b\.v|plc|pte|"
    r"technologies|technology|holdings)\b\.?"
)


def normalise_name(name: str) -> str:
    """Company name reduced for matching across lists: "ByteDance Ltd." and "Bytedance" both -> "bytedance"."""
    lowered = name.lower().replace(",", " ")
    lowered = _LEGAL_SUFFIXES.sub(" ", lowered)
    return re.sub(r"[^a-z0-9]+", "", lowered)


def normalise_host(host: str) -> str:
    """Lower-case host without a trailing dot or port (IPv6 literals are returned without brackets)."""
    h = host.strip().lower()
    if h.startswith("["):
        return h[1:].split("]", 1)[0]
    if h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h.rstrip(".")


def class_of_frame(frame: str) -> str:
    """The class name of a Java stack frame or class name: "at a.b.C$1.run(C.java:3)" -> "a.b.C"."""
    f = frame.strip()
    if f.startswith("at "):
        f = f[3:].strip()
    if "(" in f:
        # "pkg.Class.method(File.java:1)": drop the arguments, then the method name.
        f = f.split("(", 1)[0]
        f = f.rsplit(".", 1)[0] if "." in f else f
    return f.split("$", 1)[0]


class Registry:
    """Entities with lookup indexes. Build with `load_registry`; query with the methods below."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self.sources: dict[str, Source] = {}
        self.libraries: dict[str, tuple[str, ...]] = {}
        # Index tiers: tier 0 is curated data; then one tier per imported list, in load order.
        self._domain_tiers: list[dict[str, str]] = [{}]
        self._prefix_tiers: list[dict[str, str]] = [{}]
        self._app_tiers: list[dict[str, str]] = [{}]
        self._by_name: dict[str, str] = {}
        self.imports: list[ImportedList] = []
        self._networks: dict[str, str] = {}  # normalised AS organisation name -> entity id
        # normalised AS organisation name -> (provider, AS name as written, source ids)
        self.hosting_networks: dict[str, tuple[str, str, tuple[str, ...]]] = {}

    # -- queries ---------------------------------------------------------------------------------

    def entity_for_host(self, host: str) -> Entity | None:
        """The entity owning `host` by its longest registered suffix (curated data before lists)."""
        h = normalise_host(host)
        if not h or _looks_like_ip(h):
            return None
        labels = h.split(".")
        for tier in self._domain_tiers:
            for i in range(len(labels)):
                eid = tier.get(".".join(labels[i:]))
                if eid is not None:
                    return self.entities[eid]
        return None

    def entity_for_network(self, as_name: str) -> Entity | None:
        """The entity that runs the AS named `as_name` for its own services only, or None."""
        eid = self._networks.get(_as_key(as_name))
        return self.entities[eid] if eid else None

    def hosting_provider(self, as_name: str) -> str | None:
        """The provider of a cloud or CDN network (an AS that carries others' services), or None."""
        entry = self.hosting_networks.get(_as_key(as_name))
        return entry[0] if entry else None

    def entity_for_class(self, class_name: str) -> Entity | None:
        """The entity owning a Java class or package by its longest registered package prefix."""
        name = class_of_frame(class_name)
        parts = name.split(".")
        for tier in self._prefix_tiers:
            for i in range(len(parts), 0, -1):
                eid = tier.get(".".join(parts[:i]))
                if eid is not None:
                    return self.entities[eid]
        return None

    def is_library(self, class_name: str) -> bool:
        """True for code that runs on its caller's behalf (networking, JSON, images): not an SDK choice."""
        parts = class_of_frame(class_name).split(".")
        return any(".".join(parts[:i]) in self.libraries for i in range(len(parts), 0, -1))

    def first_party_for_app(self, package: str) -> Entity | None:
        """The entity that publishes the Android app `package` (or, failing that, owns its code prefix)."""
        for tier in self._app_tiers:
            eid = tier.get(package)
            if eid is not None:
                return self.entities[eid]
        return self.entity_for_class(package) if package else None

    def root(self, entity: Entity) -> Entity:
        """The ultimate parent of `entity` (itself if it has none)."""
        seen = {entity.id}
        while entity.parent is not None and entity.parent in self.entities:
            entity = self.entities[entity.parent]
            if entity.id in seen:  # validated at load time; guard anyway
                break
            seen.add(entity.id)
        return entity

    def chain(self, entity: Entity) -> list[Entity]:
        """`entity`, its parent, ..., its ultimate parent."""
        out = [entity]
        while out[-1].parent is not None and out[-1].parent in self.entities and len(out) < 16:
            out.append(self.entities[out[-1].parent or ""])
        return out

    def party(self, entity: Entity | None, app_package: str | None) -> str:
        """ "first" if `entity` shares its ultimate parent with the app's publisher, else "third".

        "unknown" when the entity is unknown or the app's publisher is not in the registry. Inside a
        conglomerate this is deliberate: for TikTok, ByteDance's own code and hosts (Pangle included) are
        first party; Pangle's purpose (ads) is reported separately through its category.
        """
        if entity is None or not app_package:
            return "unknown"
        owner = self.first_party_for_app(app_package)
        if owner is None:
            return "unknown"
        return "first" if self.root(entity).id == self.root(owner).id else "third"

    def endpoint_for(self, host: str, path: str | None = None) -> Endpoint | None:
        """The most specific endpoint role of `host` (and `path`) among its owner's chain, if any."""
        entity = self.entity_for_host(host)
        if entity is None:
            return None
        h = normalise_host(host)
        for e in self.chain(entity):
            # Endpoints with a path are more specific than host-only ones: try them first.
            for ep in sorted(e.endpoints, key=lambda ep: ep.path is None):
                if ep.matches(h, path):
                    return ep
        return None

    def by_name(self, name: str) -> Entity | None:
        """An entity by its id, name, legal name or an alias (normalised)."""
        if name in self.entities:
            return self.entities[name]
        eid = self._by_name.get(normalise_name(name))
        return self.entities[eid] if eid else None

    def cite(self, source_id: str) -> str:
        """A one-line citation for a source id."""
        s = self.sources.get(source_id)
        if s is None:
            return source_id
        parts = [s.title]
        if s.date:
            parts.append(f"({s.date})")
        if s.url:
            parts.append(s.url)
        return " ".join(parts)

    def domains_of(self, entity: Entity) -> list[str]:
        """Every domain that resolves to `entity`, curated and imported."""
        return sorted({d for tier in self._domain_tiers for d, eid in tier.items() if eid == entity.id})

    # -- building --------------------------------------------------------------------------------

    def _add_curated(self, entity: Entity, where: str) -> None:
        if entity.id in self.entities:
            raise RegistryError(f"{where}: entity id {entity.id!r} defined twice")
        self.entities[entity.id] = entity
        for table, values, label in (
            (self._domain_tiers[0], entity.domains, "domain"),
            (self._prefix_tiers[0], entity.code_prefixes, "code prefix"),
            (self._app_tiers[0], entity.app_packages, "app package"),
        ):
            for v in values:
                if v in table and table[v] != entity.id:
                    raise RegistryError(
                        f"{where}: {label} {v!r} claimed by both {table[v]!r} and {entity.id!r}"
                    )
                table[v] = entity.id
        for n in (entity.id, entity.name, entity.legal_name, *entity.aliases):
            if n:
                self._by_name.setdefault(normalise_name(n), entity.id)
        for net in entity.networks:
            key = _as_key(net)
            if key in self._networks and self._networks[key] != entity.id:
                raise RegistryError(
                    f"{where}: network {net!r} claimed by both {self._networks[key]!r} and {entity.id!r}"
                )
            self._networks[key] = entity.id

    def add_import(self, imported: ImportedList) -> None:
        """Merge a user-supplied list as a new, lower-priority tier.

        An owner whose name matches a curated entity (by name, legal name or alias) lends its domains and
        prefixes to that entity; other owners become entities with ids `<format>:<name>`.
        """
        self.imports.append(imported)
        self.sources[imported.source.id] = imported.source
        domains: dict[str, str] = {}
        prefixes: dict[str, str] = {}
        apps: dict[str, str] = {}
        local: dict[str, str] = {}  # normalised name -> id, for parents inside this list
        pending_parents: list[tuple[str, str]] = []
        for item in imported.entities:
            key = normalise_name(item.name)
            # A list that gives both a short and a legal name (Tracker Radar's displayName and name)
            # attaches to a curated entity known by either.
            legal = normalise_name(item.legal_name) if item.legal_name else ""
            eid = self._by_name.get(key) or (self._by_name.get(legal) if legal else None) or local.get(key)
            if eid is None:
                eid = f"{imported.format}:{item.name}"
                suffix = 2
                while eid in self.entities:
                    eid = f"{imported.format}:{item.name}#{suffix}"
                    suffix += 1
                self.entities[eid] = Entity(
                    id=eid,
                    name=item.name,
                    legal_name=item.legal_name,
                    parent=None,
                    hq_country=item.hq_country,
                    domains=tuple(item.domains),
                    code_prefixes=tuple(item.code_prefixes),
                    app_packages=tuple(item.app_packages),
                    categories=tuple(item.categories),
                    sources=(imported.source.id,),
                    origin=f"{imported.format}:{imported.source.title}",
                )
                local[key] = eid
                if item.parent_name and normalise_name(item.parent_name) != key:
                    pending_parents.append((eid, item.parent_name))
            for d in item.domains:
                domains.setdefault(d, eid)
            for p in item.code_prefixes:
                prefixes.setdefault(p, eid)
            for a in item.app_packages:
                apps.setdefault(a, eid)
        for eid, parent_name in pending_parents:
            pkey = normalise_name(parent_name)
            pid = self._by_name.get(pkey) or local.get(pkey)
            if pid is not None and pid != eid:
                old = self.entities[eid]
                self.entities[eid] = Entity(**{**old.__dict__, "parent": pid})
        for key, eid in local.items():
            self._by_name.setdefault(key, eid)
        self._domain_tiers.append(domains)
        self._prefix_tiers.append(prefixes)
        self._app_tiers.append(apps)

    def validate(self, where: str) -> None:
        """Check references: parents exist, no cycles, every cited source is defined."""
        for e in self.entities.values():
            if e.parent is not None and e.parent not in self.entities:
                raise RegistryError(f"{where}: entity {e.id!r} has unknown parent {e.parent!r}")
            seen = {e.id}
            cur = e
            while cur.parent is not None:
                cur = self.entities[cur.parent]
                if cur.id in seen:
                    raise RegistryError(f"{where}: parent cycle through {e.id!r}")
                seen.add(cur.id)
            for sid in e.sources:
                if sid not in self.sources:
                    raise RegistryError(f"{where}: entity {e.id!r} cites unknown source {sid!r}")
        for prefix, sids in self.libraries.items():
            for sid in sids:
                if sid not in self.sources:
                    raise RegistryError(f"{where}: library {prefix!r} cites unknown source {sid!r}")
        for key, eid in self._networks.items():
            if key in self.hosting_networks:
                raise RegistryError(
                    f"{where}: network {key!r} of {eid!r} is also listed as a hosting network"
                )
        for _provider, as_name, sids in self.hosting_networks.values():
            for sid in sids:
                if sid not in self.sources:
                    raise RegistryError(f"{where}: hosting network {as_name!r} cites unknown source {sid!r}")


def _as_key(as_name: str) -> str:
    """An AS organisation name for matching: case and spacing do not matter ("FACEBOOK", "Facebook")."""
    return " ".join(as_name.split()).upper()


def _looks_like_ip(h: str) -> bool:
    return ":" in h or bool(re.fullmatch(r"[0-9.]+", h))


# -- TOML loading ----------------------------------------------------------------------------------


def _str(d: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    v = d.get(key, default)
    if not isinstance(v, str):
        raise RegistryError(f"{where}: {key!r} must be a string")
    return v


def _str_list(v: Any, where: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise RegistryError(f"{where}: expected a list of strings")
    return tuple(v)


def _sourced(table: Any, where: str, pattern: re.Pattern[str], kind: str) -> dict[str, tuple[str, ...]]:
    """A `value = [source ids]` table, each value checked against `pattern` and cited at least once."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise RegistryError(f"{where}: {kind} must be a table of value = [source ids]")
    out: dict[str, tuple[str, ...]] = {}
    for value, sids in table.items():
        if not pattern.match(value):
            raise RegistryError(f"{where}: malformed {kind} {value!r}")
        ids = _str_list(sids, f"{where}: {kind} {value!r}")
        if not ids:
            raise RegistryError(f"{where}: {kind} {value!r} cites no source")
        out[value] = ids
    return out


def _entity_from_toml(d: dict[str, Any], where: str) -> Entity:
    eid = _str(d, "id", where)
    if not _ID_OK.match(eid):
        raise RegistryError(f"{where}: entity id {eid!r} must be lower-case letters, digits, '-' or '.'")
    w = f"{where}: entity {eid!r}"
    known = {
        "id",
        "name",
        "legal_name",
        "parent",
        "hq_country",
        "categories",
        "aliases",
        "notes",
        "facts",
        "domains",
        "code_prefixes",
        "app_packages",
        "networks",
        "endpoint",
    }
    unknown = set(d) - known
    if unknown:
        raise RegistryError(f"{w}: unknown keys {sorted(unknown)}")
    hq = _str(d, "hq_country", w, "")
    if hq and not _COUNTRY_OK.match(hq):
        raise RegistryError(f"{w}: hq_country {hq!r} is not an ISO 3166-1 alpha-2 code")
    categories = _str_list(d.get("categories", []), f"{w}: categories")
    for c in categories:
        if c not in CATEGORIES:
            raise RegistryError(f"{w}: unknown category {c!r}")
    facts_raw = d.get("facts", {})
    if not isinstance(facts_raw, dict):
        raise RegistryError(f"{w}: facts must be a table")
    facts = {k: _str_list(v, f"{w}: facts.{k}") for k, v in facts_raw.items()}
    legal_name = _str(d, "legal_name", w, "")
    parent = _str(d, "parent", w, "")
    for fact, value in (("legal_name", legal_name), ("hq_country", hq), ("parent", parent)):
        if value and not facts.get(fact):
            raise RegistryError(f"{w}: {fact} is set but cites no source (facts.{fact})")
    domains = _sourced(d.get("domains"), w, _DOMAIN_OK, "domain")
    prefixes = _sourced(d.get("code_prefixes"), w, _PREFIX_OK, "code prefix")
    apps = _sourced(d.get("app_packages"), w, _PREFIX_OK, "app package")
    networks = _sourced(d.get("networks"), w, _AS_NAME_OK, "network")
    endpoints: list[Endpoint] = []
    for i, ep in enumerate(d.get("endpoint", [])):
        ew = f"{w}: endpoint {i + 1}"
        if not isinstance(ep, dict):
            raise RegistryError(f"{ew}: must be a table")
        cat = _str(ep, "category", ew)
        if cat not in CATEGORIES:
            raise RegistryError(f"{ew}: unknown category {cat!r}")
        path = ep.get("path")
        if path is not None and not isinstance(path, str):
            raise RegistryError(f"{ew}: path must be a string")
        sids = _str_list(ep.get("sources", []), f"{ew}: sources")
        if not sids:
            raise RegistryError(f"{ew}: cites no source")
        endpoints.append(
            Endpoint(
                host=_str(ep, "host", ew).lower(),
                category=cat,
                purpose=_str(ep, "purpose", ew),
                path=path,
                sources=sids,
            )
        )
    fact_sources: list[tuple[str, tuple[str, ...]]] = list(facts.items())
    fact_sources += [(f"domain:{k}", v) for k, v in domains.items()]
    fact_sources += [(f"code:{k}", v) for k, v in prefixes.items()]
    fact_sources += [(f"app:{k}", v) for k, v in apps.items()]
    fact_sources += [(f"network:{k}", v) for k, v in networks.items()]
    fact_sources += [(f"endpoint:{ep.host}{ep.path or ''}", ep.sources) for ep in endpoints]
    all_sources = sorted({s for _, ids in fact_sources for s in ids})
    return Entity(
        id=eid,
        name=_str(d, "name", w),
        legal_name=legal_name,
        parent=parent or None,
        hq_country=hq,
        domains=tuple(domains),
        code_prefixes=tuple(prefixes),
        app_packages=tuple(apps),
        categories=categories,
        sources=tuple(all_sources),
        aliases=_str_list(d.get("aliases", []), f"{w}: aliases"),
        endpoints=tuple(endpoints),
        fact_sources=tuple(fact_sources),
        notes=_str(d, "notes", w, ""),
        networks=tuple(networks),
    )


def _load_toml(registry: Registry, path: Path) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RegistryError(f"{path}: cannot read ({e.strerror or e})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RegistryError(f"{path}: not valid TOML ({e})") from None
    unknown = set(data) - {"source", "entity", "library", "hosting_network"}
    if unknown:
        raise RegistryError(f"{path}: unknown top-level keys {sorted(unknown)}")
    for sid, s in data.get("source", {}).items():
        w = f"{path}: source {sid!r}"
        if not isinstance(s, dict):
            raise RegistryError(f"{w}: must be a table")
        if sid in registry.sources:
            raise RegistryError(f"{w}: defined twice")
        registry.sources[sid] = Source(
            id=sid,
            title=_str(s, "title", w),
            url=_str(s, "url", w, ""),
            date=_str(s, "date", w, ""),
            checked=_str(s, "checked", w, ""),
        )
    for prefix, sids in _sourced(data.get("library"), str(path), _PREFIX_OK, "library prefix").items():
        registry.libraries[prefix] = sids
    hosting = data.get("hosting_network", {})
    if not isinstance(hosting, dict):
        raise RegistryError(f"{path}: hosting_network must be a table of AS name = {{provider, sources}}")
    for as_name, h in hosting.items():
        w = f"{path}: hosting network {as_name!r}"
        if not isinstance(h, dict) or not _AS_NAME_OK.match(as_name):
            raise RegistryError(f"{w}: must be a table with provider and sources")
        sids = _str_list(h.get("sources", []), f"{w}: sources")
        if not sids:
            raise RegistryError(f"{w}: cites no source")
        if _as_key(as_name) in registry.hosting_networks:
            raise RegistryError(f"{w}: defined twice")
        registry.hosting_networks[_as_key(as_name)] = (_str(h, "provider", w), as_name, sids)
    entities = data.get("entity", [])
    if not isinstance(entities, list):
        raise RegistryError(f"{path}: 'entity' must be an array of tables ([[entity]])")
    for d in entities:
        registry._add_curated(_entity_from_toml(d, str(path)), str(path))


def curated_files() -> list[Path]:
    """The registry's own data files, in load order (sources first)."""
    return sorted(DATA_DIR.glob("*.toml"), key=lambda p: (p.name != "sources.toml", p.name))


def load_registry(extra: Sequence[Path] = ()) -> Registry:
    """Load the curated registry, then each file in `extra` as a lower-priority addition.

    An extra `.toml` file uses the registry's own format and is merged as curated data (it may not claim
    a domain the registry already assigns). Any other file is read by the importer for its format
    (Exodus, X-Ray, Disconnect, DuckDuckGo; detected from its content).
    """
    from analysis.attribute.entities.importers import read_list

    registry = Registry()
    for path in curated_files():
        _load_toml(registry, path)
    for path in extra:
        if Path(path).suffix == ".toml":
            _load_toml(registry, Path(path))
    registry.validate("entity registry")
    for path in extra:
        if Path(path).suffix != ".toml":
            registry.add_import(read_list(Path(path)))
    return registry


def registry_files(extra: Iterable[Path] = ()) -> list[Path]:
    """Every file a registry was built from (for stamping derived tables with their inputs)."""
    return [*curated_files(), *(Path(p) for p in extra)]
