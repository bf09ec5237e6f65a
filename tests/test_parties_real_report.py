"""First and third parties from the package name alone, on a real iOS App Privacy Report.

`tests/data/captures/reporthar-ios-app-privacy-report.ndjson` is an unchanged copy of a real App Privacy
Report (made by iOS on a device, exported by its owner; from tweaselORG/ReportHAR, MIT, see NOTICE.md).
Its `networkActivity` lines name, per app (`bundleID`), every domain the app contacted: apps that talk to
their own backend and to known SDKs. privlab cannot import this format as a session (it holds no requests,
bytes or server addresses), so the test reads the (bundle id, domain) pairs itself and classifies each
domain exactly as `privlab destinations --app BUNDLE` would: `parties.establish` with the package only
(no --first-party, no --owner), then `parties.classify` with the registry's owner of the host.

What the report says was checked by hand against the file (grep the bundle id): Audible calls
api.audible.de, www.amazon.de and Kochava; Candy Crush Saga calls mobilecrush.king.com and ams.king.com,
Meta and Unity; Google Translate calls only Google hosts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from analysis.attribute.domains import default_namer
from analysis.attribute.entities import load_registry
from analysis.attribute.parties import classify
from analysis.attribute.parties import establish

REPORT = Path(__file__).parent / "data" / "captures" / "reporthar-ios-app-privacy-report.ndjson"


@pytest.fixture(scope="module")
def parties() -> dict[str, dict[str, tuple[str, str]]]:
    """bundle id -> domain -> (party, reason), from the package name alone."""
    domains: dict[str, set[str]] = defaultdict(set)
    for line in REPORT.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["type"] == "networkActivity":
            domains[rec["bundleID"]].add(rec["domain"])
    reg, namer = load_registry(), default_namer()
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for app, hosts in domains.items():
        fp = establish(reg, namer, package=app)
        out[app] = {h: classify(fp, reg, namer, h, reg.entity_for_host(h)) for h in hosts}
    return out


def test_the_report_holds_what_was_checked_by_hand(parties: dict[str, dict[str, tuple[str, str]]]) -> None:
    lines = REPORT.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 325 and sum('"networkActivity"' in ln for ln in lines) == 179
    assert len(parties["com.audible.iphone"]) == 20
    assert len(parties["com.midasplayer.apps.candycrushsaga"]) == 42
    assert len(parties["com.google.Translate"]) == 9


def test_audible_own_backend_and_its_parent_are_first_party(
    parties: dict[str, dict[str, tuple[str, str]]],
) -> None:
    p = parties["com.audible.iphone"]
    # Before: api.audible.de and www.amazon.de "unknown" (not in the registry), amazon.com hosts "third";
    # before, Adobe's hosts were "not in the entity registry" too.
    for host in (
        "api.audible.de",
        "www.amazon.de",
        "unagi.amazon.com",
        "m.media-amazon.com",
        "msh.amazon.co.uk",
    ):
        assert p[host][0] == "first", (host, p[host])
    assert "owned by Amazon" in p["api.audible.de"][1]
    for host, owner in (("control.kochava.com", "Kochava"), ("kvinit-prod.api.kochava.com", "Kochava"),
                        ("assets.adobedtm.com", "Adobe"), ("dpm.demdex.net", "Adobe")):  # fmt: skip
        assert p[host][0] == "third" and f"owned by {owner}" in p[host][1], host
    # A CloudFront name is rented by anyone: before, Amazon's own app made it first party through AWS's parent.
    cf = p["d2w8m337vrmpdt.cloudfront.net"]
    assert cf[0] == "unknown" and cf[1].startswith("hosted at Amazon Web Services")


def test_candy_crush_backend_is_first_party_sdks_third(
    parties: dict[str, dict[str, tuple[str, str]]],
) -> None:
    p = parties["com.midasplayer.apps.candycrushsaga"]
    # The package points to midasplayer.com; the registry (X-Ray 2020) gives King both midasplayer.com and
    # king.com. Before: king.com "not in the entity registry".
    for host in ("mobilecrush.king.com", "ams.king.com"):
        assert p[host] == ("first", "owned by King, the app's owner (King)"), host
    for host, owner in (("graph.facebook.com", "Meta"), ("o-sdk.mediation.unity3d.com", "Unity"),
                        ("init.supersonicads.com", "ironSource"), ("app-measurement.com", "Firebase"),
                        ("ads.api.vungle.com", "Vungle"), ("sdk.iad-04.braze.com", "Braze"),
                        ("inappcheck.itunes.apple.com", "Apple")):  # fmt: skip
        assert p[host][0] == "third" and f"owned by {owner}" in p[host][1], host
    # Hosts no list names stay unknown and say so.
    assert p["spt.saygames.io"] == (
        "unknown",
        "saygames.io is not in the entity registry and not one of the app's domains",
    )


def test_google_translate_calls_to_google_are_first_party(
    parties: dict[str, dict[str, tuple[str, str]]],
) -> None:
    p = parties["com.google.Translate"]
    # Before: all eight googleapis/google.com hosts "third" ("which the registry does not name as publisher").
    assert {party for party, _ in p.values()} == {"first"}
    assert p["translate-pa.googleapis.com"][1] == "owned by Google, the app's owner (Google)"
