"""What a ByteDance endpoint is for: `data/bytedance_endpoints.toml` loaded and matched.

Each entry maps a path prefix (optionally on a host glob) to one purpose of `PURPOSES`, with the sources
that state it. `purpose_of(host, path)` gives the entry for a request (longest path prefix; a host-specific
entry before a host-less one); `is_bytedance_host` says whether a host is one of ByteDance's domains, so
that ByteDance paths with no entry can be listed as unknown rather than silently unclassified.
"""

from __future__ import annotations

import fnmatch
import functools
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from analysis.errors import PrivlabError

PURPOSES = (
    "device registration",
    "analytics log",
    "log settings",
    "monitoring/crash upload",
    "security fingerprint",
    "push/WebSocket",
    "login/passport",
    "content API",
    "ads",
)

# Registrable domains ByteDance owns that TikTok and its SDKs contact (ownership: the entity registry's
# bytedance.toml, which cites the public lists for each).
BYTEDANCE_DOMAINS = (
    "tiktokv.com", "tiktokv.us", "tiktokv.eu", "tiktok.com", "tiktokw.us", "tiktokcdn.com", "tiktokcdn-us.com",
    "tiktokcdn-eu.com", "byteoversea.com", "byteoversea.net", "isnssdk.com", "snssdk.com", "ibytedtos.com",
    "byteimg.com", "ibyteimg.com", "pstatp.com", "ipstatp.com", "musical.ly", "bytedance.com", "byteintl.com",
    "byteintlapi.com", "tiktokd.org", "tiktokd.net", "zhiliaoapp.com", "muscdn.com",
)  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    """One mapping of the data file."""

    path: str
    purpose: str
    sources: tuple[str, ...]
    host: str | None = None
    note: str = ""


@dataclass(frozen=True)
class EndpointMap:
    """The data file: entries and the citation text of each source id."""

    endpoints: tuple[Endpoint, ...]
    sources: dict[str, str]
    # Answers already given, by (host, path): a session asks again for every request to the same
    # endpoint, and each answer is a glob match against every entry. Bounded (cleared when full).
    _answers: dict[tuple[str | None, str | None], Endpoint | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def purpose_of(self, host: str | None, path: str | None) -> Endpoint | None:
        """The entry for a request to `host` at `path`, or None when no entry matches."""
        key = (host, path)
        if key in self._answers:
            return self._answers[key]
        if len(self._answers) >= 4096:
            self._answers.clear()
        answer = self._answers[key] = self._match(host, path)
        return answer

    def _match(self, host: str | None, path: str | None) -> Endpoint | None:
        host = (host or "").lower()
        path = path or "/"
        best: tuple[int, int, Endpoint] | None = None
        for ep in self.endpoints:
            if ep.host and not fnmatch.fnmatch(host, ep.host):
                continue
            if not path.startswith(ep.path):
                continue
            rank = (len(ep.path), 1 if ep.host else 0)
            if best is None or rank > best[:2]:
                best = (*rank, ep)
        return best[2] if best else None

    def cite(self, ep: Endpoint) -> str:
        """`purpose (source; source)` for a report line."""
        return f"{ep.purpose} ({'; '.join(self.sources.get(s, s) for s in ep.sources)})"


DATA_FILE = "bytedance_endpoints.toml"
DATA = Path(__file__).resolve().parent / "data" / DATA_FILE


def load_endpoints(text: str | None = None, name: str = DATA_FILE) -> EndpointMap:
    """Parse the data file (or `text`); a malformed entry is a PrivlabError naming the file and entry."""
    if text is None:
        text = DATA.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PrivlabError(f"{name}: not valid TOML ({e})") from None
    sources = {str(k): str(v) for k, v in (doc.get("sources") or {}).items()}
    out = []
    for i, raw in enumerate(doc.get("endpoint") or []):
        where = f"{name}: endpoint {i + 1}"
        if not isinstance(raw, dict) or not str(raw.get("path", "")).startswith("/"):
            raise PrivlabError(f"{where}: needs a path starting with '/'")
        purpose = str(raw.get("purpose", ""))
        if purpose not in PURPOSES:
            raise PrivlabError(f"{where}: purpose {purpose!r} is not one of {', '.join(PURPOSES)}")
        cited = tuple(str(s) for s in raw.get("sources") or [])
        if not cited or any(s not in sources for s in cited):
            raise PrivlabError(f"{where}: every entry needs sources listed in [sources] (got {list(cited)})")
        out.append(Endpoint(str(raw["path"]), purpose, cited, raw.get("host"), str(raw.get("note", ""))))
    return EndpointMap(tuple(out), sources)


@functools.cache
def default_endpoints() -> EndpointMap:
    """The shipped data file, loaded once."""
    return load_endpoints()


@functools.lru_cache(maxsize=4096)  # called for every request; a session talks to few hosts
def is_bytedance_host(host: str | None) -> bool:
    """True when `host` is (a subdomain of) one of BYTEDANCE_DOMAINS."""
    h = (host or "").lower().rstrip(".")
    return any(h == d or h.endswith("." + d) for d in BYTEDANCE_DOMAINS)


def endpoint_purpose(host: str | None, path: str | None, endpoints: EndpointMap | None = None) -> str | None:
    """The purpose of a ByteDance request, None for other hosts or unmapped paths."""
    if not is_bytedance_host(host):
        return None
    ep = (endpoints or default_endpoints()).purpose_of(host, path)
    return ep.purpose if ep else None


def unknown_paths(
    requests: Iterable[tuple[str | None, str | None]], endpoints: EndpointMap | None = None
) -> list[tuple[str, str, int]]:
    """(host, path, requests) of ByteDance requests whose path has no purpose, most frequent first."""
    emap = endpoints or default_endpoints()
    seen: Counter[tuple[str, str]] = Counter()
    for (host, path), n in Counter(requests).items():  # a session repeats a few paths 100k times
        if is_bytedance_host(host) and emap.purpose_of(host, path) is None:
            seen[((host or "").lower(), path or "/")] += n
    return [(h, p, n) for (h, p), n in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))]
