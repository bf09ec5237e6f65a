"""Who signed the APK: the signature schemes present and each signing certificate."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import field
from typing import Any


@dataclass(frozen=True)
class Certificate:
    """One signing certificate (X.509), identified by its SHA-256 fingerprint."""

    sha256: str
    sha1: str
    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str


@dataclass
class Signing:
    """Signature schemes (v1 JAR, v2, v3, v3.1) and the certificates they carry."""

    v1: bool = False
    v2: bool = False
    v3: bool = False
    v31: bool = False
    certificates: list[Certificate] = field(default_factory=list)
    problem: str | None = None


def read_signing(apk: Any) -> Signing:
    """Read the signature schemes and certificates of an androguard `APK`; damage becomes `problem`."""
    out = Signing()
    try:
        out.v1 = bool(apk.is_signed_v1())
        out.v2 = bool(apk.is_signed_v2())
        out.v3 = bool(apk.is_signed_v3())
        out.v31 = bool(apk.is_signed_v31())
        ders: list[bytes] = []
        for cert in apk.get_certificates():
            der = cert.dump()
            if der not in ders:
                ders.append(der)
                out.certificates.append(_certificate(cert, der))
    except Exception as e:  # noqa: BLE001 - a damaged signature block must not stop the analysis
        out.problem = f"signature block unreadable ({type(e).__name__}: {e})"
    out.certificates.sort(key=lambda c: c.sha256)
    return out


def _certificate(cert: Any, der: bytes) -> Certificate:
    validity = cert["tbs_certificate"]["validity"]
    return Certificate(
        sha256=hashlib.sha256(der).hexdigest(),
        sha1=hashlib.sha1(der).hexdigest(),  # noqa: S324 - the fingerprint Android tools print, not security
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        serial=format(cert.serial_number, "x"),
        not_before=validity["not_before"].native.isoformat(),
        not_after=validity["not_after"].native.isoformat(),
    )
