"""Small tracker lists in each public format privlab imports, written by the tests themselves.

The real lists (Exodus Privacy's `/api/trackers`, X-Ray 2020, Disconnect's entities and services,
DuckDuckGo's Android TDS and Tracker Radar entities) may not be vendored: their licences do not allow it
or say nothing (see docs). The importers must still be tested against their exact shapes, so each list here
keeps the real file's structure, key names and value types, and a handful of its real entries, copied as
facts (owner names, domains, code signatures, countries) from these versions:

- Exodus: TrackerControl/tracker-control-android@8c119b04:app/src/main/assets/trackers.json (a copy of
  Exodus Privacy's `/api/trackers`); long Markdown descriptions shortened;
- X-Ray 2020: TrackerControl/tracker-control-android, `xray_blacklist_trackercontrol.json`; ByteDance's
  75 domains cut to 12;
- Disconnect: disconnectme/disconnect-tracking-protection@22c7d61 `entities.json`, `services.json`;
  long domain lists cut;
- DuckDuckGo: duckduckgo/tracker-blocklists@1e45ebd, `android-tds.json` and the `entities` map of
  `web/v6/extension-tds.json`; long domain lists cut.

`write_tracker_lists(root)` lays them out as the public lists are usually kept, one folder per project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_SHORTENED = " [...]"  # where a long real description was cut

# Exodus Privacy `/api/trackers`: {"trackers": {"<id>": {...}}}. Pangle's code signature `com.bytedance`
# is the fact the registry must not let turn ByteDance's own code into a third party's; Sizmek's `.sizmek.`
# is a general regex the importer must count as skipped, not guess at.
EXODUS: dict[str, Any] = {
    "trackers": {
        "12": {
            "id": 12,
            "name": "AppsFlyer",
            "description": "## Primary Location\r\nIsrael (Herzliya)\r\n\r\n## Website\r\n" + _SHORTENED,
            "creation_date": "2017-09-24",
            "code_signature": "com.appsflyer.",
            "network_signature": "appsflyer\\.com",
            "website": "http://AppsFlyer.com",
            "categories": ["Analytics"],
            "documentation": [],
        },
        "22": {
            "id": 22,
            "name": "Sizmek",
            "description": '"Sizmek (NASDAQ: SZMK) fuels digital advertising campaigns' + _SHORTENED,
            "creation_date": "2017-09-24",
            "code_signature": ".sizmek.",
            "network_signature": "serving-sys\\.com",
            "website": "https://www.sizmek.com",
            "categories": ["Analytics"],
            "documentation": [],
        },
        "35": {
            "id": 35,
            "name": "Twitter MoPub",
            "description": "## Primary location\r\nUnited States\r\n\r\n## Website\r\n" + _SHORTENED,
            "creation_date": "2017-09-27",
            "code_signature": "com.mopub.",
            "network_signature": "mopub\\.com",
            "website": "https://www.mopub.com/",
            "categories": ["Advertisement", "Analytics"],
            "documentation": [],
        },
        "49": {
            "id": 49,
            "name": "Google Firebase Analytics",
            "description": "Firebase gives you functionality like analytics, databases, messaging and crash "
            "reporting\r\n\r\n[API documentation](https://firebase.google.com/docs/reference/android/com/"
            "google/firebase/analytics/package-summary)",
            "creation_date": "2017-12-03",
            "code_signature": "com.google.firebase.analytics.FirebaseAnalytics|com.google.android.gms.measurement."
            "|com.google.firebase.firebase_analytics",
            "network_signature": "firebase\\.com|firebaselogging-pa\\.googleapis\\.com",
            "website": "https://firebase.google.com/",
            "categories": ["Analytics"],
            "documentation": [],
        },
        "66": {
            "id": 66,
            "name": "Facebook Analytics",
            "description": "",
            "creation_date": "2017-12-05",
            "code_signature": "com.facebook.appevents|com.facebook.marketing.|com.facebook.CampaignTrackingReceiver",
            "network_signature": "\\.facebook\\.com",
            "website": "https://developers.facebook.com/docs/android",
            "categories": ["Analytics"],
            "documentation": [],
        },
        "363": {
            "id": 363,
            "name": "Pangle",
            "description": "App Monetization\r\nRetrieves IMSI",
            "creation_date": "2021-02-28",
            "code_signature": "com.bytedance|com.pgl|com.pangle.global",
            "network_signature": "",
            "website": "https://www.pangleglobal.com",
            "categories": ["Advertisement"],
            "documentation": [],
        },
    }
}

# X-Ray 2020: a list of owners; `country` is the owner's headquarters, lower case, "uk" for the UK.
XRAY: list[dict[str, Any]] = [
    {
        "country": "us",
        "doms": ["tynt.com"],
        "owner_name": "tynt",
        "root_parent": "33Across",
        "parent": "33Across",
    },
    {
        "country": "us",
        "doms": ["33across.com"],
        "owner_name": "33Across",
        "root_parent": None,
        "parent": None,
    },
    {
        "country": "uk",
        "doms": ["adbrain.com", "adbrn.com"],
        "owner_name": "AdBrain",
        "root_parent": "The Trade Desk",
        "parent": "The Trade Desk",
    },
    {
        "country": "us",
        "doms": ["adsrvr.org", "thetradedesk.com"],
        "owner_name": "The Trade Desk",
        "root_parent": None,
        "parent": None,
    },
    {"country": "uk", "doms": [], "owner_name": "Deloitte", "root_parent": None, "parent": None},
    {
        "country": "us",
        "doms": ["appsflyer.com"],
        "owner_name": "AppsFlyer",
        "root_parent": None,
        "parent": None,
    },
    {
        "country": "cn",
        "doms": [
            "amemv.com",
            "bytedance.com",
            "byteoversea.com",
            "ibytedtos.com",
            "isnssdk.com",
            "musical.ly",
            "pangle.io",
            "pstatp.com",
            "snssdk.com",
            "tiktok.com",
            "tiktokcdn.com",
            "tiktokv.com",
        ],
        "owner_name": "ByteDance",
        "root_parent": None,
        "parent": None,
    },
]

_DISCONNECT_LICENSE = (
    "Copyright 2010-2026 Disconnect, Inc. / Licensed under the Creative Commons Attribution-NonCommercial-"
    "ShareAlike 4.0 International license (the \u201cLicense\u201d)." + _SHORTENED
)

# Disconnect `entities.json`: {license, entities: {name: {properties, resources}}}.
DISCONNECT_ENTITIES: dict[str, Any] = {
    "license": _DISCONNECT_LICENSE,
    "entities": {
        "33Across": {"properties": ["33across.com", "tynt.com"], "resources": ["33across.com", "tynt.com"]},
        "AppsFlyer": {"properties": ["appsflyer.com"], "resources": ["appsflyer.com"]},
        "Bytedance": {
            "properties": ["bytedance.com", "capcut.com", "pangleglobal.com", "tiktok.com", "toutiao.com"],
            "resources": ["pangle-ads.com", "tiktok.com", "tiktokcdn-us.com", "tiktokcdn.com", "tiktokv.us"],
        },
        "Google": {
            "properties": ["abc.xyz", "admeld.com", "blogger.com", "blogspot.com", "crashlytics.com"],
            "resources": ["2mdn.net", "admeld.com", "admob.com", "crashlytics.com", "doubleclick.net"],
        },
    },
}

# Disconnect `services.json`: {license, categories: {category: [{service: {site url: [domains], ...}}]}};
# "performance" is a metadata key beside the site urls, not a site.
DISCONNECT_SERVICES: dict[str, Any] = {
    "license": _DISCONNECT_LICENSE,
    "categories": {
        "Advertising": [
            {"33Across": {"http://33across.com/": ["33across.com", "tynt.com"]}},
            {"AppsFlyer": {"http://appsflyer.com/": ["appsflyer.com"]}},
            {"Bytedance": {"https://bytedance.com": ["pangle-ads.com", "tiktok.com", "tiktokv.us"]}},
        ],
        "Analytics": [
            {
                "Google": {
                    "http://www.google.com/": [
                        "analytics.google.com",
                        "crashlytics.com",
                        "google-analytics.com",
                    ]
                }
            }
        ],
        "Social": [{"Bytedance": {"https://bytedance.com": ["tiktok.com"]}}],
        "Cryptomining": [
            {
                "888new": {
                    "https://novosoft.us.com": ["analytics.blue", "feesocrald.com", "tulip18.com"],
                    "performance": "true",
                }
            }
        ],
    },
}


def _ddg_tracker(name: str, display: str, default: str = "block") -> dict[str, Any]:
    return {"owner": {"name": name, "displayName": display}, "default": default}


# DuckDuckGo Android tracker data set: {readme, version, trackers: {host: {owner, default}},
# packageNames: {app package: owner}, entities: {owner: {score, signals}}}.
DDG_ANDROID_TDS: dict[str, Any] = {
    "readme": "https://github.com/duckduckgo/tracker-blocklists",
    "version": 1688648647512,
    "trackers": {
        "a.applovin.com": _ddg_tracker("AppLovin Corporation", "AppLovin"),
        "accounts.google.com": _ddg_tracker("Google LLC", "Google", "ignore"),
        "adservice.google.com": _ddg_tracker("Google LLC", "Google"),
        "analytics.tiktok.com": _ddg_tracker("ByteDance Ltd.", "ByteDance"),
        "app.adjust.com": _ddg_tracker("Adjust GmbH", "Adjust"),
        "graph.facebook.com": _ddg_tracker("Facebook, Inc.", "Facebook", "ignore"),
    },
    "packageNames": {
        "com.adjust.insights": "Adjust GmbH",
        "com.google.android.gm": "Google LLC",
        "com.zhiliaoapp.musically": "ByteDance Ltd.",
    },
    "entities": {
        "ByteDance Ltd.": {
            "score": 1452,
            "signals": ["AAID", "unique_identifier", "cookies", "os_build_version", "app_version"],
        },
        "Google LLC": {"score": 326430, "signals": ["gps_coordinates", "email_address", "phone_number"]},
    },
}

# DuckDuckGo Tracker Radar `entities` map (from extension-tds.json): {entities: {owner: {domains, ...}}}.
DDG_ENTITIES: dict[str, Any] = {
    "_source": "duckduckgo/tracker-blocklists web/v6/extension-tds.json 'entities' map (commit 1e45ebd), "
    "a few entries copied by privlab's tests",
    "_license": "CC BY-NC-SA 4.0 (Duck Duck Go, Inc.)",
    "entities": {
        "ByteDance Ltd.": {
            "domains": [
                "bytedance.com",
                "byteimg.com",
                "pangle.io",
                "pangleglobal.com",
                "tiktokcdn.com",
                "tiktokv.com",
            ],
            "prevalence": 5.07,
            "displayName": "ByteDance",
        },
        "Google LLC": {
            "domains": ["0m66lx69dx.com", "1e100cdn.net", "2mdn.net", "admob.com", "adsense.com"],
            "prevalence": 75.3,
            "displayName": "Google",
        },
    },
}

# Where each list is written under `write_tracker_lists(root)`, as the public copies are named.
FILES: dict[str, Any] = {
    "exodus/exodus_trackers_api_dump.json": EXODUS,
    "xray/xray_blacklist_trackercontrol.json": XRAY,
    "disconnect/entities.json": DISCONNECT_ENTITIES,
    "disconnect/services.json": DISCONNECT_SERVICES,
    "duckduckgo/android-tds.json": DDG_ANDROID_TDS,
    "duckduckgo/tds_entities_top200_plus_bytedance.json": DDG_ENTITIES,
}


def write_tracker_lists(root: Path) -> Path:
    """Write every list under `root/<project>/<file>.json` (indented, as published); returns `root`."""
    for rel, data in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return root
