"""Decoding request parts into searchable views (content-encodings, containers, nested encodings)."""

from __future__ import annotations

from analysis.decode.limits import DecodeIssue
from analysis.decode.limits import DecodeLimits
from analysis.decode.views import View
from analysis.decode.views import message_views
from analysis.decode.views import request_views

__all__ = ["DecodeIssue", "DecodeLimits", "View", "message_views", "request_views"]
