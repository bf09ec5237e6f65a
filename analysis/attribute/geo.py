"""IP address -> geolocated country and network (ASN), and registered country, from offline data.

Two sources, never mixed, each named and dated in every answer:

- **geolocated** country + ASN name: `geoip2fast`'s bundled MaxMind GeoLite2 data (2024-06-18 in the
  installed release), or a newer geoip2fast `.dat.gz` the user names. This is where MaxMind believes the
  address is used; for CDN and anycast ranges it is a guess.
- **registered** country: `iptocc` (Regional Internet Registry allocation data embedded in the wheel),
  or RIR `delegated-*` files the user names. This is who the block was assigned to, not where it is.

Loopback, private, link-local and reserved addresses are classified from the address itself and never
looked up (a database answer for 127.0.0.1 or ::1 is meaningless). The IP is always the one recorded at
capture time; this module never resolves names.

geoip2fast keeps its tables in module globals, so one process holds one geoip2fast file at a time;
`GeoDB` reloads its own file when another instance has loaded a different one. geoip2fast files are
Python pickles: only point at files you trust.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from analysis.errors import PrivlabError

GEOLOCATED = "geolocated"
REGISTERED = "registered"

# Country values for addresses that are not on the public Internet (never a database lookup).
SCOPE_COUNTRY = {
    "loopback": "loopback",
    "private": "private",
    "link-local": "link-local",
    "reserved": "reserved",
    "multicast": "reserved",
    "unspecified": "reserved",
    "invalid": "invalid",
}
UNKNOWN = "unknown"  # a public address the database does not cover

# How a report names the place of an address that is not on the public Internet (a SCOPE_COUNTRY label).
# A lab capture sends everything to an upstream on the capturing host: "sent to TikTok in loopback"
# read as if loopback were a country, and such a send shows no transfer to any country.
SCOPE_PLACE = {
    "loopback": "a server on the capturing host itself (a lab upstream)",
    "private": "a server on a private network",
    "link-local": "a link-local address",
    "reserved": "a reserved address",
    "invalid": "an address that is not valid",
}

_active_geoip2fast: list[str] = []  # path of the file geoip2fast's globals currently hold


@dataclass(frozen=True)
class GeoSource:
    """One offline database: what it is, what kind of country it gives, and its date."""

    name: str
    kind: str  # geolocated | registered
    data: str  # the database's own label, e.g. "MAXMIND:GeoLite2-CountryASN-IPv4IPv6-en-20240618"
    date: str  # YYYY-MM-DD of the data (or of the build that embeds it)
    path: str
    sha256: str

    def label(self) -> str:
        """One line for reports: "geolocated: MaxMind GeoLite2 via geoip2fast 1.2.2 (data 2024-06-18)"."""
        return f"{self.kind}: {self.name} ({self.data}, data {self.date or 'undated'})"


@dataclass(frozen=True)
class IpInfo:
    """What the offline sources say about one address."""

    ip: str
    scope: str  # public | loopback | private | link-local | reserved | multicast | unspecified | invalid
    country: str  # geolocated ISO code, a SCOPE_COUNTRY label, or "unknown"
    registered_country: str  # registry ISO code, a SCOPE_COUNTRY label, or "unknown"
    asn: str  # AS name from the geolocation source ("" if none)
    asn_prefix: str  # the announced prefix the AS name is for ("" if none)
    geo_source: str  # GeoSource.data of the geolocation source
    registry_source: str  # GeoSource.data of the registry source


def ip_scope(ip: str) -> str:
    """Classify an address without any database: public, loopback, private, link-local, reserved, ..."""
    try:
        addr = ipaddress.ip_address(ip.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return "invalid"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_loopback:
        return "loopback"
    if addr.is_unspecified:
        return "unspecified"
    if addr.is_link_local:
        return "link-local"
    if addr.is_multicast:
        return "multicast"
    if addr.is_private:
        return "private"
    if addr.is_reserved or not addr.is_global:
        return "reserved"
    return "public"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _date_from_label(label: str) -> str:
    m = re.search(r"(20\d{2})(\d{2})(\d{2})", label)
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else ""


class RirDelegations:
    """Registered country from RIR `delegated-*-extended` statistics files (user-supplied, newer data)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        starts4: list[tuple[int, int, str]] = []
        starts6: list[tuple[int, int, str]] = []
        dates: list[str] = []
        for path in paths:
            try:
                text = Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError as e:
                raise PrivlabError(f"{path}: cannot read RIR delegation file ({e.strerror or e})") from None
            n = 0
            for line in text.splitlines():
                if not line or line.startswith("#"):
                    continue
                f = line.split("|")
                if len(f) >= 7 and f[1] == "*":
                    continue  # summary line
                if len(f) >= 6 and f[0] in ("2", "2.3") and not dates:
                    dates.append(f[5] if len(f) > 5 else "")  # version line: 2|rir|serial|records|start|end
                    continue
                if len(f) < 7 or f[2] not in ("ipv4", "ipv6") or f[6] not in ("allocated", "assigned"):
                    continue
                cc = f[1].upper()
                try:
                    if f[2] == "ipv4":
                        start = int(ipaddress.IPv4Address(f[3]))
                        starts4.append((start, start + int(f[4]) - 1, cc))
                    else:
                        net = ipaddress.IPv6Network(f"{f[3]}/{f[4]}")
                        starts6.append((int(net.network_address), int(net.broadcast_address), cc))
                except ValueError:
                    continue
                n += 1
            if n == 0:
                raise PrivlabError(f"{path}: no ipv4/ipv6 allocations found (not an RIR delegated-* file?)")
        self._v4 = sorted(starts4)
        self._v6 = sorted(starts6)
        self._k4 = [s for s, _, _ in self._v4]
        self._k6 = [s for s, _, _ in self._v6]
        raw = b"".join(Path(p).read_bytes() for p in paths)
        end = max(dates) if dates else ""
        self.source = GeoSource(
            name="RIR delegation statistics",
            kind=REGISTERED,
            data="RIR:" + ",".join(Path(p).name for p in paths),
            date=_date_from_label(end),
            path=",".join(str(p) for p in paths),
            sha256=hashlib.sha256(raw).hexdigest(),
        )

    def country(self, ip: str) -> str | None:
        """The registered country of a public address, or None if no allocation covers it."""
        addr = ipaddress.ip_address(ip)
        table, keys = (self._v4, self._k4) if addr.version == 4 else (self._v6, self._k6)
        i = bisect.bisect_right(keys, int(addr)) - 1
        if i >= 0 and table[i][0] <= int(addr) <= table[i][1]:
            return table[i][2]
        return None


@functools.lru_cache(maxsize=1)
def _iptocc_source() -> GeoSource:
    version = metadata.version("iptocc")
    built = ""
    dist = metadata.distribution("iptocc")
    # The wheel's SBOM carries its build time: the RIR data embedded in it is from that build.
    for f in dist.files or []:
        if str(f).endswith(".cyclonedx.json"):
            try:
                stamp = (
                    json.loads(Path(str(dist.locate_file(f))).read_text())
                    .get("metadata", {})
                    .get("timestamp", "")
                )
            except (OSError, ValueError):
                stamp = ""
            built = stamp[:10]
    lib = Path(str(dist.locate_file("iptocc/iptocc.abi3.so")))
    return GeoSource(
        name=f"iptocc {version} (RIR allocation data embedded in the wheel)",
        kind=REGISTERED,
        data=f"IPTOCC:{version}",
        date=built,
        path=str(lib),
        sha256=_sha256(lib) if lib.exists() else "",
    )


class GeoDB:
    """Offline IP lookups with named, dated sources.

    `geoip2fast_file`: a geoip2fast `.dat.gz` with ASN data (default: the bundled IPv4+IPv6 ASN file).
    `rir_files`: RIR delegated-* files to use instead of iptocc for the registered country.
    """

    def __init__(self, geoip2fast_file: Path | None = None, rir_files: Sequence[Path] = ()) -> None:
        from geoip2fast import GeoIP2Fast

        try:
            if geoip2fast_file is None:
                self._geo = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn-ipv6.dat.gz")
            else:
                p = Path(geoip2fast_file)
                if not p.is_file():
                    raise PrivlabError(f"{p}: geolocation database not found")
                with p.open("rb") as f:
                    if f.read(2) != b"\x1f\x8b":
                        raise PrivlabError(f"{p}: not a geoip2fast .dat.gz file (not gzip)")
                self._geo = GeoIP2Fast(geoip2fast_data_file=str(p.resolve()))
        except PrivlabError:
            raise
        except Exception as e:  # geoip2fast raises its own GeoIPError or pickle errors
            raise PrivlabError(f"{geoip2fast_file}: cannot load geolocation database ({e})") from None
        path = Path(self._geo.get_database_path())
        _active_geoip2fast[:] = [str(path)]
        label = str(getattr(self._geo, "source_info", "")) or path.name
        self.geo_source = GeoSource(
            name=f"geoip2fast {metadata.version('geoip2fast')} data file {path.name}",
            kind=GEOLOCATED,
            data=label,
            date=_date_from_label(label),
            path=str(path),
            sha256=_sha256(path),
        )
        self.has_asn = bool(getattr(self._geo, "asn", False))
        self._rir = RirDelegations(rir_files) if rir_files else None
        self.registry_source = self._rir.source if self._rir else _iptocc_source()
        self._cache: dict[str, IpInfo] = {}

    @property
    def sources(self) -> tuple[GeoSource, GeoSource]:
        """(geolocation source, registry source)."""
        return (self.geo_source, self.registry_source)

    def _ensure_active(self) -> None:
        if _active_geoip2fast[:1] != [self.geo_source.path]:
            self._geo.reload_data()
            _active_geoip2fast[:] = [self.geo_source.path]

    def lookup(self, ip: str) -> IpInfo:
        """Geolocated and registered country and AS name of one address (special ranges not looked up)."""
        return self.lookup_many([ip])[0]

    def lookup_many(self, ips: Iterable[str]) -> list[IpInfo]:
        """`lookup` for many addresses (registry lookups are batched)."""
        ips = list(ips)
        todo = [ip for ip in dict.fromkeys(ips) if ip not in self._cache]
        public = [ip for ip in todo if ip_scope(ip) == "public"]
        for ip in todo:
            scope = ip_scope(ip)
            if scope != "public":
                label = SCOPE_COUNTRY.get(scope, scope)
                self._cache[ip] = IpInfo(
                    ip, scope, label, label, "", "", self.geo_source.data, self.registry_source.data
                )
        if public:
            self._ensure_active()
            clean = [ip.strip().strip("[]") for ip in public]
            registered = self._registered(clean)
            for ip, addr, reg in zip(public, clean, registered, strict=True):
                r = self._geo.lookup(addr)
                cc = r.country_code if re.fullmatch(r"[A-Z]{2}", r.country_code or "") else UNKNOWN
                self._cache[ip] = IpInfo(
                    ip=ip,
                    scope="public",
                    country=cc,
                    registered_country=reg or UNKNOWN,
                    asn=r.asn_name or "",
                    asn_prefix=r.asn_cidr or "",
                    geo_source=self.geo_source.data,
                    registry_source=self.registry_source.data,
                )
        return [self._cache[ip] for ip in ips]

    def _registered(self, ips: list[str]) -> list[str | None]:
        if self._rir is not None:
            return [self._rir.country(ip) for ip in ips]
        import iptocc

        out = iptocc.country_code(ips)
        return [c.upper() if isinstance(c, str) else None for c in out]


@functools.lru_cache(maxsize=1)
def default_geodb() -> GeoDB:
    """The bundled databases (loaded once per process; ~0.3 s)."""
    return GeoDB()


def gz_label(path: Path) -> str:
    """The data label inside a geoip2fast file without unpickling it fully (for `privlab` diagnostics)."""
    with gzip.open(path, "rb") as f:
        head = f.read(4096)
    m = re.search(rb"[A-Z]+:[A-Za-z0-9_.-]+-\d{8}", head)
    return m.group(0).decode() if m else ""
