"""Which SDKs are embedded, and whose code each calling class is: the shared entity registry by class prefix.

The registry (`analysis.attribute.entities`) is the one source for code prefixes, as it is for domains; Exodus
and other lists come in through its importers (`load_registry(extra=[...])`), below the curated data.
So ByteDance's own `com.bytedance.*` code in TikTok resolves to ByteDance and is first party, while
Exodus's Pangle signature (`com.bytedance`) only applies where the curated data says nothing.

Classes under the app's own package are first party even when the registry does not know the app.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from analysis.attribute.entities import Entity
from analysis.attribute.entities import Registry


@dataclass(frozen=True)
class Attribution:
    """Whose code a class is."""

    entity: str | None  # registry entity id
    name: str | None
    party: str  # first | third | unknown
    basis: str  # "registry" | "app package" | "library" | "none"


@dataclass(frozen=True)
class SdkPresence:
    """One entity whose code is in the APK (a row of static.json `sdks`)."""

    entity: str
    name: str
    parent: str | None
    hq_country: str
    categories: tuple[str, ...]
    party: str
    prefixes: tuple[str, ...]  # the entity's code prefixes that matched
    classes: int
    origin: str  # "registry" or the imported list


NOBODY = Attribution(None, None, "unknown", "none")


class CodeAttributor:
    """Attribute Java class names to entities for one app, with a cache (APKs repeat packages a lot)."""

    def __init__(self, registry: Registry, app_package: str | None) -> None:
        self.registry = registry
        self.app_package = app_package or None
        self.owner = registry.first_party_for_app(app_package) if app_package else None
        self._cache: dict[str, tuple[Attribution, Entity | None]] = {}

    def _own(self, java_class: str) -> bool:
        p = self.app_package
        return p is not None and (java_class == p or java_class.startswith(p + "."))

    def lookup(self, java_class: str) -> tuple[Attribution, Entity | None]:
        """The attribution of a class and the registry entity behind it (if any)."""
        key = java_class.split("$", 1)[0]
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        entity = self.registry.entity_for_class(key)
        result: tuple[Attribution, Entity | None]
        if entity is not None:
            party = self.registry.party(entity, self.app_package)
            if party == "unknown" and self._own(key):
                party = "first"
            result = (Attribution(entity.id, entity.name, party, "registry"), entity)
        elif self._own(key):
            name = self.owner.name if self.owner else "the app's own code"
            result = (
                Attribution(self.owner.id if self.owner else None, name, "first", "app package"),
                self.owner,
            )
        elif self.registry.is_library(key):
            result = (Attribution(None, None, "unknown", "library"), None)
        else:
            result = (NOBODY, None)
        self._cache[key] = result
        return result

    def attribute(self, java_class: str) -> Attribution:
        """Whose code `java_class` is."""
        return self.lookup(java_class)[0]


def summarise(
    classes: list[str], attributor: CodeAttributor
) -> tuple[list[SdkPresence], list[tuple[str, int]]]:
    """SDK presence by entity, and the largest packages no entity claims (prefix, class count)."""
    counts: Counter[str] = Counter()
    prefixes: dict[str, set[str]] = {}
    entities: dict[str, Entity] = {}
    parties: dict[str, str] = {}
    unclaimed: Counter[str] = Counter()
    for cls in classes:
        attribution, entity = attributor.lookup(cls)
        if entity is None or attribution.entity is None:
            if attribution.basis == "none":
                unclaimed[_package_root(cls)] += 1
            continue
        counts[entity.id] += 1
        entities[entity.id] = entity
        parties[entity.id] = attribution.party
        matched = [p for p in entity.code_prefixes if cls == p or cls.startswith(p + ".")]
        if matched:
            prefixes.setdefault(entity.id, set()).add(max(matched, key=len))
    rows = [
        SdkPresence(
            entity=eid,
            name=entities[eid].name,
            parent=entities[eid].parent,
            hq_country=entities[eid].hq_country,
            categories=tuple(entities[eid].categories),
            party=parties[eid],
            prefixes=tuple(sorted(prefixes.get(eid, ()))),
            classes=n,
            origin=entities[eid].origin,
        )
        for eid, n in counts.items()
    ]
    rows.sort(key=lambda r: (-r.classes, r.entity))
    top = sorted(unclaimed.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
    return rows, top


def _package_root(java_class: str) -> str:
    """The first three package components (`com.example.app`), or the package for shorter names."""
    parts = java_class.split(".")[:-1]
    return ".".join(parts[:3]) if parts else "(default package)"
