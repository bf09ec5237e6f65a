"""`json_loads` is `json.loads` for bytes: the same document or the same exception, faster start."""

from __future__ import annotations

import codecs
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from analysis.jsontext import json_loads


def _outcome(fn: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", fn(data)
    except (ValueError, UnicodeDecodeError) as e:
        return type(e).__name__, str(e)


SAMPLES = [
    b'{"a": [1, 2.5, "x\\u00e9"]}',
    '{"naïve": "ü"}'.encode(),
    b"[]",
    b"{",
    b"[1] x",  # extra data
    b'{"a": "\xff"}',  # not UTF-8
    b'{"s": "\\ud800"}',  # a lone surrogate, escaped
    '{"s": 1}'.encode("utf-16-le"),  # `{` then NUL: UTF-16 to json's detection
    '{"s": 1}'.encode("utf-16"),  # with a BOM
    '["x"]'.encode("utf-32-le"),
    codecs.BOM_UTF8 + b'{"a": 1}',
    b"{\x00}",  # three bytes, NUL second: UTF-8 to json (its detection reads four)
    b" {}",
    b"",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_same_document_or_same_error(data: bytes) -> None:
    assert _outcome(json_loads, data) == _outcome(json.loads, data)


@given(
    st.one_of(
        st.binary(max_size=40),
        st.binary(max_size=40).map(lambda b: b"{" + b),
        st.binary(max_size=40).map(lambda b: b"[" + b),
    )
)
@settings(max_examples=400, deadline=None)
def test_same_outcome_for_any_bytes(data: bytes) -> None:
    assert _outcome(json_loads, data) == _outcome(json.loads, data)
