"""Which SDK's code made an access: the first stack frame outside the platform, attributed by package.

A Java stack from a hook reads innermost first: the hooked platform method, then its callers. The
first frame that is not Android, Java/Kotlin runtime, or a general-purpose library (networking, JSON,
images: see the registry's `[library]` table) is the code that decided to make the call; the registry
maps it to an entity by the longest package prefix. Unknown code is named by its package.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.attribute.entities import Registry
from analysis.attribute.entities import class_of_frame

# The Android platform and the Java/Kotlin runtime: never the decision-maker.
PLATFORM_PREFIXES = (
    "android.",
    "androidx.",
    "com.android.",
    "dalvik.",
    "java.",
    "javax.",
    "jdk.",
    "kotlin.",
    "kotlinx.",
    "libcore.",
    "sun.",
    "org.apache.harmony.",
    "org.xmlpull.",
    "com.google.android.collect.",
    "$Proxy",
    "re.frida.",  # the instrumentation itself
)


def is_platform(class_name: str) -> bool:
    """True for Android platform and Java/Kotlin runtime classes."""
    return class_name.startswith(PLATFORM_PREFIXES) or class_name in ("", "<unknown>")


def deciding_frame(stack: Sequence[str], registry: Registry) -> str | None:
    """The class of the first frame outside the platform, runtime and libraries, or None."""
    for frame in stack:
        cls = class_of_frame(str(frame))
        if not cls or "." not in cls and not cls.isidentifier():
            continue  # not a frame ("java.lang.Exception" header lines are platform anyway)
        if is_platform(cls) or registry.is_library(cls):
            continue
        return cls
    return None


def _package(cls: str, depth: int = 3) -> str:
    parts = cls.split(".")[:-1] or cls.split(".")
    return ".".join(parts[:depth])


def attribute_stack(stack: Sequence[str] | None, registry: Registry) -> tuple[str | None, str | None]:
    """(sdk, entity) for a Java stack: the deciding frame's entity name and its ultimate parent's name.

    Unknown code gives (its package, None); a stack with only platform frames gives (None, None).
    """
    if not stack:
        return None, None
    cls = deciding_frame(stack, registry)
    if cls is None:
        return None, None
    entity = registry.entity_for_class(cls)
    if entity is None:
        return _package(cls), None
    return entity.name, registry.root(entity).name


def attribute_events(hook_events: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """A copy of a HOOK_EVENTS frame with `sdk` and `entity` filled from each row's `stack`."""
    out = hook_events.copy()
    cache: dict[tuple[str, ...], tuple[str | None, str | None]] = {}
    sdks: list[str | None] = []
    entities: list[str | None] = []
    for stack in out["stack"] if "stack" in out else []:
        key = tuple(str(f) for f in stack) if stack is not None else ()
        if key not in cache:
            cache[key] = attribute_stack(list(key), registry)
        sdk, entity = cache[key]
        sdks.append(sdk)
        entities.append(entity)
    out["sdk"] = pd.Series(sdks, index=out.index, dtype=object)
    out["entity"] = pd.Series(entities, index=out.index, dtype=object)
    return out
