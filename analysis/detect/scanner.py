"""One multi-pattern automaton over all needles; Hyperscan where it exists, Aho-Corasick elsewhere.

Both engines report every occurrence of every needle, overlapping ones included, as
`(needle index, start, end)` sorted the same way, so they give identical detections (tested). Hyperscan
is x86-64 only; `ahocorasick_rs` has wheels for every platform.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

ENGINES = ("hyperscan", "ahocorasick")


def hyperscan_available() -> bool:
    """Whether the Hyperscan wheel imports on this machine."""
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


class Scanner:
    """Finds all needles in a haystack at once."""

    def __init__(self, needles: Sequence[bytes], engine: str = "auto") -> None:
        if engine == "auto":
            engine = "hyperscan" if hyperscan_available() else "ahocorasick"
        if engine not in ENGINES:
            raise ValueError(f"unknown scan engine {engine!r}; choose one of {', '.join(ENGINES)}")
        if any(not n or b"\0" in n for n in needles):
            # The Hyperscan binding passes literals as C strings; NUL is also the views' separator.
            raise ValueError("needles must be non-empty and contain no NUL byte")
        self.engine = engine
        self.needles = list(needles)
        self._lengths = [len(n) for n in self.needles]
        self._db: Any = None
        self._ac: Any = None
        if not self.needles:
            return
        if engine == "hyperscan":
            import hyperscan

            self._db = hyperscan.Database(mode=hyperscan.HS_MODE_VECTORED)
            self._db.compile(
                expressions=self.needles,
                ids=list(range(len(self.needles))),
                elements=len(self.needles),
                flags=[0] * len(self.needles),
                literal=True,
            )
            self._scratch = hyperscan.Scratch(self._db)
        else:
            import ahocorasick_rs

            self._ac = ahocorasick_rs.BytesAhoCorasick(self.needles)

    def find(self, data: bytes) -> list[tuple[int, int, int]]:
        """All occurrences in one buffer as (needle index, start, end), sorted by start, end, index."""
        return [(idx, start, end) for idx, _, start, end in self.find_all([data])]

    def find_all(self, buffers: Sequence[bytes]) -> list[tuple[int, int, int, int]]:
        """All occurrences in each of several buffers, none spanning two, as (needle, buffer, start, end).

        Hyperscan scans the buffers in place (vectored mode, no copy); Aho-Corasick scans them joined by
        a NUL byte, which no needle contains.
        """
        if not self.needles or not buffers:
            return []
        lengths = self._lengths
        raw: list[tuple[int, int, int]] = []  # (needle, global start, global end)
        if self._db is not None:

            def on_match(idx: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
                raw.append((idx, to - lengths[idx], to))

            self._db.scan(
                buffers if isinstance(buffers, list) else list(buffers),
                match_event_handler=on_match,
                scratch=self._scratch,
            )
            if not raw:
                return []
            starts = list(accumulate(map(len, buffers), initial=0))
        else:
            raw = list(self._ac.find_matches_as_indexes(b"\0".join(buffers), overlapping=True))
            if not raw:
                return []
            starts = [i + n for n, i in enumerate(accumulate(map(len, buffers), initial=0))]
        out = []
        for idx, gstart, gend in raw:
            n = bisect_right(starts, gstart) - 1
            s, e = gstart - starts[n], gend - starts[n]
            if e <= len(buffers[n]):
                out.append((idx, n, s, e))
        out.sort(key=lambda h: (h[1], h[2], h[3], h[0]))
        return out
