"""Amazon's image host, seen unattributed on a real capture of the Amazon Alexa Android app.

The capture: `tests/cfgs/default/pcap/alexa-app.pcapng` in ntop/nDPI@3b1286ab03b0c9223ac208a01868d8c1f6c0ae00
(LGPL-3.0; sha256 d0538b1b...620511c), the Alexa app on an LG phone on 2017-03-31. It is NOT kept in
tests/data: its cleartext requests carry a real account's Amazon session cookies (NOTICE.md in
tests/data/captures lists it under "Candidates checked and not kept"). `privlab import` + `analyze` +
`destinations` on it gave every Amazon host to Amazon except `ecx.images-amazon.com` (15 of its 22
cleartext requests, the app's product images), whose entity was "-": `images-amazon.com` was not in the
registry, although DuckDuckGo's entity map lists it under Amazon Technologies, Inc.
"""

from __future__ import annotations

from analysis.attribute.domains import default_namer
from analysis.attribute.entities import load_registry
from analysis.attribute.parties import classify
from analysis.attribute.parties import establish

# The hosts of the capture's 22 cleartext HTTP requests (15, 5 and 2 of them, counted by hand).
CLEARTEXT = ("ecx.images-amazon.com", "alexa.amazon.com", "connectivitycheck.android.com")


def test_amazons_image_host_belongs_to_amazon() -> None:
    reg = load_registry()
    for host in ("ecx.images-amazon.com", "images-na.ssl-images-amazon.com", "alexa.amazon.com"):
        entity = reg.entity_for_host(host)
        assert entity is not None and entity.name == "Amazon", host


def test_for_an_amazon_app_its_image_host_is_first_party_and_googles_is_not() -> None:
    # com.amazon.dee.app (the Alexa app) -> amazon.com; --owner Amazon makes every Amazon domain first party.
    reg, namer = load_registry(), default_namer()
    fp = establish(reg, namer, package="com.amazon.dee.app", declared_owner="Amazon")
    party = {h: classify(fp, reg, namer, h, reg.entity_for_host(h))[0] for h in CLEARTEXT}
    assert party["ecx.images-amazon.com"] == party["alexa.amazon.com"] == "first"
    assert party["connectivitycheck.android.com"] == "third"
