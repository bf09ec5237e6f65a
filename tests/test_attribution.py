"""SDK attribution from Java stacks: first frame outside platform, runtime and libraries; longest prefix."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.attribute.entities import Registry
from analysis.attribute.entities import load_registry
from analysis.attribute.stacks import attribute_events
from analysis.attribute.stacks import attribute_stack
from analysis.attribute.stacks import deciding_frame


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry()


def frames(*classes: str) -> list[str]:
    return [f"{c}.m({c.rsplit('.', 1)[-1]}.java:1)" for c in classes]


def test_pangle_code_reading_the_clipboard(reg: Registry) -> None:
    stack = frames(
        "android.content.ClipboardManager",
        "android.content.ClipboardManager$1",
        "java.lang.reflect.Method",
        "okhttp3.internal.Interceptor",
        "com.bytedance.sdk.openadsdk.core.ClipHelper",
        "com.zhiliaoapp.musically.MainActivity",
    )
    assert attribute_stack(stack, reg) == ("Pangle", "ByteDance")


def test_first_non_platform_frame_wins_not_the_app(reg: Registry) -> None:
    stack = frames(
        "android.provider.Settings$Secure",
        "com.appsflyer.internal.AFb1xSDK",
        "com.zhiliaoapp.musically.App",
    )
    assert attribute_stack(stack, reg) == ("AppsFlyer", "AppsFlyer")
    stack = frames("android.telephony.TelephonyManager", "com.google.android.gms.ads.AdView")
    assert attribute_stack(stack, reg) == ("Google AdMob / DoubleClick", "Alphabet")
    # Play services' ad-ID client is a library every ad SDK calls: the SDK that called it decided.
    stack = frames(
        "com.google.android.gms.ads.identifier.AdvertisingIdClient$Info",
        "com.appsflyer.internal.AFb1xSDK",
    )
    assert attribute_stack(stack, reg) == ("AppsFlyer", "AppsFlyer")


def test_bytedance_own_code(reg: Registry) -> None:
    stack = frames(
        "android.location.LocationManager", "kotlin.jvm.internal.Foo", "com.ss.android.ugc.aweme.location.L"
    )
    assert attribute_stack(stack, reg) == ("ByteDance", "ByteDance")


def test_unknown_and_platform_only(reg: Registry) -> None:
    assert attribute_stack(frames("android.os.Handler", "java.lang.Thread"), reg) == (None, None)
    assert attribute_stack(frames("android.os.Handler", "com.example.tracker.Beacon"), reg) == (
        "com.example.tracker",
        None,
    )
    assert attribute_stack([], reg) == (None, None)
    assert attribute_stack(None, reg) == (None, None)


def test_raw_exception_text_and_libraries(reg: Registry) -> None:
    stack = [
        "java.lang.Exception",
        "\tat android.content.ClipboardManager.getPrimaryClip(ClipboardManager.java:12)",
        "\tat com.facebook.imagepipeline.core.Fetcher.fetch(Fetcher.java:3)",  # a library (Fresco)
        "\tat com.facebook.appevents.AppEventsLogger$2.run(AppEventsLogger.java:55)",
    ]
    assert deciding_frame(stack, reg) == "com.facebook.appevents.AppEventsLogger"
    assert attribute_stack(stack, reg) == ("Meta", "Meta")


def test_attribute_events_fills_columns(reg: Registry) -> None:
    events = pd.DataFrame(
        {
            "seq": [1, 2, 3],
            "stack": [
                frames("android.content.ClipboardManager", "com.bytedance.sdk.openadsdk.X"),
                frames("android.content.ClipboardManager", "com.bytedance.sdk.openadsdk.X"),
                [],
            ],
            "sdk": [None, None, None],
            "entity": [None, None, None],
        }
    )
    out = attribute_events(events, reg)
    assert list(out["sdk"]) == ["Pangle", "Pangle", None]
    assert list(out["entity"]) == ["ByteDance", "ByteDance", None]
    assert events["sdk"].isna().all()  # the input is not modified
