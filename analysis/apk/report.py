"""The static analysis result (`apk/static.json`): one typed record, serialised deterministically.

The same APK analysed twice with the same registry gives byte-identical JSON (sorted keys and rows, no
timestamps), so the file can be re-derived and compared rather than trusted.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from analysis.apk.manifest import AppFacts
from analysis.apk.manifest import Component
from analysis.apk.native import NativeLib
from analysis.apk.netsec import NetworkSecurity
from analysis.apk.permissions import PermissionUse
from analysis.apk.sdks import SdkPresence
from analysis.apk.signing import Signing

STATIC_FORMAT = 1
MAX_HOST_CLASSES = 10


@dataclass(frozen=True)
class InputApk:
    """One APK file that went into the analysis."""

    name: str
    origin: str  # file name, or "bundle.xapk!inner.apk"
    sha256: str
    size: int
    split: str | None  # None for the base APK; "config.arm64_v8a" etc. for splits
    dex: tuple[str, ...]


@dataclass(frozen=True)
class CallSite:
    """A method that references a hooked API, with whose code it is."""

    category: str
    data_type: str | None
    api: str
    kind: str  # read | listen | probe
    caller_class: str
    caller_method: str
    dex: str  # "base.apk!classes2.dex"
    sdk: str | None  # registry entity id
    sdk_name: str | None
    party: str  # first | third | unknown
    basis: str  # registry | app package | library | none


@dataclass(frozen=True)
class HostRef:
    """A host name written into the app, with example URLs and where it was found."""

    host: str
    urls: tuple[str, ...]
    found_in: tuple[str, ...]
    entity: str | None  # who owns the host (registry, by domain)
    entity_name: str | None
    classes: tuple[str, ...] = ()  # classes whose code loads the string (first MAX_HOST_CLASSES)
    code_owners: tuple[str, ...] = ()  # whose code those classes are: "Pangle (third)"


@dataclass
class StaticReport:
    """Everything `privlab apk` knows about an APK (or a base APK and its splits)."""

    inputs: list[InputApk]
    sha256: str | None  # the base APK
    app: AppFacts | None
    signing: Signing | None
    permissions: list[PermissionUse] = field(default_factory=list)
    permission_levels_api: int | None = None
    exported_components: list[Component] = field(default_factory=list)
    component_counts: dict[str, int] = field(default_factory=dict)
    network_security: NetworkSecurity | None = None
    sdks: list[SdkPresence] = field(default_factory=list)
    unclaimed_packages: list[tuple[str, int]] = field(default_factory=list)
    call_sites: list[CallSite] = field(default_factory=list)
    native_libs: list[NativeLib] = field(default_factory=list)
    native_implications: dict[str, str] = field(default_factory=dict)
    hosts: list[HostRef] = field(default_factory=list)
    classes: int = 0
    registry_files: list[str] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)
    partial: bool = False
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, with `format` first."""
        return {"format": STATIC_FORMAT, **asdict(self)}

    def to_json_bytes(self) -> bytes:
        """Deterministic JSON: sorted keys, two-space indent, trailing newline, UTF-8."""
        return (json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    def unlocked_data_types(self) -> set[str]:
        """Data types some requested permission unlocks."""
        return {t for p in self.permissions for t in p.data_types}


def load_static(data: bytes | str, where: str = "static.json") -> dict[str, Any]:
    """Read a static.json back as a dict (for `capability` and the report); raises ValueError on junk."""
    parsed = json.loads(data)
    if not isinstance(parsed, dict) or parsed.get("format") != STATIC_FORMAT:
        raise ValueError(f"{where}: not a privlab static.json (format {STATIC_FORMAT})")
    return parsed
