"""The Python vocabulary and the Frida agent name the same things.

`hooks/src` is read as text (no Node.js needed): the module names each `*HookModule` declares, the
categories passed to `hookMethods(...)` or set in `emit({category: ...})` (string constants resolved),
and the (class, method) pairs each Java module hooks. A name the agent emits that
`analysis.vocabulary` does not know fails, and so does a vocabulary name no agent module emits.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from analysis.vocabulary import AGENT_CATEGORIES
from analysis.vocabulary import HOOKED_READS
from analysis.vocabulary import JAVA_MODULES
from analysis.vocabulary import NATIVE_MODULES
from analysis.vocabulary import READ_CATEGORIES
from analysis.vocabulary import WARNING_SOURCES
from analysis.vocabulary import AgentModule
from analysis.vocabulary import DataType
from analysis.vocabulary import HookCategory
from analysis.vocabulary import canonical_category
from analysis.vocabulary import canonical_module
from analysis.vocabulary import hook_data_type

SRC = Path(__file__).resolve().parents[1] / "hooks" / "src"

_CONST = re.compile(r'\bconst (\w+)(?:\s*:\s*[\w<>\[\]]+)?\s*=\s*"([^"]*)"\s*;')
_ARRAY = re.compile(r"\bconst (\w+)(?:\s*:\s*[\w<>\[\]]+)?\s*=\s*\[([^\]]*)\]\s*;", re.S)
_SET = re.compile(r"\bconst (\w+)\s*=\s*new Set\(\[([^\]]*)\]\)", re.S)
# `const CATEGORY = { role: "category", ... } as const;` with `CATEGORY[...]` feeding hookMethods' category
_CATEGORY_MAP = re.compile(r"\bconst (\w+)\s*=\s*\{([^}]*)\}\s*as const\s*;", re.S)
_MODULE = re.compile(
    r'export const (\w+)\s*:\s*(Java|Native)HookModule\s*=\s*\{\s*name:\s*"([^"]+)",\s*kind:\s*"(\w+)"'
)
_HOOK_CALL = re.compile(r"hookMethods\(\s*\w+\s*,\s*(\"[^\"]*\"|\w+)")
_CATEGORY_FIELD = re.compile(r"\bcategory\s*:\s*(\"[^\"]*\"|[A-Za-z_][\w.]*)")
_CLS_METHOD = re.compile(r'\{\s*cls:\s*("[^"]+"|\w+)\s*,\s*method:\s*"([^"]+)"')
_MAPPED = re.compile(r"\.\.\.(\w+)\.map\(\(method\)\s*=>\s*\(\{\s*cls:\s*(\w+)\s*,\s*method\s*\}\)\)")
_STRINGS = re.compile(r'"([^"]*)"')
_WARN = re.compile(r'\bwarn\(\s*"([^"]+)"')
# Where `category` is plumbing, not a name: the protocol's field type and emit() passing its argument on.
_PASS_THROUGH = {"string", "fields.category"}


@dataclass
class AgentNames:
    """What the agent's sources name."""

    modules: dict[str, str] = field(default_factory=dict)  # module name -> "java" | "native"
    module_vars: dict[str, str] = field(default_factory=dict)  # exported variable -> module name
    listed: set[str] = field(default_factory=set)  # variables in modules.ts's MODULES
    categories: set[str] = field(default_factory=set)
    unresolved: list[str] = field(default_factory=list)  # category expressions that are no known string
    hooks: set[tuple[str, str]] = field(default_factory=set)  # (category, "ShortClass.method")
    sets: dict[str, set[str]] = field(default_factory=dict)  # `new Set([...])` constants
    warned: set[str] = field(default_factory=set)  # literal `module` names of agent:warning messages


def _short(cls: str) -> str:
    return cls[cls.rfind(".") + 1 :]


def read_agent(src: Path) -> AgentNames:
    """Module names, categories and hooked methods from the TypeScript sources under `src`."""
    names = AgentNames()
    for path in sorted(src.rglob("*.ts")):
        text = path.read_text(encoding="utf-8")
        consts = dict(_CONST.findall(text))
        arrays = {k: _STRINGS.findall(v) for k, v in _ARRAY.findall(text)}
        names.sets |= {k: set(_STRINGS.findall(v)) for k, v in _SET.findall(text)}
        names.warned |= set(_WARN.findall(text))

        def resolve(expr: str, known: dict[str, str] = consts) -> str | None:
            if expr.startswith('"'):
                return expr.strip('"')
            return known.get(expr)

        file_categories = []
        # A category variable taken from a constant map (`const category = CATEGORY[e.role]`): its values.
        mapped = {
            var: re.findall(r'(?:"[^"]*"|\w+)\s*:\s*"([^"]*)"', body)
            for name, body in _CATEGORY_MAP.findall(text)
            for var in re.findall(rf"\b(?:const|let)\s+(\w+)\s*=\s*{name}\[", text)
        }
        for expr in _HOOK_CALL.findall(text) + _CATEGORY_FIELD.findall(text):
            if expr in _PASS_THROUGH:
                continue
            if expr in mapped:
                file_categories += mapped[expr]
                continue
            value = resolve(expr)
            if value is None:
                names.unresolved.append(f"{path.relative_to(src)}: category {expr}")
            else:
                file_categories.append(value)
        names.categories |= set(file_categories)
        for var, kind, name, declared in _MODULE.findall(text):
            names.modules[name] = declared
            names.module_vars[var] = name
            assert declared == kind.lower(), f"{path.name}: {var} is a {kind}HookModule of kind {declared}"
        hooked = [(resolve(c), m) for c, m in _CLS_METHOD.findall(text)]
        hooked += [(consts.get(c), m) for arr, c in _MAPPED.findall(text) for m in arrays.get(arr, [])]
        for cls, method in hooked:
            assert cls is not None, f"{path.name}: a hooked class is no string constant"
            for category in set(_HOOK_CALL.findall(text)):
                names.hooks.add((resolve(category) or category, f"{_short(cls)}.{method}"))
        if path.name == "modules.ts":
            listed = re.search(r"MODULES\s*:\s*HookModule\[\]\s*=\s*\[([^\]]*)\]", text, re.S)
            assert listed is not None, "modules.ts: no MODULES list"
            names.listed = set(re.findall(r"\w+", listed.group(1)))
    return names


def differences(names: AgentNames) -> list[str]:
    """Every name one side has and the other lacks (empty when the agent and the vocabulary agree)."""
    out = [f"agent: unresolved {u}" for u in names.unresolved]
    known_modules = {m.value for m in AgentModule}
    out += [
        f"agent module {m!r} is not in vocabulary.AgentModule"
        for m in sorted(set(names.modules) - known_modules)
    ]
    out += [
        f"vocabulary module {m!r}: no agent module has that name"
        for m in sorted(known_modules - set(names.modules))
    ]
    out += [
        f"module {m!r}: the agent says {k}, the vocabulary does not"
        for m, k in sorted(names.modules.items())
        if m in known_modules and (AgentModule(m) in JAVA_MODULES) != (k == "java")
    ]
    # A module declared in a shape the reader does not know would be missed: MODULES names it anyway.
    out += [
        f"modules.ts lists {v}, declared nowhere the reader looks"
        for v in sorted(names.listed - set(names.module_vars))
    ]
    listed = {names.module_vars.get(v, v) for v in names.listed}
    out += [f"module {m!r} is not in modules.ts's MODULES" for m in sorted(set(names.modules) - listed)]
    known_categories = {c.value for c in AGENT_CATEGORIES}
    out += [
        f"agent category {c!r} is not in vocabulary.HookCategory"
        for c in sorted(names.categories - known_categories)
    ]
    out += [
        f"vocabulary category {c!r}: no agent module emits it"
        for c in sorted(known_categories - names.categories)
    ]
    out += [
        f"agent:warning source {w!r} is neither a module nor in vocabulary.WARNING_SOURCES"
        for w in sorted(names.warned - known_modules - WARNING_SOURCES)
    ]
    return out


def test_the_agent_and_the_vocabulary_name_the_same_modules_and_categories() -> None:
    names = read_agent(SRC)
    assert len(names.modules) >= 12 and len(names.categories) >= 10  # the reader found the sources
    assert {"agent", "native", "tls-native"} <= names.warned
    assert differences(names) == []
    assert sorted(JAVA_MODULES + NATIVE_MODULES) == sorted(AgentModule)  # each module is one of the two


def test_the_check_fails_when_either_side_has_a_name_the_other_lacks(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(SRC, src)
    apps = src / "android" / "installedapps.ts"
    apps.write_text(apps.read_text().replace('"installed_apps"', '"installedapps"'))
    (src / "android" / "sensors.ts").write_text(
        'import { hookMethods } from "../lib/java.js";\n'
        'import type { JavaHookModule } from "../lib/module.js";\n'
        'const CATEGORY = "sensors";\n'
        'export const sensorsModule: JavaHookModule = {\n    name: "sensors",\n    kind: "java",\n'
        "    install(log): void {\n        hookMethods(log, CATEGORY, []);\n    },\n};\n"
    )
    ssl = src / "native" / "ssl.ts"
    ssl.write_text(ssl.read_text().replace("category: CATEGORY,", "category: pickCategory(),"))
    tls = src / "native" / "tlsnative.ts"
    tls.write_text(tls.read_text().replace('warn("tls-native"', 'warn("boringssl"', 1))
    problems = differences(read_agent(src))
    assert "agent module 'installedapps' is not in vocabulary.AgentModule" in problems
    assert "vocabulary module 'installed_apps': no agent module has that name" in problems
    assert "agent category 'installedapps' is not in vocabulary.HookCategory" in problems
    assert "agent module 'sensors' is not in vocabulary.AgentModule" in problems
    assert "agent category 'sensors' is not in vocabulary.HookCategory" in problems
    assert "module 'sensors' is not in modules.ts's MODULES" in problems
    assert "vocabulary category 'tls-plaintext': no agent module emits it" in problems
    assert "agent: unresolved native/ssl.ts: category pickCategory" in problems
    assert (
        "agent:warning source 'boringssl' is neither a module nor in vocabulary.WARNING_SOURCES" in problems
    )


def test_every_method_the_agent_hooks_to_read_the_device_has_a_data_type_entry() -> None:
    names = read_agent(SRC)
    reads = {(c, api) for c, api in names.hooks if c in READ_CATEGORIES and c != HookCategory.WATCH}
    assert len(reads) >= 50
    table = {(r.category.value, r.api) for r in HOOKED_READS}
    assert sorted(reads - table) == []
    # and the table lists nothing the agent does not hook, but for the public types of hooked classes
    public = {"PackageManager"}
    assert sorted(api for c, api in table - reads if api.split(".")[0] not in public) == []


def test_the_keys_the_agent_records_have_a_data_type() -> None:
    sets = read_agent(SRC).sets
    settings, properties = sets["IDENTIFYING_SETTINGS"], sets["IDENTIFYING_PROPERTIES"]
    assert "android_id" in settings and "ro.serialno" in properties
    keyed = {(r.api, r.key) for r in HOOKED_READS if r.key is not None}
    for cls in ("Settings$Secure", "Settings$System"):
        assert {k for a, k in keyed if a == f"{cls}.getString"} == settings
    assert {k for a, k in keyed if a == "SystemProperties.get"} == properties
    assert {k for a, k in keyed if a == "MediaDrm.getPropertyByteArray"} == {"deviceUniqueId"}
    # hook_data_type relies on it: an api is keyed in every entry or in none.
    by_api: dict[str, set[bool]] = {}
    for r in HOOKED_READS:
        by_api.setdefault(r.api, set()).add(r.key is None)
    assert [api for api, kinds in by_api.items() if len(kinds) > 1] == []


def test_one_spelling_per_name() -> None:
    for old in ("installed-apps", "installedapps", "packages", "INSTALLED-APPS"):
        assert canonical_category(old) == HookCategory.INSTALLED_APPS
    assert canonical_module("installedapps") == AgentModule.INSTALLED_APPS
    assert canonical_module("tlsnative") == AgentModule.TLS_NATIVE
    assert canonical_category("sensors") == "sensors" and canonical_module("nope") == "nope"
    # Category, module and data type of the installed-apps read are one and the same word.
    assert HookCategory.INSTALLED_APPS == AgentModule.INSTALLED_APPS == DataType.INSTALLED_APPS


def test_a_read_has_the_data_type_its_transmission_has() -> None:
    resolver = {"$class": "android.content.ContentResolver", "value": "r"}
    cases = [
        ("identifiers", "Settings$Secure.getString", [resolver, "android_id"], DataType.ANDROID_ID),
        (
            "identifiers",
            "android.provider.Settings$Secure.getString",
            '[{}, "android_id"]',
            DataType.ANDROID_ID,
        ),
        ("identifiers", "Settings.Secure.getString(android_id)", None, DataType.ANDROID_ID),
        ("identifiers", "Settings$Secure.getString", [resolver, "bluetooth_address"], DataType.MAC),
        ("identifiers", "Settings$Secure.getString", [resolver, "device_name"], DataType.OTHER),
        ("identifiers", "Settings$Secure.getString", [resolver, "not_listed"], DataType.OTHER),
        ("identifiers", "WifiInfo.getMacAddress", [], DataType.MAC),
        ("identifiers", "NetworkInterface.getHardwareAddress", [], DataType.MAC),
        ("identifiers", "Build.getSerial", [], DataType.SERIAL),
        ("identifiers", "SystemProperties.get", ["ro.serialno"], DataType.SERIAL),
        ("identifiers", "MediaDrm.getPropertyByteArray", ["deviceUniqueId"], DataType.VENDOR_ID),
        ("identifiers", "TelephonyManager.getImei", [0], DataType.IMEI),
        ("identifiers", "TelephonyManager.getNetworkOperatorName", [], None),
        ("installed-apps", "ApplicationPackageManager.getInstalledPackages", [0], DataType.INSTALLED_APPS),
        ("contacts", "AccountManager.getAccounts", [], DataType.EMAIL),
        ("contacts", "ContentResolver.query", ["content://com.android.contacts/data"], DataType.CONTACT),
        ("location", "WifiInfo.getBSSID", [], DataType.LOCATION),
        ("webview", "WebView.evaluateJavascript", ["1+1"], None),
        ("tls-plaintext", "SSL_write", [], None),
        ("runner", "gap", [], None),
    ]
    got = [(c, a, hook_data_type(c, a, args)) for c, a, args, _ in cases]
    assert got == [(c, a, want) for c, a, _, want in cases]
