"""Real captures of mobile apps made by others, imported: facts checked by hand (tests/data/captures/NOTICE.md).

`reporthar-*-first-run.har` are tweasel's (ReportHAR, MIT) captures of one app on an Android 11 emulator
and an iOS 16 device, written by mitmproxy 9.0.1's har_dump; the app talks only to SDK vendors.
`mitm_dumps/flows/diff_data.har` is mitmproxy's export of a Chrome session (MIT), used for the owner's
own hosts being first party.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.analyze.load import load_session
from analysis.analyze.stages import analyze
from analysis.capture.import_ import import_capture
from analysis.cli import main
from analysis.session.flows import read_jsonl

CAPTURES = Path(__file__).parent / "data" / "captures"
REPORTHAR = ["reporthar-android-first-run.har", "reporthar-ios-first-run.har"]
SERVERS = {
    "graph.facebook.com": "157.240.20.15",
    "api2.branch.io": "108.138.17.9",
    "cdn.branch.io": "108.138.17.81",
    "sessions.bugsnag.com": "35.190.88.7",
    "notify.bugsnag.com": "35.186.205.6",
}
OWNERS = {
    "graph.facebook.com": "Meta",
    "api2.branch.io": "Branch",
    "cdn.branch.io": "Branch",
    "sessions.bugsnag.com": "Bugsnag",
    "notify.bugsnag.com": "Bugsnag",
}


@pytest.mark.parametrize("name", REPORTHAR)
def test_reporthar_capture_imports_with_its_server_ips_and_provenance(tmp_path: Path, name: str) -> None:
    result = import_capture(CAPTURES / name, tmp_path, app="tld.sample.app")
    records = list(read_jsonl(result.session.path / "flows.jsonl"))
    assert len(records) == 16
    assert {r.host: r.server_ip for r in records} == SERVERS
    assert sum(r.host == "graph.facebook.com" for r in records) == 9
    # notify.bugsnag.com's JSON body text is 127,948 bytes as UTF-8, but the entry's bodySize and its
    # Content-Length say 127,955: har_dump did not keep that body byte for byte, and the import says so.
    (notify,) = [r for r in records if r.host == "notify.bugsnag.com"]
    assert (len(notify.request_body), notify.request_body_size) == (127948, 127955)
    # sessions.bugsnag.com likewise: 710 bytes of text, bodySize 714. The other six bodies agree.
    assert len(result.warnings) == 2
    assert (
        "entry 4" in result.warnings[0]
        and "710 bytes" in result.warnings[0]
        and "bodySize 714" in result.warnings[0]
    )
    assert "entry 15" in result.warnings[1] and "bodySize 127955" in result.warnings[1]
    made = result.session.meta["provenance"]["made_by"]
    assert (made["tool"], made["version"]) == ("mitmproxy har_dump", "0.1")
    assert "mitmproxy version mitmproxy 9.0.1" in made["detail"]
    t = result.session.meta["provenance"]["capture_time"]
    assert t["first"] == pytest.approx(1680872697.078662)  # 2023-04-07T13:04:57.078662Z, the first entry


@pytest.mark.parametrize("name", REPORTHAR)
def test_reporthar_sdk_hosts_are_third_party_for_the_app(tmp_path: Path, name: str) -> None:
    s = import_capture(CAPTURES / name, tmp_path, app="tld.sample.app").session
    analyze(s.path, show_progress=False)
    dest = load_session(s.path, refresh=False).destinations
    assert dict(zip(dest["host"], dest["entity"], strict=True)) == OWNERS
    assert set(dest["party"]) == {"third"}  # before: every host "unknown", "0 third-party"
    bugsnag = dest[dest["host"] == "notify.bugsnag.com"].iloc[0]
    assert bugsnag["parent"] == "SmartBear" and bugsnag["category"] == "crash-reporting"
    assert all("not" in r and "tld.sample.app" in r for r in dest["party_reason"])
    assert all(
        len(ips) == 1 and c[0] == "US" for ips, c in zip(dest["ips"], dest["ip_countries"], strict=True)
    )


def test_declared_first_party_domain_and_owner(tmp_path: Path) -> None:
    # The Android capture with the analyst declaring branch.io as the app's own domain: Branch's hosts
    # become first party, the others stay third; a host that stays unknown says why.
    s = import_capture(
        CAPTURES / REPORTHAR[0], tmp_path, app="tld.sample.app", first_party=["branch.io"]
    ).session
    analyze(s.path, show_progress=False)
    dest = load_session(s.path, refresh=False).destinations
    party = dict(zip(dest["host"], dest["party"], strict=True))
    assert party["api2.branch.io"] == party["cdn.branch.io"] == "first"
    assert party["graph.facebook.com"] == party["notify.bugsnag.com"] == "third"


def test_owner_hosts_are_first_party_and_unknown_hosts_say_why(ref_data: Path, tmp_path: Path) -> None:
    src = ref_data / "mitm_dumps" / "flows" / "diff_data.har"
    s = import_capture(src, tmp_path, app="com.android.chrome", owner="Google").session
    analyze(s.path, show_progress=False)
    dest = load_session(s.path, refresh=False).destinations
    party = dict(zip(dest["host"], dest["party"], strict=True))
    reason = dict(zip(dest["host"], dest["party_reason"], strict=True))
    for host in ("s0.2mdn.net", "clients4.google.com", "jnn-pa.googleapis.com"):
        assert party[host] == "first", host
    assert party["slack.com"] == party["www.vskills.in"] == "unknown"
    assert reason["slack.com"] == "slack.com is not in the entity registry and not one of the app's domains"
    out = CliRunner().invoke(main, ["destinations", str(s.path)])
    assert "3 first-party" in out.output and "unknown party slack.com" in out.output


def test_package_name_gives_the_first_party_domain() -> None:
    from analysis.attribute.parties import package_domain

    assert package_domain("com.spotify.music") == "spotify.com"
    assert package_domain("org.mozilla.firefox") == "mozilla.org"
    # Gmail is Google's: com.google.* is Google's namespace (before, "google" was treated as a platform
    # label and Google's own apps had no first-party domain, so Google Translate's calls to Google were
    # "third party"; see test_parties_on_a_real_app_privacy_report).
    assert package_domain("com.google.android.gm") == "google.com"
    assert package_domain("com.android.chrome") is None  # a platform label, not a company domain
    assert package_domain("tld.sample.app") is None
    # Country codes and multi-label public suffixes (the fixed TLD list this replaced gave None for the
    # first, "co.uk" for the second and "com.br" for the third).
    assert package_domain("de.zeit.online") == "zeit.de"
    assert package_domain("uk.co.bbc.iplayer") == "bbc.co.uk"
    assert package_domain("br.com.nubank.app") == "nubank.com.br"
    assert package_domain("nl.nos.app") == "nos.nl"
    assert package_domain("tv.twitch.android.app") == "twitch.tv"
