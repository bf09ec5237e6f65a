"""What one decoding hands on, so the flow pass does not do the same work twice: a session's repeated
values decoded once (`ValueMemo`), and the request body's JSON document read once for `app_events`.

Each reuse must give exactly what the plain path gives: the same views in the same order, the same
issues, the same app-log rows.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from analysis.analyze.stages import PASS_TABLES
from analysis.analyze.stages import _app_events_table
from analysis.analyze.stages import pass_records
from analysis.decode.bytedance_applog import _params_json
from analysis.decode.bytedance_applog import app_events
from analysis.decode.bytedance_applog import body_document
from analysis.decode.limits import DecodeLimits
from analysis.decode.views import MessageDecoder
from analysis.decode.views import ValueMemo
from analysis.detect.detector import Detector
from analysis.schema import Canary
from analysis.schema import FlowRecord
from analysis.validation import bytedance_client

# A value that decodes several layers deep: base64 of a form whose field is a URL with a query.
NESTED = base64.b64encode(
    b"adid=38400000-8cf0-11bd-b23e-10b96e40000d&next=https://a.example/x?uid=1234567890"
).decode()


def _record(
    fid: str, body: bytes = b"", headers: list[tuple[str, str]] | None = None, query: str = ""
) -> FlowRecord:
    return FlowRecord(
        flow_id=fid, t_request=1_700_000_000.0, t_response=None, client="10.0.2.16:40000",
        server_ip="192.0.2.1", server_port=443, sni="log.example", host="log.example", scheme="https",
        http_version="HTTP/1.1", method="POST", url=f"https://log.example/service/2/app_log/?{query}",
        path="/service/2/app_log/", query=query, status=200, request_headers=headers or [],
        response_headers=[], request_body_size=len(body), response_body_size=0, request_content_type=None,
        response_content_type=None, request_body=body,
    )  # fmt: skip


def _messages() -> list[FlowRecord]:
    """Requests that share values (a header, a query field, JSON leaves) and differ in others."""
    out = []
    for i in range(4):
        doc = {
            "header": {"openudid": "28ce6f2410645d51", "token": NESTED},
            "event_v3": [{"event": "e", "n": i}],
        }
        out.append(
            _record(
                f"f{i}",
                gzip.compress(json.dumps(doc).encode()),
                [("content-type", "application/json"), ("content-encoding", "gzip"), ("x-token", NESTED)],
                f"iid={7312345678901234560 + i}&device_id=6812345678901234567&sig={NESTED}",
            )
        )
    return out


def test_a_value_memo_gives_the_views_and_issues_of_a_fresh_decoding() -> None:
    memo = ValueMemo(DecodeLimits())
    for rec in _messages() * 2:
        assert MessageDecoder(memo=memo).request(rec) == MessageDecoder().request(rec)
    # The repeated values were kept (the nested base64 value under each of its parts, among others).
    assert any(key[0] == NESTED.encode() for key in memo.entries)


def test_a_replayed_value_goes_through_the_budget_of_its_message() -> None:
    # A budget too small for the message: the views past it are dropped and reported, replayed or not.
    limits = DecodeLimits(max_views=12)
    memo = ValueMemo(limits)
    for rec in _messages() * 2:
        fresh_views, fresh_issues = MessageDecoder(limits).request(rec)
        views, issues = MessageDecoder(limits, memo).request(rec)
        assert (views, issues) == (fresh_views, fresh_issues)
        assert len(views) == 12 and [i.issue for i in issues] == ["too-many-views"]


def test_a_value_that_reported_an_issue_is_not_kept() -> None:
    corrupt = base64.b64encode(b"\x1f\x8b\x08" + bytes(20)).decode()  # gzip magic, corrupt stream
    memo = ValueMemo(DecodeLimits())
    rec = _record("f", query=f"blob={corrupt}")
    views, issues = MessageDecoder(memo=memo).request(rec)
    assert [i.issue for i in issues] == ["corrupt"]
    assert not any(key[0] == corrupt.encode() for key in memo.entries)
    assert MessageDecoder(memo=memo).request(rec) == (views, issues)


def test_the_memo_holds_a_bounded_number_of_bytes() -> None:
    # 1 MB of text in 2 KB of base64 gzip (a few views, but large): not kept; the small values still are.
    inflating = base64.b64encode(gzip.compress(b"x" * 1_000_000)).decode()
    assert len(inflating) < ValueMemo.MAX_BYTES
    memo = ValueMemo(DecodeLimits())
    rec = _record("f", query=f"big={inflating}&small={NESTED}")
    assert MessageDecoder(memo=memo).request(rec) == MessageDecoder().request(rec)
    assert not any(key[0] == inflating.encode() for key in memo.entries)
    assert any(key[0] == NESTED.encode() for key in memo.entries)
    assert memo.total == sum(memo.sizes.values()) <= ValueMemo.MAX_TOTAL_BYTES


def test_a_memo_of_other_limits_is_not_used() -> None:
    memo = ValueMemo(DecodeLimits(max_depth=2))
    decoder = MessageDecoder(DecodeLimits(), memo)
    assert decoder.memo is None


def test_the_decoders_body_document_is_body_documents() -> None:
    bodies = [
        # ttEncrypt'd gzip JSON (what the TikTok client sends), and gzip JSON under a content-coding
        (bytedance_client.app_log_body({"install_id": "7312345678901234567"}, [{"event": "e"}], "s"), []),
        (gzip.compress(b'{"event_v3": [{"event": "a"}], "header": {}}'), [("content-encoding", "gzip")]),
    ]
    for body, headers in bodies:
        rec = _record("f", body, [("content-type", "application/octet-stream"), *headers])
        decoder = MessageDecoder()
        decoder.request(rec)
        assert decoder.document is not None
        assert decoder.document == body_document(rec)
        assert app_events(rec, document=decoder.document) == app_events(rec)


def test_no_body_document_when_a_step_fails_or_the_codings_disagree() -> None:
    doc = b'{"event_v3": [{"event": "a"}], "header": {}}'
    failing = [
        _record("a", b"\x1f\x8b\x08" + bytes(20)),  # a corrupt gzip stream
        _record("b", doc, [("content-encoding", "gzip")]),  # a coding the body does not have
        _record("c", b"[1, 2]"),  # JSON, not a document (`body_document` reads objects)
        # two Content-Encoding headers: `body_document` reads the first, the decoding the last
        _record("d", gzip.compress(doc), [("content-encoding", "identity"), ("content-encoding", "gzip")]),
    ]
    for rec in failing:
        decoder = MessageDecoder()
        decoder.request(rec)
        assert decoder.document is None, rec.flow_id


def test_pass_records_app_events_are_those_read_from_the_records() -> None:
    records = [*_messages(), _record("tt", bytedance_client.app_log_body({}, [{"event": "x"}], "s"))]
    canaries = [Canary("c1", "other", "6812345678901234567")]
    # every body here unwraps cleanly: its rows come from the document the decoding found
    assert all(Detector(canaries).flow(rec).document is not None for rec in records)
    tables = pass_records(records, frozenset(PASS_TABLES), Detector(canaries))
    assert tables["app_events"].num_rows == 6  # one event_v3 entry in each of 4 + launch and event in 1
    assert tables["app_events"].equals(_app_events_table(records))


def test_app_event_params_are_json_dumps_text() -> None:
    # `params` is `json.dumps(..., ensure_ascii=False, sort_keys=True, default=str)`, with the encoder made once
    circular: list[Any] = []
    circular.append(circular)
    cases: list[Any] = [
        {"b": [1, 2.5, float("nan"), None, True], "a": {"z": 'é\u2028"', "y": 2**70}, "c": {1, 2}},
        "a params string that was not JSON",
        {"k": circular},  # raises, and leaves the encoder as it was for the next one
        [{"b": 1, "a": -float("inf")}],
    ]
    for params in cases:
        try:
            expected: Any = json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)
        except ValueError as e:
            expected = ("ValueError", str(e))
        try:
            got: Any = _params_json(params)
        except ValueError as e:
            got = ("ValueError", str(e))
        assert got == expected
