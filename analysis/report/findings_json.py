"""`findings.json`: the report's content as versioned, documented JSON (see docs/findings-json.md).

The bytes are deterministic: keys sorted, two-space indent, UTF-8 without escapes, a final newline,
and no build time anywhere. The same session gives the same file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def _clean(v: Any) -> Any:
    """NaN and infinities are not JSON: they become null (a missing measurement)."""
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def dumps(doc: dict[str, Any]) -> bytes:
    """The document as findings.json bytes."""
    text = json.dumps(_clean(doc), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def write_findings_json(doc: dict[str, Any], path: Path) -> Path:
    """Write findings.json; returns its path."""
    path.write_bytes(dumps(doc))
    return path
