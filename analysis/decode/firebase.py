"""Field names for Firebase / Google Analytics for Firebase measurement bundles.

The Firebase Analytics SDK uploads protobuf batches to `app-measurement.com/a` (Android) and
`app-analytics-services.com/a` (iOS), labelled `application/x-www-form-urlencoded`. Google publishes no
schema; the field numbers here follow the community definition `app_measurement.Batch` in
lari/firebase-ga4-app-measurement-protobuf (app-measurement.proto, commit 086dbe0a09, described in
https://larihaataja.com/firebase-ga4-app-measurement-com-calls/), so a schemaless field path such as
`1.2.1.2` is reported as `bundle.event.param.string_value`, the name a reader can check against it.
"""

from __future__ import annotations

from typing import Any

# Message tree: field number -> (name, sub-message or None).
_EVENT_PARAM: dict[int, tuple[str, Any]] = {
    1: ("name", None),
    2: ("string_value", None),
    3: ("int_value", None),
}
_EVENT: dict[int, tuple[str, Any]] = {
    1: ("param", _EVENT_PARAM),
    2: ("name", None),
    3: ("timestamp_millis", None),
    4: ("previous_timestamp_millis", None),
}
_USER_PROPERTY: dict[int, tuple[str, Any]] = {
    1: ("set_timestamp_millis", None),
    2: ("name", None),
    3: ("string_value", None),
    4: ("int_value", None),
}
_BUNDLE: dict[int, tuple[str, Any]] = {
    1: ("protocol_version", None),
    2: ("event", _EVENT),
    3: ("user_property", _USER_PROPERTY),
    4: ("upload_timestamp_millis", None),
    5: ("start_timestamp_millis", None),
    6: ("end_timestamp_millis", None),
    7: ("previous_bundle_end_timestamp_millis", None),
    8: ("platform", None),
    9: ("operating_system_version", None),
    10: ("device_model", None),
    11: ("user_default_language", None),
    12: ("time_zone_offset_minutes", None),
    13: ("install_source", None),
    14: ("app_id", None),
    16: ("app_version", None),
    17: ("gmp_version", None),
    18: ("uploading_gmp_version", None),
    21: ("app_instance_id", None),
    23: ("bundle_sequential_index", None),
    25: ("gmp_app_id", None),
    26: ("previous_bundle_start_timestamp_millis", None),
    27: ("resettable_device_id", None),  # Android ID or IDFV
    30: ("firebase_instance_id", None),
    31: ("app_version_major", None),
    35: ("config_version", None),
}
BATCH: dict[int, tuple[str, Any]] = {1: ("bundle", _BUNDLE)}

MEASUREMENT_HOSTS = ("app-measurement.com", "app-analytics-services.com")


def is_measurement_upload(host: str, path: str) -> bool:
    """Whether a request is a Firebase Analytics bundle upload (`<region>.app-measurement.com/a`)."""
    host = host.lower().rstrip(".")
    on_host = any(host == h or host.endswith("." + h) for h in MEASUREMENT_HOSTS)
    return on_host and path.rstrip("/") in ("/a", "")


def name_path(numeric: str, schema: dict[int, tuple[str, Any]] = BATCH) -> str:
    """`1.2.1.2` -> `bundle.event.param.string_value`; numbers the schema does not name stay numbers."""
    names = []
    node: dict[int, tuple[str, Any]] | None = schema
    for step in numeric.split("."):
        entry = node.get(int(step)) if node is not None and step.isdigit() else None
        if entry is None:
            names.append(step)
            node = None
        else:
            names.append(entry[0])
            node = entry[1]
    return ".".join(names)
