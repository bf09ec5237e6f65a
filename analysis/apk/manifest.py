"""Facts from AndroidManifest.xml: identity, SDK levels, flags, permissions and exported components."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

NS_ANDROID = "{http://schemas.android.com/apk/res/android}"
COMPONENT_TAGS = ("activity", "activity-alias", "service", "receiver", "provider")


@dataclass(frozen=True)
class AppFacts:
    """Who the app is and what it declares about itself."""

    package: str | None
    version_code: str | None
    version_name: str | None
    min_sdk: int | None
    target_sdk: int | None
    max_sdk: int | None
    app_name: str | None
    main_activity: str | None
    debuggable: bool
    allow_backup: bool
    uses_cleartext_traffic: bool | None  # android:usesCleartextTraffic; None = platform default
    network_security_config: str | None  # the resource reference, e.g. "@7F020000"


@dataclass(frozen=True)
class Component:
    """An activity, service, receiver or provider other apps can start or bind to."""

    kind: str
    name: str
    exported: bool
    how: str  # "explicit" (android:exported="true") | "intent-filter" | "provider default"
    permission: str | None  # the permission a caller needs (None: anyone)
    actions: tuple[str, ...] = ()


@dataclass
class ManifestFacts:
    """Everything read from the manifest of the base APK."""

    app: AppFacts
    # (permission, maxSdkVersion, from <uses-permission-sdk-23>: requested on API 23+ only)
    requested: list[tuple[str, int | None, bool]] = field(default_factory=list)
    declared: dict[str, dict[str, Any]] = field(default_factory=dict)  # app's own <permission>s
    components: list[Component] = field(default_factory=list)
    component_counts: dict[str, int] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    try:
        return int(str(value), 0)
    except (TypeError, ValueError):
        return None


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    text = str(value).lower()
    if text in ("true", "1", "0xffffffff", "-1"):
        return True
    if text in ("false", "0"):
        return False
    return None


def _attr(element: Any, name: str) -> str | None:
    value = element.get(NS_ANDROID + name)
    if value is None:
        value = element.get(name)  # damaged or hand-made manifests without the namespace
    return None if value is None else str(value)


def read_manifest(apk: Any) -> ManifestFacts:
    """Read the facts from an androguard `APK` whose manifest parsed (`apk.valid_apk`)."""
    root = apk.get_android_manifest_xml()
    app_el = root.find("application") if root is not None else None
    target = _int(apk.get_target_sdk_version())
    try:
        app_name = apk.get_app_name() or None
    except Exception:  # noqa: BLE001 - resource tables are often damaged or obfuscated; the name is optional
        app_name = None
    facts = AppFacts(
        package=apk.get_package() or None,
        version_code=apk.get_androidversion_code(),
        version_name=apk.get_androidversion_name(),
        min_sdk=_int(apk.get_min_sdk_version()),
        target_sdk=target,
        max_sdk=_int(apk.get_max_sdk_version()),
        app_name=app_name,
        main_activity=apk.get_main_activity(),
        debuggable=bool(_bool(_attr(app_el, "debuggable")) if app_el is not None else False),
        # allowBackup defaults to true
        allow_backup=_bool(_attr(app_el, "allowBackup")) is not False if app_el is not None else True,
        uses_cleartext_traffic=_bool(_attr(app_el, "usesCleartextTraffic")) if app_el is not None else None,
        network_security_config=_attr(app_el, "networkSecurityConfig") if app_el is not None else None,
    )
    out = ManifestFacts(app=facts)
    if root is None:
        return out
    for tag in ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m"):
        for el in root.iter(tag):
            name = _attr(el, "name")
            if name:
                out.requested.append((name, _int(_attr(el, "maxSdkVersion")), tag != "uses-permission"))
    for el in root.iter("permission"):
        name = _attr(el, "name")
        if name:
            out.declared[name] = {"protectionLevel": _attr(el, "protectionLevel")}
    if app_el is None:
        return out
    app_permission = _attr(app_el, "permission")
    for tag in COMPONENT_TAGS:
        elements = list(app_el.iter(tag))
        out.component_counts[tag] = len(elements)
        for el in elements:
            component = _component(tag, el, target, app_permission, facts.package)
            if component is not None:
                out.components.append(component)
    out.components.sort(key=lambda c: (c.kind, c.name))
    return out


def _component(
    tag: str, el: Any, target: int | None, app_permission: str | None, package: str | None
) -> Component | None:
    name = _attr(el, "name") or "?"
    if name.startswith(".") and package:
        name = package + name
    actions = tuple(
        sorted({a for f in el.iter("intent-filter") for x in f.iter("action") if (a := _attr(x, "name"))})
    )
    has_filter = any(True for _ in el.iter("intent-filter"))
    explicit = _bool(_attr(el, "exported"))
    if explicit is True:
        how = "explicit"
    elif explicit is False:
        return None
    elif tag == "provider":
        # Providers were exported by default up to API 16 (android:exported docs).
        if target is not None and target > 16:
            return None
        how = "provider default"
    elif has_filter:
        # Without android:exported, an intent filter exports it (refused at install from API 31 on).
        how = "intent-filter"
    else:
        return None
    permission = _attr(el, "permission") or app_permission
    if tag == "provider":
        permission = permission or _attr(el, "readPermission")
    return Component(kind=tag, name=name, exported=True, how=how, permission=permission, actions=actions)
