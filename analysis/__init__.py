"""privlab's analysis package: session I/O, decoding, detection, destinations, findings, reports, CLI.

import analysis
t = analysis.load_session("captures/sample")     # tables as pandas DataFrames
ev = analysis.load_evidence("captures/sample")   # tables + findings + coverage + seal
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from analysis.errors import PrivlabError
from analysis.schema import Canary
from analysis.session import Session

if TYPE_CHECKING:
    from analysis.analyze.evidence import load_evidence
    from analysis.analyze.load import load_session
    from analysis.analyze.load import load_sessions

__all__ = ["Canary", "PrivlabError", "Session", "load_evidence", "load_session", "load_sessions"]

# Loading tables pulls in pandas, pyarrow and the detection engines: only when asked for.
_LAZY = {
    "load_session": "analysis.analyze.load",
    "load_sessions": "analysis.analyze.load",
    "load_evidence": "analysis.analyze.evidence",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
