"""The mitmproxy addons in-process, mitmproxy style (taddons + tflow): options, metadata, writes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons
from mitmproxy.test import tflow

from analysis.capture.flowindex import write_flow_index
from analysis.session import Session
from analysis.session.flows import read_jsonl
from analysis.session.flows import read_mitm
from analysis.session.seal import seal_session
from analysis.session.verify import verify_session

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "addons"))

import capture  # noqa: E402
import upstream  # noqa: E402


def test_parse_target() -> None:
    assert upstream.parse_target("127.0.0.1:8443") == ("127.0.0.1", 8443)
    assert upstream.parse_target("") is None
    for bad in ("127.0.0.1", "host:0", "host:http", ":80"):
        with pytest.raises(ValueError):
            upstream.parse_target(bad)


async def test_upstream_option_errors_fail_at_startup() -> None:
    with taddons.context(upstream.UpstreamRouter()) as tctx:
        with pytest.raises(exceptions.OptionsError):
            tctx.configure(tctx.master.addons.get("upstreamrouter"), upstream_tls="nonsense")


async def test_capture_stamps_and_writes_each_flow_once(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "addon")
    s.mark("consent-accepted")
    addon = capture.Capture()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, privlab_session=str(s.path))
        done, half = tflow.tflow(resp=True), tflow.tflow()
        for f in (done, half):
            addon.request(f)
        addon.response(done)
        addon.response(done)  # a second event for the same flow must not write it twice
        addon.done()
    assert done.metadata["privlab.phase"] == "consent-accepted"
    assert half.metadata["privlab.half_finished"] is True
    ids = [f.id for f in read_mitm(s.path / "flows.mitm")]
    assert ids == [done.id, half.id]
    assert not (s.path / "flows.jsonl").exists()  # the index is built after the proxy stops
    assert write_flow_index(Session.open(s.path)) == 2
    assert [r.flow_id for r in read_jsonl(s.path / "flows.jsonl")] == ids
    seal_session(Session.open(s.path))
    assert verify_session(s.path).intact


async def test_capture_refuses_a_sealed_session(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "sealed")
    seal_session(s)
    addon = capture.Capture()
    with taddons.context(addon) as tctx:
        with pytest.raises(exceptions.OptionsError, match="sealed"):
            tctx.configure(addon, privlab_session=str(s.path))


def test_index_of_a_cut_flow_file_says_where_it_stops(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "cut")
    flows = [tflow.tflow(resp=True) for _ in range(3)]
    from mitmproxy.io import tnetstring

    for f in flows:
        s.append("flows.mitm", tnetstring.dumps(f.get_state()), kind="flow", ref=f.id)
    with open(s.path / "flows.mitm", "ab") as fh:
        fh.write(b"4223:{half a flow")  # a writer killed mid-flow
    assert write_flow_index(s) == 3
    note = Session.open(s.path).meta["capture"]["index_note"]
    assert "3 complete flows" in note and "flows.mitm" in note
    assert [r.flow_id for r in read_jsonl(s.path / "flows.jsonl")] == [f.id for f in flows]
