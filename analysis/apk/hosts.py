"""Host names and URLs written into the app: in DEX strings, resources, assets and native libraries.

URLs (`http(s)://`, `ws(s)://`) are taken wherever they appear. A bare host name is taken only when a
whole string is one, its suffix is a real public suffix (offline Public Suffix List), and it does not
look like a Java package (`com.google.android`) or a file name (`libfoo.so`, `Main.java`): bare names
have no scheme to vouch for them, so the filter errs on the side of leaving them out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from functools import cache

from publicsuffixlist import PublicSuffixList

URL_RE = re.compile(
    r"(?i)\b(?:https?|wss?)://([a-z0-9.-]+|\[[0-9a-f:]+\])(?::\d{1,5})?[^\x00-\x20\x7f\"'<>\\`{}|^]*"
)
URL_BYTES_RE = re.compile(rb"(?i)\b(?:https?|wss?)://[a-z0-9.-]+(?::\d{1,5})?[!#-;=?-~]*")
HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")

# First labels of reverse-DNS Java package names, which would otherwise pass as host names.
_PACKAGE_ROOTS = frozenset(
    "com org net io android androidx java javax kotlin kotlinx dalvik sun jdk junit".split()
)
# Public suffixes that are also common file extensions.
_FILE_SUFFIXES = frozenset(
    "so py sh md zip mov properties pl java ai ps rs ts tf cc gz kt mk bz txt js json xml png jpg gif".split()
)
MAX_URLS_PER_HOST = 5
# XML namespace names are URLs that are never fetched.
NAMESPACE_URLS = (
    "http://schemas.android.com/",
    "http://www.w3.org/",
    "http://ns.adobe.com/",
    "http://xmlpull.org/",
)


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList(accept_unknown=False)


def is_bare_host(text: str) -> bool:
    """True if the whole string reads as an Internet host name (see the module docstring)."""
    if len(text) > 253 or "." not in text or not HOST_RE.match(text):
        return False
    labels = text.split(".")
    if labels[0] in _PACKAGE_ROOTS or labels[-1] in _FILE_SUFFIXES:
        return False
    suffix = _psl().publicsuffix(text)
    return suffix is not None and suffix != text


def mentions_host(text: str) -> bool:
    """True if a string holds a URL or is a bare host name (the strings worth tying to their code)."""
    return "://" in text or is_bare_host(text)


def hosts_in(text: str) -> list[tuple[str, str | None]]:
    """(host, URL or None) for each URL in a string, or the string itself if it is a bare host name."""
    if "://" in text:
        return [
            (m.group(1), m.group(0))
            for m in URL_RE.finditer(text)
            if not m.group(0).startswith(NAMESPACE_URLS)
        ]
    return [(text, None)] if is_bare_host(text) else []


@dataclass
class HostSightings:
    """Hosts and example URLs found, with where each was found."""

    urls: dict[str, set[str]] = field(default_factory=dict)  # host -> URLs
    where: dict[str, set[str]] = field(default_factory=dict)  # host -> locations
    classes: dict[str, set[str]] = field(default_factory=dict)  # host -> classes whose code loads it

    def add(self, host: str, location: str, url: str | None = None) -> None:
        host = host.lower().strip(".[]")
        if not host or (url is not None and url.startswith(NAMESPACE_URLS)):
            return
        self.where.setdefault(host, set()).add(location)
        urls = self.urls.setdefault(host, set())
        if url is not None:
            urls.add(url)

    def add_strings(self, strings: Iterable[str], location: str) -> None:
        """Scan text strings (DEX string table, decoded resource strings)."""
        for s in strings:
            for host, url in hosts_in(s):
                self.add(host, location, url)

    def add_users(self, users: dict[str, set[str]]) -> None:
        """Record which classes load each string (from `dexscan.DexScan.string_users`)."""
        for text, classes in users.items():
            for host, _url in hosts_in(text):
                self.classes.setdefault(host.lower().strip(".[]"), set()).update(classes)

    def add_text(self, text: str, location: str) -> None:
        """Scan a text file (JSON, XML, JavaScript, properties): URLs and quoted bare host names."""
        for m in URL_RE.finditer(text):
            self.add(m.group(1), location, m.group(0))
        for q in re.findall(r"[\"'>]([a-z0-9.-]{4,253})[\"'<]", text):
            if is_bare_host(q):
                self.add(q, location)

    def add_binary(self, data: bytes, location: str) -> None:
        """Scan binary data (native libraries, binary XML, resources.arsc) for URLs, UTF-8 and UTF-16."""
        for m in URL_BYTES_RE.finditer(data):
            url = m.group(0).decode("ascii", "replace")
            host_m = URL_RE.match(url)
            if host_m:
                self.add(host_m.group(1), location, host_m.group(0))
        if b"h\x00t\x00t\x00p\x00" in data:
            # Binary XML and resources.arsc store strings as UTF-16; scan both alignments.
            for start in (0, 1):
                text = data[start:].decode("utf-16-le", "ignore")
                for wide in URL_RE.finditer(text):
                    self.add(wide.group(1), location, wide.group(0))

    def rows(self) -> list[tuple[str, list[str], list[str], list[str]]]:
        """(host, example URLs, locations, classes), sorted; at most MAX_URLS_PER_HOST URLs per host."""
        out = []
        for host in sorted(self.where):
            urls = sorted(self.urls.get(host, ()))[:MAX_URLS_PER_HOST]
            out.append((host, urls, sorted(self.where[host]), sorted(self.classes.get(host, ()))))
        return out
