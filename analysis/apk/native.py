"""Native libraries in the APK and what they mean for capture.

Java-level hooks and a proxy CA only see what goes through the Java network stack. A bundled BoringSSL
or Cronet does TLS in native code (pinning there needs a native hook), QUIC runs over UDP past an HTTP
proxy, request-signing and body-encryption libraries mean captured bodies may need an extra decoding
step, and packers load code at run time that static analysis cannot see. The name patterns below come
from field-notes section 10 (TikTok's `libsscronet`, `libttboringssl`, `libmetasec*`, `libttquic`) and
section 11 (pinning bypass).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Implication vocabulary (static.json `native_libs[].implies`).
IMPLICATIONS = {
    "native-tls": "TLS is done in native code: Java unpinning hooks and the system proxy may not apply; "
    "use a native TLS hook or the CA in the system store",
    "quic": "QUIC over UDP/443 bypasses an HTTP proxy: block UDP/443 or capture QUIC separately",
    "request-signing": "requests carry signatures computed natively (X-Gorgon/X-Argus style headers)",
    "app-layer-encryption": "bodies may be encrypted by the app before TLS: decode before detection",
    "packer": "code is unpacked at run time: static analysis of the DEX files is incomplete",
    "non-java-runtime": "networking runs outside the Java framework (its own TLS stack and proxy handling)",
}


@dataclass(frozen=True)
class NativeRule:
    pattern: str  # regex on the library file name
    what: str
    implies: tuple[str, ...]


RULES: tuple[NativeRule, ...] = (
    NativeRule(r"libsscronet\.so", "ByteDance TTNet (Cronet fork) network stack", ("native-tls", "quic")),
    NativeRule(r"libttboringssl\.so", "ByteDance's bundled BoringSSL", ("native-tls",)),
    NativeRule(r"libtt(crypto|openssl)\.so", "ByteDance's bundled crypto library", ("native-tls",)),
    NativeRule(r"libttquic\.so", "ByteDance QUIC implementation", ("quic",)),
    NativeRule(
        r"libmetasec.*\.so", "ByteDance MetaSec security SDK", ("request-signing", "app-layer-encryption")
    ),
    NativeRule(
        r"libEncryptor\.so", "named like ByteDance's TTEncrypt body encryption", ("app-layer-encryption",)
    ),
    NativeRule(r"libcronet.*\.so", "Chromium Cronet network stack", ("native-tls", "quic")),
    NativeRule(r"lib(ssl|crypto|boringssl)(\.\d+)*\.so", "bundled OpenSSL/BoringSSL", ("native-tls",)),
    NativeRule(r"libconscrypt.*\.so", "bundled Conscrypt TLS provider", ("native-tls",)),
    NativeRule(
        r"libflutter\.so", "Flutter engine (Dart's own TLS, ignores the system proxy)", ("non-java-runtime",)
    ),
    NativeRule(r"libreactnativejni\.so", "React Native", ()),
    NativeRule(r"libunity\.so", "Unity engine", ("non-java-runtime",)),
    NativeRule(
        r"lib(jiagu.*|DexHelper.*|secexe|secshell|protectClass|shella.*|legu.*|baiduprotect.*)\.so",
        "commercial app packer",
        ("packer",),
    ),
    NativeRule(r"libfrida-gadget.*\.so", "Frida gadget (the APK was instrumented)", ()),
)

_COMPILED = tuple((re.compile(rule.pattern), rule) for rule in RULES)


@dataclass(frozen=True)
class NativeLib:
    """One native library, with every ABI and APK part it ships in."""

    name: str
    abis: tuple[str, ...]
    paths: tuple[str, ...]  # "split_config.arm64_v8a.apk!lib/arm64-v8a/libsscronet.so"
    size: int  # largest copy, bytes
    is_elf: bool
    what: str | None
    implies: tuple[str, ...]


def classify(name: str) -> tuple[str | None, tuple[str, ...]]:
    """What a library file name is known to be, and what it implies for capture."""
    for regex, rule in _COMPILED:
        if regex.fullmatch(name):
            return rule.what, rule.implies
    return None, ()


def lib_path_parts(path: str) -> tuple[str, str] | None:
    """`lib/<abi>/<name>.so` -> (abi, name); anything else -> None."""
    pieces = path.split("/")
    if len(pieces) == 3 and pieces[0] == "lib" and pieces[2].endswith(".so"):
        return pieces[1], pieces[2]
    return None
