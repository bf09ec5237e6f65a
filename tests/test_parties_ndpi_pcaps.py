"""Three real Android app captures from nDPI's test suite (LGPL-3.0, tests/data/captures/NOTICE.md), imported
as pcaps: the app's own hosts are first party, SDK vendors third party with their company, and what the
session states about servers, times, bytes and bodies is what the packets hold (checked by hand with
scapy, not with privlab; the facts are in the NOTICE).

Before this file, on these captures: a request read from a pcap had no server IP (no country, jurisdiction
"unknown"), every request of a keep-alive connection had the connection's first time, a host reached only
by cleartext HTTP counted its request bodies as its bytes (a GET was 0 bytes sent), and Apptimize,
Pushwoosh, Apteligent and the owners of Viber (Rakuten) and Webex (Cisco) were not in the registry.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.analyze.load import load_session
from analysis.analyze.stages import analyze
from analysis.capture.import_ import import_capture
from analysis.session.flows import read_jsonl

NDPI = Path(__file__).parent / "data" / "captures" / "ndpi"


def _imported(tmp_path: Path, name: str, **declared: Any) -> tuple[Any, pd.DataFrame]:
    session = import_capture(NDPI / name, tmp_path, **declared).session
    analyze(session.path, show_progress=False)
    dest = load_session(session.path, refresh=False).destinations
    assert dest is not None
    return session, dest.set_index("host")


def _countries(dest: pd.DataFrame, host: str) -> dict[str, str]:
    """ip -> geolocated country of a destinations row."""
    return dict(zip(dest.loc[host, "ips"], dest.loc[host, "ip_countries"], strict=True))


def test_viber_own_hosts_first_party_sdks_third_party(tmp_path: Path) -> None:
    session, dest = _imported(tmp_path, "viber.pcap", app="com.viber.voip")
    # The first party comes from the package name (viber.com), and the registry names its owner.
    for host in ("dl-media.viber.com", "media.cdn.viber.com"):
        assert (dest.loc[host, "party"], dest.loc[host, "entity"]) == ("first", "Rakuten")
    third = {
        "mapi.apptimize.com": ("Apptimize", "Airship"),
        "brahe.apptimize.com": ("Apptimize", "Airship"),
        "app-measurement.com": ("Firebase", "Alphabet"),
        "venetia.iad.appboy.com": ("Braze", None),
    }
    for host, (entity, parent) in third.items():
        row = dest.loc[host]
        assert (row["party"], row["entity"]) == ("third", entity), host
        assert (row["parent"] if isinstance(row["parent"], str) else None) == parent, host
    # The server each TLS connection went to (ClientHello SNI -> destination address), read by hand.
    servers = {
        "dl-media.viber.com": "54.230.93.53",
        "media.cdn.viber.com": "54.230.93.96",
        "mapi.apptimize.com": "54.69.166.226",
        "brahe.apptimize.com": "54.187.91.182",
        "app-measurement.com": "172.217.23.78",
        "venetia.iad.appboy.com": "151.101.1.130",
    }
    for host, ip in servers.items():
        assert ip in list(dest.loc[host, "ips"]), host
    # TLS only: no request became a flow; the provenance is the file's and the capture's own time range.
    imported = session.meta["import"]
    assert (imported["format"], imported["packets"], imported["flows"]) == ("pcap", 466, 0)
    t = session.meta["provenance"]["capture_time"]
    assert t["first"] == pytest.approx(1527155638.428936)  # 2018-05-24T09:53:58.428936Z
    assert t["last"] == pytest.approx(1715331688.673643)  # 2024-05-10T09:01:28.673643Z


def test_ocs_requests_keep_server_time_bytes_and_body(tmp_path: Path) -> None:
    session, dest = _imported(tmp_path, "ocs.pcap", first_party=["ocs.fr"])
    records = list(read_jsonl(session.path / "flows.jsonl"))
    # Seven request packets, one a TCP retransmission of the one before it: six requests.
    assert [(r.host, r.server_ip, r.method) for r in records] == [
        ("ocu03.labgency.ws", "178.248.208.54", "POST"),
        ("api.eu01.capptain.com", "137.135.129.206", "GET"),
        ("api.eu01.capptain.com", "137.135.129.206", "GET"),
        ("ocu03.labgency.ws", "178.248.208.54", "POST"),
        ("www.ocs.fr", "178.248.208.210", "GET"),
        ("www.ocs.fr", "178.248.208.210", "GET"),
    ]
    # The two image requests share one keep-alive connection, sent 1.6 s apart.
    assert [r.t_request for r in records[4:]] == [
        pytest.approx(1449652842.701752),
        pytest.approx(1449652844.329905),
    ]
    bodies = [hashlib.sha256(r.request_body).hexdigest() for r in records if r.method == "POST"]
    assert bodies == [
        "88c6852ea5a23487e7ff1c7b94e2b1a30bf337eac7828d1bef2fe50ba8244c6a",
        "e46a510de4762ca9f8aa20a02d7fa9c07163bf91eec2619f461916fb354c142c",
    ]
    # The declared domain is first party; Crashlytics, Google's push channel and Capptain (Microsoft's,
    # as Microsoft's own documentation says) third party; the video platform Labgency, in no list
    # cited, stays unknown, with the reason.
    assert dest.loc["www.ocs.fr", "party"] == "first"
    # The server address the requests went to, and so its country and jurisdiction (before: none).
    assert _countries(dest, "www.ocs.fr") == {"178.248.208.210": "FR"}
    assert dest.loc["www.ocs.fr", "jurisdiction"] == "EEA"
    assert (dest.loc["www.ocs.fr", "bytes_sent"], dest.loc["www.ocs.fr", "flows"]) == (5408, 2)
    assert (
        dest.loc["settings.crashlytics.com", "party"],
        dest.loc["settings.crashlytics.com", "entity"],
    ) == (
        "third",
        "Firebase Crashlytics",
    )
    assert dest.loc["mtalk.google.com", "party"] == "third"
    capptain = dest.loc["api.eu01.capptain.com"]
    assert (capptain["party"], capptain["entity"], capptain["parent"]) == (
        "third",
        "Capptain (Microsoft Mobile Engagement)",
        "Microsoft",
    )
    assert dest.loc["ocu03.labgency.ws", "party"] == "unknown"
    assert "not in the entity registry" in dest.loc["ocu03.labgency.ws", "party_reason"]
    # The Capptain SDK sent a device id in its query: found as an identifier pattern.
    detections = load_session(session.path, refresh=False).detections
    (hit,) = detections[detections["part"] == "query:deviceid"].itertuples()
    assert hit.data_type == "device_id" and "f2c993d6218f5e22fe284b2e90c82f3b" in hit.excerpt


def test_webex_own_hosts_first_party_sdks_third_party(tmp_path: Path) -> None:
    # The package (Webex Meetings' Play Store id) is the analyst's statement: the pcap does not name it.
    session, dest = _imported(tmp_path, "webex.pcap", app="com.cisco.webex.meetings")
    # Package -> cisco.com -> Cisco, whose webex.com is first party too; the address that carried
    # radcom.webex.com's SNI in this capture is Cisco's as well (same-session IP -> SNI join).
    for host in ("radcom.webex.com", "64.68.105.103"):
        assert (dest.loc[host, "party"], dest.loc[host, "entity"]) == ("first", "Cisco"), host
    assert 64 * 1024 < dest.loc["radcom.webex.com", "bytes"]  # 4 TLS connections, ~194 kB of payload
    expected = {
        "api.crittercism.com": "Apteligent (formerly Crittercism)",
        "ssl.google-analytics.com": "Google Analytics",
        "cp.pushwoosh.com": "Pushwoosh",
    }
    for host, entity in expected.items():
        assert (dest.loc[host, "party"], dest.loc[host, "entity"]) == ("third", entity), host
    records = list(read_jsonl(session.path / "flows.jsonl"))
    assert [(r.host, r.server_ip, r.path) for r in records] == [
        ("cp.pushwoosh.com", "78.46.237.91", "/json/1.3/registerDevice"),
        ("cp.pushwoosh.com", "78.46.237.91", "/json/1.3/applicationOpen"),
    ]
    assert _countries(dest, "cp.pushwoosh.com") == {"78.46.237.91": "DE"}
    assert all(b'"hwid":"a375db57ef62d1c5"' in r.request_body for r in records)
    detections = load_session(session.path, refresh=False).detections
    hwid = detections[detections["part"] == "body:request.hwid"]
    assert len(hwid) == 2 and set(hwid["data_type"]) == {"device_id"}
    # registerDevice also hands Pushwoosh the device's GCM registration token (checked by hand: 162
    # characters from `APA91bHUHQqDA1_T9`, under `push_token`)
    (token,) = detections[detections["data_type"] == "push_token"].itertuples()
    assert (token.part, token.method) == ("body:request.push_token", "pattern")
    assert "«APA91bHUHQqDA1_T9iDHsThB4W5RvAhYk" in token.excerpt
