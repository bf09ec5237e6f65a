"""Registrable domain ("eTLD+1") of a host name, from the Public Suffix List, offline.

The list is the copy shipped inside the `publicsuffixlist` package (or a file the user names); its
version line (`// VERSION: ...`) and sha256 are recorded in `SuffixListInfo`, so every table built
with it can say which list was used. Nothing is fetched at run time.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from publicsuffixlist import PSLFILE
from publicsuffixlist import PublicSuffixList

from analysis.errors import PrivlabError

_VERSION = re.compile(rb"^// VERSION: (\S+)", re.MULTILINE)
_COMMIT = re.compile(rb"^// COMMIT: (\S+)", re.MULTILINE)


@dataclass(frozen=True)
class SuffixListInfo:
    """Which Public Suffix List was used: file, its own version stamp, commit and sha256."""

    path: str
    version: str  # e.g. "2026-10-22_08-36-41_UTC" ("" if the file has no version line)
    commit: str
    sha256: str

    @property
    def date(self) -> str:
        """The list's date (YYYY-MM-DD) from its version stamp, or ""."""
        return self.version[:10] if re.match(r"\d{4}-\d{2}-\d{2}", self.version) else ""

    def label(self) -> str:
        """One line naming the list, for tables and reports."""
        return f"Public Suffix List {self.version or 'unversioned'} (sha256 {self.sha256[:16]}, {self.path})"


class DomainNamer:
    """Registrable domains from one Public Suffix List file (the packaged one by default)."""

    def __init__(self, path: Path | None = None) -> None:
        p = Path(path) if path is not None else Path(PSLFILE)
        try:
            raw = p.read_bytes()
        except OSError as e:
            raise PrivlabError(f"{p}: cannot read the Public Suffix List ({e.strerror or e})") from None
        if b"\n" not in raw or b"// ===BEGIN ICANN DOMAINS===" not in raw:
            raise PrivlabError(f"{p}: not a Public Suffix List (no ICANN section marker)")
        version = _VERSION.search(raw)
        commit = _COMMIT.search(raw)
        self.info = SuffixListInfo(
            path=str(p),
            version=version.group(1).decode() if version else "",
            commit=commit.group(1).decode() if commit else "",
            sha256=hashlib.sha256(raw).hexdigest(),
        )
        # accept_unknown=False: a name under an unknown TLD (e.g. "foo.internal") has no registrable domain.
        self._psl = PublicSuffixList(raw.decode("utf-8").splitlines(), accept_unknown=False)
        self.registrable = functools.lru_cache(maxsize=65536)(self._registrable)

    def _registrable(self, host: str) -> str | None:
        h = host.strip().lower().rstrip(".")
        if not h or is_ip(h):
            return None
        try:
            return self._psl.privatesuffix(h)
        except (ValueError, UnicodeError):
            return None

    def public_suffix(self, host: str) -> str | None:
        """The public suffix of `host` (e.g. "co.uk"), or None for IPs and unknown TLDs."""
        h = host.strip().lower().rstrip(".")
        if not h or is_ip(h):
            return None
        return self._psl.publicsuffix(h)


def is_ip(h: str) -> bool:
    """True for an IPv4/IPv6 literal (brackets allowed)."""
    try:
        ipaddress.ip_address(h.strip("[]"))
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def default_namer() -> DomainNamer:
    """The namer for the packaged list (loaded once)."""
    return DomainNamer()


def registrable_domain(host: str) -> str | None:
    """eTLD+1 of `host` with the packaged list: "log-va.tiktokv.com" -> "tiktokv.com"; None for IPs."""
    return default_namer().registrable(host)


def psl_info() -> SuffixListInfo:
    """Version, commit and sha256 of the packaged Public Suffix List."""
    return default_namer().info
