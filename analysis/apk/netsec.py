"""The network security config: does a release build trust user-installed CAs, and is cleartext allowed?

This decides how traffic can be captured: an app that trusts user CAs can be intercepted with the
mitmproxy CA in the user store; otherwise the CA must go into the system store (rooted emulator) or
pinning must be bypassed. Rules from developer.android.com/privacy-and-security/security-config:
without a config, apps targeting API 24+ trust system CAs only and apps targeting API 28+ refuse
cleartext; `debug-overrides` apply only to a debuggable build; with a config present,
`android:usesCleartextTraffic` is ignored (API 24+).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any


@dataclass(frozen=True)
class DomainRule:
    """One `<domain-config>`: its domains and what it changes from the base."""

    domains: tuple[tuple[str, bool], ...]  # (name, includeSubdomains)
    cleartext: bool | None
    trusts_user_cas: bool | None
    pins: int
    pin_expiration: str | None


@dataclass
class NetworkSecurity:
    """What a release build of the app accepts (static.json `network_security`)."""

    source: str  # the config file in the APK, or "platform defaults"
    cleartext_default: bool
    trusts_user_cas: bool
    domain_rules: list[DomainRule] = field(default_factory=list)
    debug_overrides_trust_user_cas: bool = False
    debug_overrides_apply: bool = False  # only when the build is debuggable
    user_cas_trusted_somewhere: bool = False
    cleartext_somewhere: bool = False
    problem: str | None = None


def _bool(v: Any) -> bool | None:
    if v is None:
        return None
    return str(v).lower() == "true"


def _trusts_user(el: Any) -> bool | None:
    """True/False if `el` has <trust-anchors> (with or without src="user"), None if it sets none."""
    anchors = el.find("trust-anchors") if el is not None else None
    if anchors is None:
        return None
    return any(c.get("src") == "user" for c in anchors.iter("certificates"))


def defaults(target_sdk: int | None, uses_cleartext: bool | None) -> NetworkSecurity:
    """The platform's behaviour when the app ships no network security config."""
    target = target_sdk or 1
    cleartext = uses_cleartext if uses_cleartext is not None else target < 28
    user = target < 24
    return NetworkSecurity(
        source="platform defaults",
        cleartext_default=cleartext,
        trusts_user_cas=user,
        user_cas_trusted_somewhere=user,
        cleartext_somewhere=cleartext,
    )


def read_config(
    xml_root: Any, source: str, target_sdk: int | None, uses_cleartext: bool | None, debuggable: bool
) -> NetworkSecurity:
    """Interpret a parsed `<network-security-config>` element (lxml) for a release or debug build."""
    base_default = defaults(target_sdk, None if (target_sdk or 0) >= 24 else uses_cleartext)
    if xml_root is None or xml_root.tag != "network-security-config":
        out = defaults(target_sdk, uses_cleartext)
        out.source = source
        out.problem = f"{source}: not a <network-security-config>; platform defaults assumed"
        return out
    base = xml_root.find("base-config")
    cleartext = _bool(base.get("cleartextTrafficPermitted")) if base is not None else None
    user = _trusts_user(base)
    out = NetworkSecurity(
        source=source,
        cleartext_default=base_default.cleartext_default if cleartext is None else cleartext,
        trusts_user_cas=base_default.trusts_user_cas if user is None else user,
    )
    for dc in xml_root.iter("domain-config"):
        domains = tuple(
            (str(d.text or "").strip(), _bool(d.get("includeSubdomains")) is True)
            for d in dc.findall("domain")
        )
        pin_set = dc.find("pin-set")
        out.domain_rules.append(
            DomainRule(
                domains=domains,
                cleartext=_bool(dc.get("cleartextTrafficPermitted")),
                trusts_user_cas=_trusts_user(dc),
                pins=len(pin_set.findall("pin")) if pin_set is not None else 0,
                pin_expiration=pin_set.get("expiration") if pin_set is not None else None,
            )
        )
    debug = xml_root.find("debug-overrides")
    out.debug_overrides_trust_user_cas = bool(_trusts_user(debug))
    out.debug_overrides_apply = debuggable
    out.user_cas_trusted_somewhere = (
        out.trusts_user_cas
        or any(r.trusts_user_cas for r in out.domain_rules)
        or (debuggable and out.debug_overrides_trust_user_cas)
    )
    out.cleartext_somewhere = out.cleartext_default or any(r.cleartext for r in out.domain_rules)
    return out


def resolve_config_file(apk: Any, reference: str | None) -> str | None:
    """The file inside the APK that `android:networkSecurityConfig` ("@7F020000") points to."""
    if not reference or not reference.startswith("@"):
        return None
    try:
        rid = int(reference[1:], 16)
        arsc = apk.get_android_resources()
        if arsc is None:
            return None
        for _config, value in arsc.get_resolved_res_configs(rid):
            if isinstance(value, str) and value.endswith(".xml"):
                return value
    except Exception:  # noqa: BLE001 - damaged or obfuscated resource tables: fall back to the usual name
        pass
    return None
