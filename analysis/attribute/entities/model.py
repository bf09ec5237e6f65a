"""Records of the entity registry: who owns a domain or a Java package, and on what evidence.

Every fact in the registry cites one or more `Source`s by id. A source says how far it was checked
(`checked`), so a report can distinguish "read here, on this date" from "cited, not re-read".
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from dataclasses import field

from analysis.errors import PrivlabError
from analysis.vocabulary import DESTINATION_PARTIES

# Party of a destination or a piece of code relative to the app under test (vocabulary.Party).
PARTIES: tuple[str, ...] = DESTINATION_PARTIES

# Categories of an entity or of one of its endpoints (closed vocabulary; documented in data/README.md).
CATEGORIES = (
    "conglomerate",
    "social-network",
    "api",
    "analytics",
    "ads",
    "attribution",
    "cdn",
    "monitoring",
    "crash-reporting",
    "device-registration",
    "messaging",
    "live-streaming",
    "commerce",
    "identity",
    "security",
    "configuration",
    "cloud",
    "hosting",
    "productivity",
    "video-editing",
    "maps",
    "push",
    "platform",
    "unknown",
)


@dataclass(frozen=True)
class Source:
    """A citation: a public list, page or code snapshot that states a fact."""

    id: str
    title: str
    url: str = ""
    date: str = ""  # the source's own date (publication, snapshot, list version)
    checked: str = ""  # how it was checked, e.g. "read here 2026-11-28 from ../shared/data/..."


@dataclass(frozen=True)
class Endpoint:
    """One role of an entity's host(s): `host` is a name or glob (`log*.tiktokv.com`), `path` a prefix."""

    host: str
    category: str
    purpose: str
    path: str | None = None
    sources: tuple[str, ...] = ()

    def matches(self, host: str, path: str | None = None) -> bool:
        """True if `host` (lower case) matches the glob and `path` starts with the path prefix (if any)."""
        if not fnmatch.fnmatchcase(host, self.host):
            return False
        if self.path is None:
            return True
        return path is not None and path.startswith(self.path)


@dataclass(frozen=True)
class Entity:
    """An organisation (company, product or SDK vendor) with what identifies it in traffic and code.

    `parent` is another entity's id (None for an ultimate parent). `domains` are registrable domains or
    specific hosts; `code_prefixes` are Java package (or class) prefixes; `app_packages` are Android apps
    it publishes; `networks` are AS organisation names of networks it runs for itself alone. `sources` lists the ids of every source cited by any of its facts; `fact_sources` maps
    each fact (`legal_name`, `hq_country`, `parent`, `domain:<d>`, `code:<p>`, `app:<p>`, ...) to its ids.
    """

    id: str
    name: str
    legal_name: str
    parent: str | None
    hq_country: str
    domains: tuple[str, ...]
    code_prefixes: tuple[str, ...]
    app_packages: tuple[str, ...]
    categories: tuple[str, ...]
    sources: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    fact_sources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    notes: str = ""
    origin: str = "registry"  # "registry" for curated data, "<format>:<file name>" for imported lists
    # Autonomous systems the entity operates for its own services only, by the AS organisation name the
    # offline ASN data gives (e.g. "FACEBOOK"): a weaker, last basis for an IP-only host.
    networks: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        """The entity's main category (its first), or "unknown"."""
        return self.categories[0] if self.categories else "unknown"

    def sources_of(self, fact: str) -> tuple[str, ...]:
        """Source ids cited for one fact (e.g. "hq_country", "domain:tiktokv.com"); () if none."""
        for name, ids in self.fact_sources:
            if name == fact:
                return ids
        return ()


class RegistryError(PrivlabError):
    """A registry data file or an imported list is malformed."""


@dataclass
class ImportedEntity:
    """One owner as a third-party list states it, before it is merged into the registry."""

    name: str
    domains: list[str] = field(default_factory=list)
    code_prefixes: list[str] = field(default_factory=list)
    app_packages: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    legal_name: str = ""
    parent_name: str | None = None
    hq_country: str = ""


@dataclass
class ImportedList:
    """A user-supplied list read by one of the importers: its citation and its owners."""

    source: Source
    format: str
    entities: list[ImportedEntity]
    skipped: int = 0  # entries that could not be expressed as a domain or package prefix
