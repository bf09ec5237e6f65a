"""First and third parties from the package name alone, on the hosts of a real Android capture.

The capture: `flows1` in alufers/mitmproxy2swagger@c4eefda33b7b38341e46492a0ecffcd194b7bc0b (MIT), a
mitmproxy dump (flow format 18) a contributor made on 2023-04-06 of the Azul Linhas Aéreas app on an
Android 11 emulator: 205 flows, 73 of them carrying `X-Requested-With: br.com.voeazul`. It is NOT kept in
tests/data: its bodies hold the contributor's name, CPF number, e-mail and address, and he deleted the file
from the repository twelve minutes after adding it (090d70ee, "Fix options", which also git-ignores it).
What this test keeps is what was counted by hand there: each host the app contacted and its flow count.
Only host names, no request content.

Each host is classified exactly as `privlab destinations` does for `privlab import flows1 --app
br.com.voeazul` (`parties.establish` with the package only, no --first-party, no --owner; then
`parties.classify` with the registry's owner of the host). Before (main at e7a7339), that import said
"14 hosts; 0 first-party; 4 third-party": `b2c-api.voeazul.com.br`, the app's own backend, was "not one of
the app's domains", and Tealium, App Center, Dynatrace and Adobe were "not in the entity registry".
After (this branch, the same import): "14 hosts; 1 first-party; 12 third-party", DialMyApp unknown.
"""

from __future__ import annotations

import pytest

from analysis.attribute.domains import default_namer
from analysis.attribute.entities import load_registry
from analysis.attribute.parties import classify
from analysis.attribute.parties import establish

APP = "br.com.voeazul"
# host -> flows in the capture (checked by hand with mitmproxy's FlowReader; 205 in all).
FLOWS = {
    "visitor-service.tealiumiq.com": 53,
    "collect.tealiumiq.com": 34,
    "b2c-api.voeazul.com.br": 23,
    "www.google-analytics.com": 21,
    "aunica.d1.sc.omtrdc.net": 17,
    "visitor-service-us-east-1.tealiumiq.com": 17,
    "connectivitycheck.gstatic.com": 16,
    "www.google.com": 9,
    "play.googleapis.com": 7,
    "in.appcenter.ms": 3,
    "codepush.appcenter.ms": 2,
    "api-azul.dialmyapp.com": 1,
    "tags.tiqcdn.com": 1,
    "bf74062onh.bf.dynatrace.com": 1,
}
THIRD = {
    "visitor-service.tealiumiq.com": "Tealium",
    "collect.tealiumiq.com": "Tealium",
    "visitor-service-us-east-1.tealiumiq.com": "Tealium",
    "tags.tiqcdn.com": "Tealium",
    "www.google-analytics.com": "Google Analytics",
    "aunica.d1.sc.omtrdc.net": "Adobe",
    "in.appcenter.ms": "App Center",
    "codepush.appcenter.ms": "App Center",
    "bf74062onh.bf.dynatrace.com": "Dynatrace",
    "connectivitycheck.gstatic.com": "Google",
    "www.google.com": "Google",
    "play.googleapis.com": "Google",
}


@pytest.fixture(scope="module")
def parties() -> dict[str, tuple[str, str]]:
    """host -> (party, reason) for the Azul app, from its package name alone."""
    reg, namer = load_registry(), default_namer()
    fp = establish(reg, namer, package=APP)
    return {h: classify(fp, reg, namer, h, reg.entity_for_host(h)) for h in FLOWS}


def test_the_hand_count_adds_up() -> None:
    assert sum(FLOWS.values()) == 205 and len(FLOWS) == 14


def test_the_apps_own_backend_is_first_party_from_the_package_name(
    parties: dict[str, tuple[str, str]],
) -> None:
    # br.com.voeazul -> voeazul.com.br (com.br is a public suffix). Before: "unknown", domains "none".
    assert parties["b2c-api.voeazul.com.br"] == ("first", "voeazul.com.br is the app's own domain")
    assert [h for h, (p, _) in parties.items() if p == "first"] == ["b2c-api.voeazul.com.br"]


def test_every_known_sdk_host_is_third_party(parties: dict[str, tuple[str, str]]) -> None:
    for host, owner in THIRD.items():
        party, reason = parties[host]
        assert party == "third" and f"owned by {owner}" in reason, (host, parties[host])
    # App Center is Microsoft's (X-Ray 2020): the destinations table's parent column says so.
    reg = load_registry()
    center = reg.entity_for_host("in.appcenter.ms")
    assert center is not None and center.parent is not None
    assert reg.entities[center.parent].name == "Microsoft"


def test_a_host_no_list_names_stays_unknown_and_says_why(parties: dict[str, tuple[str, str]]) -> None:
    # DialMyApp's SDK (its request's User-Agent is "br.com.voeazul.DMA/..."): in none of the lists cited.
    assert parties["api-azul.dialmyapp.com"] == (
        "unknown",
        "dialmyapp.com is not in the entity registry and not one of the app's domains",
    )
