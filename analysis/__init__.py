"""privlab's analysis package: session I/O, decoding, detection, destinations, findings, reports, CLI."""

from __future__ import annotations

from analysis.errors import PrivlabError
from analysis.schema import Canary
from analysis.session import Session

__all__ = ["Canary", "PrivlabError", "Session"]
