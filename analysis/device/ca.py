"""The mitmproxy CA as Android's trust store wants it: `<subject hash>.0` holding the PEM certificate.

Android looks a CA up by OpenSSL's *old* subject-name hash (`X509_NAME_hash_old`, what
`openssl x509 -subject_hash_old` prints, not the SHA-1 based `-subject_hash`): MD5 over the DER
encoding of the subject name, first four bytes read little-endian (conscrypt's
`TrustedCertificateStore` calls `X509_NAME_hash_old`). For mitmproxy's default CA (CN=mitmproxy,
O=mitmproxy) that is `c8750f0d`, but privlab computes it from the CA actually in the confdir.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from analysis.errors import PrivlabError

CA_FILE = "mitmproxy-ca-cert.pem"
# The confdir `privlab capture` runs mitmdump with: the CA on the device must be that one.
# mitmproxy's confdir for privlab's captures (its CA is what devices are told to trust).
DEFAULT_CONFDIR = Path.home() / ".privlab" / "mitmproxy"


@dataclass(frozen=True)
class ProxyCA:
    """The CA certificate privlab installs on the device."""

    path: Path
    pem: bytes
    subject_hash: str  # e.g. "c8750f0d"
    sha256: str  # of `pem`, the exact bytes pushed to the device

    @property
    def android_name(self) -> str:
        return f"{self.subject_hash}.0"


def subject_hash(cert: x509.Certificate) -> str:
    """OpenSSL's `X509_subject_name_hash_old` of `cert` (what Android's cacerts file names use), 8 hex digits."""
    digest = hashlib.md5(cert.subject.public_bytes(), usedforsecurity=False).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def load_ca(confdir: Path = DEFAULT_CONFDIR) -> ProxyCA:
    """The CA certificate in a mitmproxy confdir; PrivlabError naming the file when missing or bad."""
    path = Path(confdir) / CA_FILE
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise PrivlabError(
            f"{path}: no mitmproxy CA yet; `privlab device setup` creates one (or run `mitmdump` once)"
        ) from None
    except OSError as e:
        raise PrivlabError(f"{path}: cannot read the mitmproxy CA ({e.strerror})") from None
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise PrivlabError(
            f"{path}: not a PEM certificate; delete it and let mitmproxy make a new CA"
        ) from None
    clean = cert.public_bytes(serialization.Encoding.PEM)
    return ProxyCA(path, clean, subject_hash(cert), hashlib.sha256(clean).hexdigest())


def ensure_ca(confdir: Path = DEFAULT_CONFDIR) -> ProxyCA:
    """The confdir's CA, creating it the way mitmproxy does on first start when there is none."""
    if not (Path(confdir) / CA_FILE).exists():
        from mitmproxy.certs import CertStore

        try:
            Path(confdir).mkdir(parents=True, exist_ok=True)
            CertStore.from_store(Path(confdir), "mitmproxy", 2048)
        except OSError as e:
            raise PrivlabError(f"{confdir}: cannot create the mitmproxy CA ({e.strerror})") from None
    return load_ca(confdir)
