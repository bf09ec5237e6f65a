"""Ground-truth detection: every variant of every canary searched in every view of a message at once.

`CanaryIndex` builds one automaton over the needles of all canaries (planted ones, and values hooks saw
returned: `source == "runtime-value"`). `find` scans the views of one message in a single pass (the
views joined by a byte no needle contains), then checks word boundaries, reads location numbers and
checks them against the tolerance, and pairs latitudes with longitudes.
"""

from __future__ import annotations

import base64
import binascii
import re
from operator import attrgetter
from typing import NamedTuple

from analysis.decode.views import View
from analysis.decode.views import base64_label
from analysis.detect.excerpt import excerpt
from analysis.detect.scanner import Scanner
from analysis.detect.variants import LOCATION_TOLERANCE
from analysis.detect.variants import Variant
from analysis.detect.variants import expand
from analysis.detect.variants import parse_location
from analysis.schema import Canary
from analysis.vocabulary import CanarySource
from analysis.vocabulary import DetectionMethod

_DATA = attrgetter("data")
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LAST_NAME = re.compile(r"([A-Za-z_]+|\[\d+\])[^A-Za-z_\[]*$")


class Hit(NamedTuple):
    """A verified match of one canary in one view (a tuple: thousands are made per large message)."""

    canary_id: str
    data_type: str
    method: str
    view: int
    start: int
    end: int
    encoding: str
    confidence: float


def _isalnum(b: int) -> bool:
    return 48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122


def _bounded(data: bytes, start: int, end: int, needle: bytes) -> bool:
    """The match is not the middle of a longer word or number (a near-miss decoy is a longer one)."""
    if start > 0 and _isalnum(needle[0]) and _isalnum(data[start - 1]):
        return False
    return not (end < len(data) and _isalnum(needle[-1]) and _isalnum(data[end]))


_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


_RUN_CONTEXT = 12


def _in_base64_run(data: bytes, start: int, end: int, source: bytes) -> bool:
    """Decode the base64 run around a fragment match: the whole value must be in it.

    A fragment leaves out the bits of the value's first and last characters that share a base64
    character with their neighbours; a near-miss decoy that differs only there would match the
    fragment, but not this check.
    """
    # A few characters either side are enough: the four shifts below find the run's alignment, and
    # a base64 run of 100 KB is not walked once per match.
    lo, hi = start, end
    floor, ceiling = max(0, start - _RUN_CONTEXT), min(len(data), end + _RUN_CONTEXT)
    while lo > floor and data[lo - 1] in _B64_CHARS:
        lo -= 1
    while hi < ceiling and data[hi] in _B64_CHARS:
        hi += 1
    run = data[lo:hi].replace(b"-", b"+").replace(b"_", b"/")
    for shift in range(4):
        chunk = run[shift:]
        if len(chunk) % 4 == 1:
            chunk = chunk[:-1]
        chunk += b"=" * (-len(chunk) % 4)
        try:
            decoded = base64.b64decode(chunk)
        except (binascii.Error, ValueError):
            continue
        # The value must not run on into a longer number (an IMEI without its check digit is a prefix
        # of the IMEI with another one). Only the end is checked: binary before a value is often a
        # length byte, which may be any character.
        i = decoded.find(source)
        while i >= 0:
            end = i + len(source)
            if end == len(decoded) or not (_isalnum(source[-1]) and _isalnum(decoded[end])):
                return True
            i = decoded.find(source, i + 1)
    return False


def _relabel(steps: tuple[str, ...], needle: bytes, part: str) -> tuple[str, ...]:
    """Name the base64 alphabet from the matched text (both are valid when neither's own characters occur)."""
    if steps and steps[0] in ("base64", "base64url"):
        return (base64_label(needle, part), *steps[1:])
    return steps


def _confidence(variant: Variant) -> float:
    if variant.in_run:
        return 0.95
    return 1.0 if len(variant.needle) >= 8 else 0.85


class CanaryIndex:
    """The automaton over all canaries' variants, and the checks after a raw match."""

    def __init__(
        self, canaries: list[Canary], engine: str = "auto", tolerance: float = LOCATION_TOLERANCE
    ) -> None:
        self.canaries = {c.id: c for c in canaries}
        self.tolerance = tolerance
        self.coords = {c.id: parse_location(c.value) for c in canaries if c.kind == "location"}
        owners: dict[bytes, list[Variant]] = {}
        for v in expand(canaries):
            owners.setdefault(v.needle, []).append(v)
        self.needles = list(owners)
        self.owners = [owners[n] for n in self.needles]
        self.scanner = Scanner(self.needles, engine)
        self._methods = {cid: self.method(cid) for cid in self.canaries}

    @property
    def engine(self) -> str:
        return self.scanner.engine

    def method(self, canary_id: str) -> str:
        runtime = self.canaries[canary_id].source == CanarySource.RUNTIME_VALUE
        return DetectionMethod.RUNTIME_VALUE if runtime else DetectionMethod.CANARY

    def find(self, views: list[View]) -> list[Hit]:
        """Verified hits in the views of one message."""
        if not self.needles or not views:
            return []
        hits: list[Hit] = []
        locs: dict[tuple[str, int, int], tuple[str, str, float]] = {}
        methods = self._methods
        for idx, vi, s, e in self.scanner.find_all(list(map(_DATA, views))):
            view = views[vi]
            data = view.data
            for var in self.owners[idx]:
                if var.role:
                    read = self._read_coordinate(data, s, var)
                    if read is not None:
                        locs.setdefault((var.canary_id, vi, s), (var.role, *read))
                    continue
                if var.in_run:
                    if not _in_base64_run(data, s, e, var.source):
                        continue
                elif not _bounded(data, s, e, var.needle):
                    continue
                var_steps = _relabel(var.steps, var.needle, view.part)
                steps = (*view.chain, *var_steps)
                hits.append(
                    Hit(
                        var.canary_id,
                        var.data_type,
                        methods[var.canary_id],
                        vi,
                        s,
                        e,
                        ">".join(steps) or "plain",
                        _confidence(var),
                    )
                )
        if locs:
            hits.extend(self._pair_locations(views, locs))
        return _outermost(hits)

    def _read_coordinate(self, data: bytes, start: int, var: Variant) -> tuple[str, float] | None:
        """The number that starts at `start`, if it is this coordinate within tolerance: (steps, confidence)."""
        if start > 0 and (data[start - 1 : start].isdigit() or data[start - 1] in b".-"):
            return None
        m = _NUMBER.match(data, start)
        if not m:
            return None
        text = m.group()
        coords = self.coords.get(var.canary_id)
        if coords is None:
            return None
        target = coords[0] if var.role == "lat" else coords[1]
        x = float(text)
        if b"." in text or b"e" in text.lower():
            if abs(x - target) < 1e-9:
                return "", 1.0
            if abs(x - target) <= self.tolerance:
                return "rounded", 0.9
            return None
        for scale in (6, 7):
            if abs(x / 10**scale - target) <= self.tolerance and len(text.lstrip(b"-")) >= scale:
                return f"e{scale}", 0.95
        return None

    def _pair_locations(
        self, views: list[View], locs: dict[tuple[str, int, int], tuple[str, str, float]]
    ) -> list[Hit]:
        """A latitude counts only with its longitude in the same container; report it where the latitude is."""
        out: list[Hit] = []
        for (cid, vi, s), (role, step, conf) in locs.items():
            if role != "lat":
                continue
            view = views[vi]
            partners = [
                (pvi, ps)
                for (pcid, pvi, ps), (prole, _, _) in locs.items()
                if pcid == cid and prole == "lon" and views[pvi].chain == view.chain
            ]
            if not partners:
                continue
            swapped = self._swapped(views, vi, s, partners)
            steps = [*view.chain]
            if step:
                steps.append(step)
            if swapped:
                steps.append("swapped")
            m = _NUMBER.match(view.data, s)
            end = m.end() if m else s
            out.append(Hit(cid, "location", self.method(cid), vi, s, end, ">".join(steps) or "plain", conf))
        return out

    @staticmethod
    def _swapped(views: list[View], vi: int, s: int, partners: list[tuple[int, int]]) -> bool:
        """Whether the longitude is written first, or the latitude sits in a field named for longitude."""
        lat_name = _last_name(views[vi].part)
        if lat_name and re.fullmatch(r"(?i)(.*[_-])?(lon|lng|long|longitude|x)", lat_name):
            return True
        if lat_name and re.fullmatch(r"(?i)(.*[_-])?(lat|latitude|y)", lat_name):
            return False
        # Nearest longitude: in the same view, or a sibling view (array element) next to it.
        same = [ps for pvi, ps in partners if pvi == vi]
        if same:
            return min(same, key=lambda ps: abs(ps - s)) < s
        siblings = [pvi for pvi, _ in partners if _parent(views[pvi].part) == _parent(views[vi].part)]
        if siblings:
            return min(siblings, key=lambda p: abs(p - vi)) < vi
        return False


def _outermost(hits: list[Hit]) -> list[Hit]:
    """Drop a hit inside a longer hit of the same canary in the same view (`31612345678` in `+31612345678`)."""
    by_key: dict[tuple[str, int], list[Hit]] = {}
    for h in hits:
        by_key.setdefault((h.canary_id, h.view), []).append(h)
    out = []
    for group in by_key.values():
        for h in group:
            if not any(
                o is not h and o.start <= h.start and h.end <= o.end and o.end - o.start > h.end - h.start
                for o in group
            ):
                out.append(h)
    return out


def _last_name(part: str) -> str | None:
    m = _LAST_NAME.search(part)
    if not m or m.group(1).startswith("["):
        return None
    return m.group(1)


def _parent(part: str) -> str:
    return re.sub(r"(\.[^.\[\]/]+|\[\d+\])$", "", part)


def hit_excerpt(view: View, hit: Hit) -> str:
    return excerpt(view.data, hit.start, hit.end)
