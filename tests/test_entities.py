"""The entity registry: curated data loads, ownership lookups, party inside a conglomerate, importers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tracker_list_samples as samples

from analysis.attribute.entities import Registry
from analysis.attribute.entities import RegistryError
from analysis.attribute.entities import class_of_frame
from analysis.attribute.entities import load_registry
from analysis.attribute.entities import normalise_name
from analysis.attribute.entities.importers import detect_format
from analysis.attribute.entities.importers import read_list
from analysis.attribute.entities.importers import regex_to_host
from analysis.attribute.entities.importers import regex_to_prefix
from analysis.errors import PrivlabError

TIKTOK = "com.zhiliaoapp.musically"

# Hosts the control app sends to (TikTok-like endpoints from the 2021 code; see field-notes section 10).
BYTEDANCE_HOSTS = [
    "api-va.tiktokv.com",
    "api16-normal-c-useast1a.tiktokv.com",
    "log-va.tiktokv.com",
    "mon-sg.tiktokv.com",
    "mon.isnssdk.com",
    "im-va.tiktokv.com",
    "webcast.tiktokv.com",
    "oec-api.tiktokv.com",
    "v16m.tiktokcdn.com",
    "p16-sign-va.tiktokcdn.com",
    "sf16-scmcdn-sg.ibytedtos.com",
    "www.tiktok.com",
    "api16-normal-no1a.tiktokv.eu",  # EEA hosts
    "p16-common-sign.tiktokcdn-eu.com",
]


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry()


def test_curated_registry_loads_with_sources_for_every_fact(reg: Registry) -> None:
    assert {
        "bytedance",
        "tiktok",
        "pangle",
        "douyin",
        "lark",
        "capcut",
        "google",
        "meta",
        "appsflyer",
    } <= set(reg.entities)
    for e in reg.entities.values():
        assert e.sources, e.id
        for fact, ids in e.fact_sources:
            assert ids and all(i in reg.sources for i in ids), (e.id, fact)
        if e.legal_name:
            assert e.sources_of("legal_name"), e.id
        if e.hq_country:
            assert e.sources_of("hq_country"), e.id
        for d in e.domains:
            assert e.sources_of(f"domain:{d}"), (e.id, d)


@pytest.mark.parametrize("host", BYTEDANCE_HOSTS)
def test_bytedance_hosts_are_first_party_for_tiktok(reg: Registry, host: str) -> None:
    entity = reg.entity_for_host(host)
    assert entity is not None, host
    assert reg.root(entity).id == "bytedance"
    assert reg.root(entity).hq_country == "CN"
    assert reg.party(entity, TIKTOK) == "first"
    assert reg.party(entity, "com.ss.android.ugc.trill") == "first"


def test_tiktok_endpoint_purposes(reg: Registry) -> None:
    def purpose(host: str, path: str | None = None) -> str | None:
        ep = reg.endpoint_for(host, path)
        return ep.category if ep else None

    assert purpose("log-va.tiktokv.com", "/service/2/device_register/?aid=1233") == "device-registration"
    assert purpose("log-va.tiktokv.com", "/service/2/app_log/") == "analytics"
    assert purpose("log-va.tiktokv.com") == "analytics"
    assert purpose("mon-sg.tiktokv.com", "/monitor/collect/") == "monitoring"
    assert purpose("mon.isnssdk.com", "/monitor/collect/") == "monitoring"
    assert purpose("api16-normal-c-useast1a.tiktokv.com", "/aweme/v1/feed/") == "api"
    assert purpose("v16m.tiktokcdn.com") == "cdn"
    assert purpose("im-va.tiktokv.com") == "messaging"


def test_pangle_host_is_bytedance_owned_with_purpose_ads(reg: Registry) -> None:
    pangle = reg.entity_for_host("api16-access-sg.pangle.io")
    assert pangle is not None and pangle.id == "pangle"
    assert pangle.legal_name == "Bytedance Pte. Ltd." and pangle.hq_country == "SG"
    assert reg.root(pangle).id == "bytedance"
    ep = reg.endpoint_for("api16-access-sg.pangle.io", "/api/ad/union/sdk/get_ads/")
    assert ep is not None and ep.category == "ads"
    assert reg.party(pangle, TIKTOK) == "first"
    # ...but for an unrelated app Pangle is a third party.
    assert reg.party(pangle, "com.facebook.katana") == "third"  # published by Meta (code prefix)
    assert reg.party(pangle, "org.example.app") == "unknown"  # publisher not in the registry


@pytest.mark.parametrize(
    ("host", "root"),
    [
        ("inapps.appsflyer.com", "appsflyer"),
        ("launches.appsflyersdk.com", "appsflyer"),
        ("app-measurement.com", "alphabet"),
        ("firebaseinstallations.googleapis.com", "alphabet"),
        ("googleads.g.doubleclick.net", "alphabet"),
        ("graph.facebook.com", "meta"),
        ("app.adjust.com", "applovin"),
    ],
)
def test_vendor_hosts_are_third_party_for_tiktok(reg: Registry, host: str, root: str) -> None:
    entity = reg.entity_for_host(host)
    assert entity is not None and reg.root(entity).id == root
    assert reg.party(entity, TIKTOK) == "third"


def test_host_lookup_edges(reg: Registry) -> None:
    assert reg.entity_for_host("127.0.0.1") is None
    assert reg.entity_for_host("::1") is None
    assert reg.entity_for_host("example.org") is None
    assert reg.entity_for_host("") is None
    # Case, trailing dot and port do not matter; a look-alike suffix does not match.
    e = reg.entity_for_host("LOG-VA.TikTokV.com.:443")
    assert e is not None and e.id == "tiktok"
    assert reg.entity_for_host("nottiktokv.com") is None
    # A more specific host entry wins over its registrable domain.
    fb = reg.entity_for_host("firebaselogging-pa.googleapis.com")
    assert fb is not None and fb.id == "firebase"
    assert reg.party(None, TIKTOK) == "unknown"
    assert reg.party(reg.entities["meta"], None) == "unknown"


def test_code_prefix_longest_match(reg: Registry) -> None:
    def eid(name: str) -> str | None:
        e = reg.entity_for_class(name)
        return e.id if e else None

    assert eid("com.bytedance.sdk.openadsdk.TTAdSdk") == "pangle"
    assert eid("com.bytedance.ttnet.TTNetInit") == "bytedance"
    assert eid("com.ss.android.ugc.aweme.main.MainActivity") == "bytedance"
    assert eid("com.zhiliaoapp.musically.Foo") == "tiktok"
    assert eid("com.appsflyer.internal.AFb1xSDK") == "appsflyer"
    assert eid("com.google.android.gms.ads.AdView") == "google-ads"
    assert eid("com.google.android.gms.measurement.internal.zzkp") == "firebase"
    assert eid("com.google.android.gms.common.GoogleApiAvailability") == "google"
    assert eid("com.bytedancex.Foo") is None  # prefix on a package boundary only
    assert eid("at com.facebook.appevents.AppEventsLogger$1.run(AppEventsLogger.java:55)") == "meta"
    assert reg.party(reg.entity_for_class("com.bytedance.applog.AppLog"), TIKTOK) == "first"


def test_class_of_frame() -> None:
    assert class_of_frame("at a.b.C$1.run(C.java:3)") == "a.b.C"
    assert class_of_frame("android.os.Handler.dispatchMessage(Handler.java:106)") == "android.os.Handler"
    assert class_of_frame("com.x.Y") == "com.x.Y"
    assert class_of_frame("  at com.x.Y.z(Native Method)") == "com.x.Y"


def test_first_party_for_app(reg: Registry) -> None:
    for package in (TIKTOK, "com.ss.android.ugc.trill"):
        owner = reg.first_party_for_app(package)
        assert owner is not None and owner.id == "tiktok"
        assert reg.root(owner).id == "bytedance"
    owner = reg.first_party_for_app("com.ss.android.ugc.aweme")
    assert owner is not None and owner.id == "douyin"
    assert reg.first_party_for_app("org.example.unknown") is None


def test_libraries_are_not_sdks(reg: Registry) -> None:
    assert reg.is_library("okhttp3.internal.connection.RealCall.execute(RealCall.kt:1)")
    assert reg.is_library("com.facebook.imagepipeline.core.ImagePipeline")
    assert not reg.is_library("com.facebook.appevents.AppEventsLogger")


def test_normalise_name() -> None:
    assert normalise_name("ByteDance Ltd.") == normalise_name("Bytedance") == "bytedance"
    assert normalise_name("Facebook, Inc.") == "facebook"
    assert normalise_name("Google LLC") == "google"


# -- importers ------------------------------------------------------------------------------------


def test_regex_conversions() -> None:
    assert regex_to_host(r"\.appsflyer\.com") == "appsflyer.com"
    assert regex_to_host(r"^api\.branch\.io$") == "api.branch.io"
    assert regex_to_host(r"adservice\.google\..*") is None
    assert regex_to_prefix("com.appsflyer.") == "com.appsflyer"
    assert regex_to_prefix(".kochavaccpa.") is None


def test_importers_read_the_sample_lists(tracker_lists: Path) -> None:
    """Every list format is detected from its content and every owner in it is read."""
    lists = tracker_lists
    expected = {
        "exodus/exodus_trackers_api_dump.json": ("exodus", len(samples.EXODUS["trackers"])),
        "xray/xray_blacklist_trackercontrol.json": ("xray", len(samples.XRAY)),
        "disconnect/entities.json": ("disconnect", len(samples.DISCONNECT_ENTITIES["entities"])),
        "disconnect/services.json": ("disconnect", 5),  # 33Across, AppsFlyer, Bytedance, Google, 888new
        "duckduckgo/android-tds.json": ("duckduckgo", 5),  # owners of trackers and of app packages
        "duckduckgo/tds_entities_top200_plus_bytedance.json": ("duckduckgo", 2),
    }
    for rel, (fmt, count) in expected.items():
        imported = read_list(lists / rel)
        assert imported.format == fmt, rel
        assert len(imported.entities) == count, rel
    xray = read_list(lists / "xray/xray_blacklist_trackercontrol.json")
    bd = next(e for e in xray.entities if e.name == "ByteDance")
    assert bd.hq_country == "CN" and "tiktokv.com" in bd.domains
    assert all(e.hq_country != "UK" for e in xray.entities)  # mapped to ISO "GB"
    assert next(e for e in xray.entities if e.name == "AdBrain").hq_country == "GB"
    assert next(e for e in xray.entities if e.name == "tynt").parent_name == "33Across"
    exodus = read_list(lists / "exodus/exodus_trackers_api_dump.json")
    pangle = next(e for e in exodus.entities if e.name == "Pangle")
    assert "com.bytedance" in pangle.code_prefixes
    firebase = next(e for e in exodus.entities if e.name == "Google Firebase Analytics")
    assert "com.google.android.gms.measurement" in firebase.code_prefixes
    assert firebase.domains == ["firebase.com", "firebaselogging-pa.googleapis.com"]
    assert exodus.skipped == 1  # Sizmek's `.sizmek.` is a general regex, not a package prefix: not guessed at
    services = read_list(lists / "disconnect/services.json")
    bytedance = next(e for e in services.entities if e.name == "Bytedance")
    assert bytedance.categories == ["ads", "social-network"] and "tiktokv.us" in bytedance.domains
    miner = next(e for e in services.entities if e.name == "888new")
    assert "performance" not in miner.domains and "true" not in miner.domains
    tds = read_list(lists / "duckduckgo/android-tds.json")
    assert tds.source.date == "1688648647512"
    ddg_bd = next(e for e in tds.entities if e.name == "ByteDance Ltd.")
    assert ddg_bd.domains == ["analytics.tiktok.com"] and ddg_bd.app_packages == [TIKTOK]


def test_exodus_pangle_signature_does_not_make_bytedance_code_third_party(tracker_lists: Path) -> None:
    lists = tracker_lists
    reg = load_registry([lists / "exodus/exodus_trackers_api_dump.json"])
    for cls in (
        "com.bytedance.applog.AppLog",
        "com.bytedance.frameworks.baselib.network.Foo",
        "com.pgl.ssdk.ces",
    ):
        e = reg.entity_for_class(cls)
        assert e is not None and reg.root(e).id == "bytedance", cls
        assert reg.party(e, TIKTOK) == "first", cls
    # Exodus-only trackers are found, as third parties of unknown parent.
    mopub = reg.entity_for_class("com.mopub.mobileads.MoPubView")
    assert mopub is not None and mopub.origin.startswith("exodus:")
    assert reg.party(mopub, TIKTOK) == "third"


def test_imported_lists_never_override_curated_facts(tracker_lists: Path) -> None:
    lists = tracker_lists
    reg = load_registry(
        [
            lists / "xray/xray_blacklist_trackercontrol.json",
            lists / "duckduckgo/tds_entities_top200_plus_bytedance.json",
            lists / "disconnect/entities.json",
        ]
    )
    e = reg.entity_for_host("log-va.tiktokv.com")
    assert e is not None and e.id == "tiktok"
    # X-Ray's parent chain is kept for owners privlab does not curate.
    tynt = reg.entity_for_host("tynt.com")
    assert tynt is not None and tynt.origin.startswith("xray:") and reg.root(tynt).name == "33Across"
    # DuckDuckGo's "Google LLC" attaches its domains to the curated Google entity.
    g = reg.entity_for_host("1e100cdn.net")
    assert g is not None and g.id == "google"


def test_bad_lists_give_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PrivlabError, match="bad.json: not a JSON tracker list"):
        read_list(bad)
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"hello": 1}))
    with pytest.raises(PrivlabError, match="odd.json: not a tracker list"):
        load_registry([odd])
    with pytest.raises(PrivlabError, match="cannot read"):
        read_list(tmp_path / "missing.json")
    assert detect_format([{"owner_name": "x", "doms": []}]) == "xray"


def test_extra_toml_is_validated(tmp_path: Path) -> None:
    good = tmp_path / "mine.toml"
    good.write_text(
        '[source.me]\ntitle = "my notes"\n\n[[entity]]\nid = "acme"\nname = "Acme"\nparent = "bytedance"\n'
        '[entity.facts]\nparent = ["me"]\n[entity.domains]\n"acme.example" = ["me"]\n'
    )
    reg = load_registry([good])
    acme = reg.entity_for_host("x.acme.example")
    assert acme is not None and reg.party(acme, TIKTOK) == "first"

    unsourced = tmp_path / "unsourced.toml"
    unsourced.write_text('[[entity]]\nid = "x"\nname = "X"\nhq_country = "US"\n')
    with pytest.raises(RegistryError, match="hq_country is set but cites no source"):
        load_registry([unsourced])
    clash = tmp_path / "clash.toml"
    clash.write_text(
        '[source.me]\ntitle = "t"\n[[entity]]\nid = "y"\nname = "Y"\n[entity.domains]\n"tiktokv.com" = ["me"]\n'
    )
    with pytest.raises(RegistryError, match="claimed by both"):
        load_registry([clash])
    orphan = tmp_path / "orphan.toml"
    orphan.write_text(
        '[source.me]\ntitle = "t"\n[[entity]]\nid = "z"\nname = "Z"\nparent = "nobody"\n'
        '[entity.facts]\nparent = ["me"]\n'
    )
    with pytest.raises(RegistryError, match="unknown parent"):
        load_registry([orphan])
    broken = tmp_path / "broken.toml"
    broken.write_text("[[entity]\n")
    with pytest.raises(RegistryError, match="not valid TOML"):
        load_registry([broken])
