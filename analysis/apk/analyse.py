"""Static analysis of an APK (or a base APK with its splits): the steps in order, one result.

Damage is reported, not raised, once there is something to report: a part androguard cannot read, a
missing or damaged manifest, a DEX that does not parse, or the DEX size limit reached each add a line to
`problems` and set `partial`. Only input that is not an APK at all raises `ApkError`.
"""

from __future__ import annotations

import contextlib
import io
import struct
import zipfile
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.apk.bundle import ApkError
from analysis.apk.bundle import ApkPart
from analysis.apk.bundle import Limits
from analysis.apk.bundle import load_parts
from analysis.apk.bundle import quiet_androguard
from analysis.apk.dexscan import RawCallSite
from analysis.apk.dexscan import scan_dex
from analysis.apk.hosts import HostSightings
from analysis.apk.hosts import mentions_host
from analysis.apk.manifest import ManifestFacts
from analysis.apk.manifest import read_manifest
from analysis.apk.native import IMPLICATIONS
from analysis.apk.native import NativeLib
from analysis.apk.native import classify
from analysis.apk.native import lib_path_parts
from analysis.apk.netsec import NetworkSecurity
from analysis.apk.netsec import defaults
from analysis.apk.netsec import read_config
from analysis.apk.netsec import resolve_config_file
from analysis.apk.permissions import LATEST_API
from analysis.apk.permissions import permission_uses
from analysis.apk.report import MAX_HOST_CLASSES
from analysis.apk.report import CallSite
from analysis.apk.report import HostRef
from analysis.apk.report import InputApk
from analysis.apk.report import StaticReport
from analysis.apk.sdks import CodeAttributor
from analysis.apk.sdks import summarise
from analysis.apk.signing import read_signing
from analysis.attribute.entities import Registry
from analysis.attribute.entities import load_registry
from analysis.attribute.entities import registry_files

# Resource files searched as text for URLs and bare host names.
_TEXT_SUFFIXES = (
    ".json",
    ".js",
    ".html",
    ".htm",
    ".txt",
    ".properties",
    ".cfg",
    ".conf",
    ".ini",
    ".yaml",
    ".yml",
)
_AXML_MAGIC = b"\x03\x00\x08\x00"

Step = Callable[[str], None]


@dataclass
class _Loaded:
    """An APK part opened by androguard (or not)."""

    part: ApkPart
    apk: Any | None
    split: str | None = None
    has_manifest: bool = False
    dex_names: list[str] = field(default_factory=list)


def _open(part: ApkPart, problems: list[str]) -> _Loaded:
    from androguard.core.apk import APK

    try:
        apk = APK(part.data, raw=True)
    except Exception as e:  # noqa: BLE001 - androguard raises anything from KeyError to struct.error
        problems.append(f"{part.label}: androguard could not read it ({type(e).__name__}: {e})")
        return _Loaded(part, None)
    loaded = _Loaded(part, apk)
    try:
        loaded.dex_names = sorted(apk.get_dex_names(), key=_dex_order)
    except Exception as e:  # noqa: BLE001
        problems.append(f"{part.label}: cannot list DEX files ({type(e).__name__})")
    files = set(apk.get_files())
    if "AndroidManifest.xml" not in files:
        problems.append(f"{part.label}: no AndroidManifest.xml; manifest facts are missing")
    elif not apk.is_valid_APK():
        problems.append(f"{part.label}: AndroidManifest.xml is damaged (not readable binary XML)")
    else:
        loaded.has_manifest = True
        root = apk.get_android_manifest_xml()
        split = root.get("split") if root is not None else None
        loaded.split = str(split) if split else None
    return loaded


def _dex_order(name: str) -> tuple[int, str]:
    """classes.dex, classes2.dex, ..., classes10.dex (numeric, not lexical)."""
    digits = name[len("classes") : -len(".dex")]
    return (int(digits) if digits.isdigit() else 1, name)


def _tool_versions() -> dict[str, str]:
    out = {}
    for dist in ("privlab", "androguard"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _pick_base(loaded: list[_Loaded]) -> _Loaded | None:
    bases = [lp for lp in loaded if lp.has_manifest and lp.split is None]
    packages = sorted({str(lp.apk.get_package()) for lp in bases if lp.apk is not None})
    if len(packages) > 1:
        raise ApkError(
            "several base APKs of different apps given together: "
            + ", ".join(f"{lp.part.origin} ({lp.apk.get_package() if lp.apk else '?'})" for lp in bases)
        )
    return bases[0] if bases else None


def _network_security(base: _Loaded, manifest: ManifestFacts, problems: list[str]) -> NetworkSecurity:
    app = manifest.app
    if not app.network_security_config:
        return defaults(app.target_sdk, app.uses_cleartext_traffic)
    apk: Any = base.apk
    path = resolve_config_file(apk, app.network_security_config) or "res/xml/network_security_config.xml"
    try:
        from androguard.core.axml import AXMLPrinter

        raw = apk.get_file(path)
        root = AXMLPrinter(raw).get_xml_obj()
    except Exception as e:  # noqa: BLE001 - a missing or damaged config: say so and use the defaults
        problems.append(f"{base.part.label}: network security config {path} unreadable ({type(e).__name__})")
        out = defaults(app.target_sdk, app.uses_cleartext_traffic)
        out.problem = f"{path} unreadable; platform defaults assumed"
        return out
    return read_config(root, path, app.target_sdk, app.uses_cleartext_traffic, app.debuggable)


def _scan_resources(
    part: ApkPart, sightings: HostSightings, limits: Limits, problems: list[str]
) -> dict[str, Any]:
    """URLs and hosts in every non-DEX member; returns native libraries found {path: (size, is_elf)}."""
    libs: dict[str, Any] = {}
    try:
        zf = zipfile.ZipFile(io.BytesIO(part.data))
    except zipfile.BadZipFile:
        return libs
    with zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir() or (name.startswith("classes") and name.endswith(".dex")):
                continue
            if name.startswith("META-INF/") or name.endswith(
                (".png", ".webp", ".jpg", ".ogg", ".mp3", ".ttf")
            ):
                continue
            where = f"{part.name}!{name}"
            is_lib = lib_path_parts(name) is not None
            if info.file_size > limits.max_scan_bytes:
                if is_lib:
                    libs[name] = (info.file_size, None)
                problems.append(
                    f"{where}: {info.file_size} bytes, over the scan limit; not searched for URLs"
                )
                continue
            try:
                data = zf.read(info)
            except Exception as e:  # noqa: BLE001 - one damaged member must not stop the rest
                problems.append(f"{where}: unreadable zip member ({type(e).__name__})")
                continue
            if is_lib:
                libs[name] = (info.file_size, data.startswith(b"\x7fELF"))
                sightings.add_binary(data, where)
            elif name.lower().endswith(_TEXT_SUFFIXES) and not data.startswith(_AXML_MAGIC):
                sightings.add_text(data.decode("utf-8", "replace"), where)
            else:
                sightings.add_binary(data, where)
    return libs


def _native_libs(found: dict[str, dict[str, Any]]) -> list[NativeLib]:
    by_name: dict[str, dict[str, Any]] = {}
    for part_name, libs in found.items():
        for path, (size, is_elf) in libs.items():
            abi_name = lib_path_parts(path)
            if abi_name is None:
                continue
            abi, name = abi_name
            entry = by_name.setdefault(name, {"abis": set(), "paths": set(), "size": 0, "elf": True})
            entry["abis"].add(abi)
            entry["paths"].add(f"{part_name}!{path}")
            entry["size"] = max(entry["size"], size)
            entry["elf"] = entry["elf"] and is_elf is not False
    out = []
    for name, e in sorted(by_name.items()):
        what, implies = classify(name)
        out.append(
            NativeLib(
                name=name,
                abis=tuple(sorted(e["abis"])),
                paths=tuple(sorted(e["paths"])),
                size=e["size"],
                is_elf=e["elf"],
                what=what,
                implies=implies,
            )
        )
    return out


def analyse_parts(
    parts: Sequence[ApkPart],
    registry: Registry,
    *,
    limits: Limits | None = None,
    registry_paths: Sequence[Path] = (),
    step: Step | None = None,
) -> StaticReport:
    """Analyse already-loaded APK parts (a base and its splits) against `registry`."""
    quiet_androguard()
    limits = limits or Limits()
    say = step or (lambda _label: None)
    problems: list[str] = []
    say("reading manifests")
    loaded = [_open(p, problems) for p in parts]
    if all(lp.apk is None for lp in loaded):
        # Nothing to report at all: one line naming the file(s) and androguard's complaint.
        detail = problems[0].split(": ", 1)[-1] if problems else "unreadable"
        raise ApkError(f"{', '.join(lp.part.origin for lp in loaded)}: {detail}")
    base = _pick_base(loaded)
    manifest = read_manifest(base.apk) if base is not None else None
    app_package = manifest.app.package if manifest else None

    report = StaticReport(
        inputs=[],
        sha256=base.part.sha256 if base else None,
        app=manifest.app if manifest else None,
        signing=read_signing(base.apk) if base else None,
        registry_files=[p.name for p in registry_files(registry_paths)],
        tools=_tool_versions(),
    )
    if report.signing and report.signing.problem:
        problems.append(f"{base.part.label if base else '?'}: {report.signing.problem}")
    if manifest and base:
        report.permissions = permission_uses(manifest.requested, manifest.declared)
        report.permission_levels_api = LATEST_API
        report.exported_components = manifest.components
        report.component_counts = manifest.component_counts
        report.network_security = _network_security(base, manifest, problems)

    attributor = CodeAttributor(registry, app_package)
    sightings = HostSightings()
    classes: set[str] = set()
    raw_sites: list[RawCallSite] = []
    dex_budget = limits.max_dex_bytes
    native_found: dict[str, dict[str, Any]] = {}
    for lp in loaded:
        report.inputs.append(
            InputApk(lp.part.name, lp.part.label, lp.part.sha256, lp.part.size, lp.split, tuple(lp.dex_names))
        )
        if lp.apk is None:
            continue
        for dex_name in lp.dex_names:
            where = f"{lp.part.name}!{dex_name}"
            try:
                data = lp.apk.get_file(dex_name)
            except Exception as e:  # noqa: BLE001
                problems.append(f"{where}: unreadable ({type(e).__name__})")
                continue
            if len(data) > dex_budget:
                problems.append(
                    f"{where}: skipped, the DEX size limit ({limits.max_dex_bytes} bytes) was reached"
                )
                continue
            dex_budget -= len(data)
            say(f"scanning {where}")
            try:
                scan = scan_dex(where, data, keep_string=mentions_host)
            except (ValueError, struct.error, IndexError) as e:
                # a damaged DEX (DexFormatError is a ValueError): keep what the other files give
                problems.append(f"{where}: could not be parsed ({type(e).__name__}: {e})")
                continue
            classes.update(scan.classes)
            raw_sites.extend(scan.call_sites)
            sightings.add_strings(scan.strings, where)
            sightings.add_users(scan.string_users)
        say(f"searching resources of {lp.part.name}")
        native_found[lp.part.name] = _scan_resources(lp.part, sightings, limits, problems)

    if report.network_security:
        for rule in report.network_security.domain_rules:
            for domain, _sub in rule.domains:
                sightings.add(domain, "network security config")

    say("attributing code")
    report.classes = len(classes)
    report.sdks, report.unclaimed_packages = summarise(sorted(classes), attributor)
    report.call_sites = sorted(
        (_call_site(s, attributor) for s in raw_sites),
        key=lambda c: (c.category, c.api, c.caller_class, c.caller_method, c.dex),
    )
    report.native_libs = _native_libs(native_found)
    report.native_implications = {
        k: IMPLICATIONS[k] for k in sorted({i for lib in report.native_libs for i in lib.implies})
    }
    report.hosts = [_host_ref(row, registry, attributor) for row in sightings.rows()]
    report.problems = sorted(set(problems))
    report.partial = bool(report.problems) or base is None
    if base is None and not any("manifest" in p for p in report.problems):
        report.problems.append("no base APK with a readable manifest among the inputs")
    return report


def _call_site(raw: RawCallSite, attributor: CodeAttributor) -> CallSite:
    a = attributor.attribute(raw.caller_class)
    return CallSite(
        category=raw.api.category,
        data_type=raw.api.data_type,
        api=raw.api.api,
        kind=raw.api.kind,
        caller_class=raw.caller_class,
        caller_method=raw.caller_method,
        dex=raw.dex,
        sdk=a.entity,
        sdk_name=a.name,
        party=a.party,
        basis=a.basis,
    )


def _host_ref(
    row: tuple[str, list[str], list[str], list[str]], registry: Registry, attributor: CodeAttributor
) -> HostRef:
    host, urls, where, classes = row
    entity = registry.entity_for_host(host)
    owners = set()
    for cls in classes:
        a = attributor.attribute(cls)
        owners.add(f"{a.name or 'unattributed code'} ({a.party})")
    return HostRef(
        host=host,
        urls=tuple(urls),
        found_in=tuple(where),
        entity=entity.id if entity else None,
        entity_name=entity.name if entity else None,
        classes=tuple(classes[:MAX_HOST_CLASSES]),
        code_owners=tuple(sorted(owners)),
    )


def analyse(
    path: Path,
    *,
    registry_paths: Sequence[Path] = (),
    limits: Limits | None = None,
    step: Step | None = None,
) -> StaticReport:
    """Analyse an APK file, a folder of split APKs, or an XAPK/APKS bundle."""
    parts = load_parts(Path(path), limits)
    registry = load_registry(list(registry_paths))
    return analyse_parts(parts, registry, limits=limits, registry_paths=registry_paths, step=step)
