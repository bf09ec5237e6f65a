"""The control app's ByteDance probes (ttEncrypt, signature headers, mix_mode) scored like `privlab validate`.

The probes are built by the real control-app Builder and analysed by the real Detector and scorer; what is
not exercised here is the network path (the live capture is `privlab validate`, tested in test_validate.py).
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from analysis.decode import ttencrypt
from analysis.detect.detector import Detector
from analysis.detect.score import score
from analysis.schema import PROBE_HEADER
from analysis.schema import FlowRecord
from analysis.validation.control_app import Builder
from analysis.validation.control_app import Probe
from analysis.validation.planted import CANARIES


def _record(p: Probe) -> FlowRecord:
    url = p.url
    path, _, query = url.split("://", 1)[1].partition("/")[2].partition("?")
    host = url.split("://", 1)[1].split("/", 1)[0]
    headers = [*p.headers.items(), (PROBE_HEADER, p.id)]
    return FlowRecord(
        p.id, 1_700_000_000.0, None, "", None, None, None, host, "https", "HTTP/2.0", p.method, url, "/" + path,
        query, 200, headers, [], len(p.body), 0, None, None, request_body=p.body,
    )  # fmt: skip


def test_bytedance_probes_are_all_found_and_their_decoys_never() -> None:
    probes = Builder(list(CANARIES)).build()
    tt = [p for p in probes if p.body.startswith(ttencrypt.MAGIC)]
    assert len(tt) == 3  # register, app log, decoys
    signed = [p for p in probes if "x-argus" in p.headers]
    assert {h for p in signed for h in p.headers} >= {"x-argus", "x-ladon", "x-gorgon", "x-khronos"}
    mine = [p for p in probes if p in tt or p in signed or "mix_mode=1" in p.url]
    assert len(mine) == 5
    detector = Detector(list(CANARIES))
    records = [_record(p) for p in mine]
    detections = [asdict(d) for r in records for d in detector.flow(r).detections]
    flows = pd.DataFrame(
        {"flow_id": [r.flow_id for r in records],
         "request_headers": [[{"name": k, "value": v} for k, v in r.request_headers] for r in records]}
    )  # fmt: skip
    truth = [part for p in mine for part in p.planted]
    result = score(pd.DataFrame(detections), truth, flows)
    assert result.total.present == 17 and result.total.decoys == 7
    assert result.missed == [], [m.to_dict() for m in result.missed]
    assert result.decoys_reported == []
    assert result.total.recall == 1.0
    assert set(result.by_step) >= {"ttencrypt", "argus", "mixmode"}
