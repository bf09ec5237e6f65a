"""Limits on recursive decoding, and the record of a part that could not be decoded.

Decoding is recursive (a gzip body holding JSON holding base64 of protobuf ...), so every message is
decoded under a budget: a depth, a per-step output size, a compression ratio, a total output size and
a number of views. A step that would exceed one is reported as a `DecodeIssue` and skipped, so a
decompression bomb costs at most `max_output` bytes of memory and never stops the rest of the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field


@dataclass(frozen=True)
class DecodeLimits:
    """How far one message may be decoded."""

    max_depth: int = 8
    max_output: int = 32 * 1024 * 1024  # bytes out of one decompression step
    max_ratio: float = 200.0  # output/input above this, past `ratio_floor` bytes, is a bomb
    ratio_floor: int = 1024 * 1024
    max_total: int = 96 * 1024 * 1024  # bytes of views for one message
    max_views: int = 50_000
    min_base64_run: int = 16
    # A request body larger than this (sent without content-coding) is not decoded: it is searched as
    # bytes in a streaming pass of `stream_window`-byte windows (overlapping by the longest needle), so
    # its cost in memory is one window, not a decoded copy (`analysis.detect.detector`).
    stream_from: int = 8 * 1024 * 1024
    stream_window: int = 1024 * 1024


@dataclass(frozen=True)
class DecodeIssue:
    """One part of a message that was not decoded (a row of `decode_issues`)."""

    part: str
    encoding: str
    issue: str  # corrupt | bomb | too-large | too-deep | too-many-views
    detail: str


class DecodeFailure(Exception):
    """A decoding step failed; `issue` is one of the DecodeIssue kinds."""

    def __init__(self, issue: str, detail: str) -> None:
        super().__init__(detail)
        self.issue = issue
        self.detail = detail


@dataclass
class Budget:
    """What is left of the limits while one message is decoded."""

    limits: DecodeLimits
    total: int = 0
    views: int = 0
    issues: list[DecodeIssue] = field(default_factory=list)

    def report(self, part: str, chain: tuple[str, ...], issue: str, detail: str) -> None:
        self.issues.append(DecodeIssue(part, ">".join(chain) or "plain", issue, detail))
