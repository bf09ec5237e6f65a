"""Every form a ground-truth value can take when an app sends it: the needles of the automaton.

A `Variant` is one byte string to search for and the transform steps that make it from the canary's
value, outermost first, in the vocabulary of `vocabulary.EncodingStep` (`sha256>lower`: the SHA-256 of
the lowercased value). Variants cover case, separators, percent-encoding, JSON escaping, hex, base64
standard and URL-safe (whole, and the three alignments inside a longer base64 run), MD5/SHA-1/SHA-256
of the value and of its normal forms, and hashes of hashes. Locations are expanded by
`location_variants` into number prefixes that `canary.py` verifies against a tolerance.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote
from urllib.parse import quote_plus

from analysis.schema import Canary
from analysis.vocabulary import DataType
from analysis.vocabulary import EncodingStep

MIN_TEXT = 5  # shorter needles match by chance
MIN_RUN_FRAGMENT = 8

HASHES = ("md5", "sha1", "sha256")
# Kinds whose separators (":", "-", " ", ...) are formatting, not content.
SEPARATED_KINDS = frozenset(
    {
        DataType.IMEI,
        DataType.ANDROID_ID,
        DataType.ADVERTISING_ID,
        DataType.MAC,
        DataType.SERIAL,
        DataType.IMSI,
        DataType.ICCID,
        DataType.PHONE,
        DataType.VENDOR_ID,
    }
)
_SEPARATORS = re.compile(r"[\s:\-./()]")


@dataclass(frozen=True)
class Variant:
    """One needle for one canary."""

    canary_id: str
    data_type: str
    needle: bytes
    steps: tuple[str, ...]  # value transforms, outermost first; () = the value as planted
    in_run: bool = False  # a fragment inside a longer base64 run: checked by decoding the run
    role: str = ""  # for locations: "lat" or "lon"
    source: bytes = b""  # for `in_run`: the bytes the fragment encodes


def _digest(name: str, data: bytes) -> bytes:
    return hashlib.new(name, data).digest()


def base64_fragments(data: bytes, urlsafe: bool = False) -> list[bytes]:
    """The base64 characters that encode `data` at each of the three offsets inside a longer run.

    Only characters whose 6 bits come wholly from `data` are kept, so the fragment matches wherever
    `data` sits in the encoded stream, whatever bytes surround it.
    """
    enc = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    out = []
    for pad in range(3):
        n = pad + len(data)
        encoded = enc(b"\0" * pad + data)
        start = (0, 2, 3)[pad]
        end = 4 * (n // 3) + (0, 1, 2)[n % 3]
        frag = encoded[start:end]
        if len(frag) >= MIN_RUN_FRAGMENT:
            out.append(frag)
    return out


Form = tuple[tuple[str, ...], str]  # (steps from the value, the written form)

# Steps for forms that re-write a value rather than encode it (named in `analysis.vocabulary.EncodingStep`):
# `(555) 201-4477` national, `+1 555-201-4477` international, `15552014477` digits, an Android ID in
# decimal, an install id in hex (hexint), zero-padded to 16 digits (pad), an IMEI without its check digit
# (nocheck), an e-mail with Gmail dots and +tags removed (canonical).
FORM_STEPS: tuple[EncodingStep, ...] = (
    EncodingStep.NATIONAL,
    EncodingStep.INTERNATIONAL,
    EncodingStep.DIGITS,
    EncodingStep.DECIMAL,
    EncodingStep.HEXINT,
    EncodingStep.PAD,
    EncodingStep.NOCHECK,
    EncodingStep.CANONICAL,
)


def _phone_forms(value: str) -> list[Form]:
    """E.164, national, international and digits-only writings of a phone number (`phonenumbers`)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return []
    if not phonenumbers.is_possible_number(number):
        return []
    fmt = phonenumbers.PhoneNumberFormat
    e164 = phonenumbers.format_number(number, fmt.E164)
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    nsn = phonenumbers.national_significant_number(number)
    return [
        ((), e164),
        (("national",), national),
        (("digits", "national"), re.sub(r"\D", "", national)),
        (("international",), phonenumbers.format_number(number, fmt.INTERNATIONAL)),
        (("digits",), e164[1:]),
        (("digits",), nsn),
        (("digits",), "00" + e164[1:]),
    ]


_HEX_INT = re.compile(r"[0-9a-fA-F]{8,16}")
_DEC_INT = re.compile(r"[0-9]{6,20}")


def _integer_forms(value: str) -> list[Form]:
    """A 64-bit id in the other base: hex <-> decimal (signed and unsigned), either case, zero-padded."""
    v = value.strip()
    out: list[Form] = []
    if _DEC_INT.fullmatch(v) and int(v) < 1 << 64:
        n = int(v)
        h = f"{n:x}"
        out += [(("hexint",), h), (("upper", "hexint"), h.upper())]
        out += [(("pad", "hexint"), f"{n:016x}"), (("upper", "pad", "hexint"), f"{n:016X}")]
    elif _HEX_INT.fullmatch(v) and not v.isdigit():
        n = int(v, 16)
        out.append((("decimal",), str(n)))
        if len(v) == 16 and n >= 1 << 63:
            out.append((("decimal",), str(n - (1 << 64))))  # Java's signed long
        if len(v) < 16:
            out += [(("pad",), v.lower().zfill(16)), (("upper", "pad"), v.upper().zfill(16))]
    return out


def _imei_forms(value: str) -> list[Form]:
    digits = re.sub(r"\D", "", value)
    return [(("nocheck",), digits[:14])] if len(digits) == 15 else []


def _mac_forms(value: str) -> list[Form]:
    # Another separator is the same MAC written differently, not a transform of it.
    out: list[Form] = []
    for sep in (":", "-"):
        for form in (value, value.lower(), value.upper()):
            out.append(((), _SEPARATORS.sub(sep, form)))
    return out


_GMAIL = frozenset({"gmail.com", "googlemail.com"})


def _email_forms(value: str) -> list[Form]:
    """Trimmed and lower-cased (every SDK); Gmail local part without dots and `+tag` (Google's rule)."""
    local, at, domain = value.strip().lower().rpartition("@")
    if not at:
        return []
    out: list[Form] = [(("lower",), f"{local}@{domain}")]
    if domain in _GMAIL:
        out.append((("canonical",), f"{local.split('+', 1)[0].replace('.', '')}@{domain}"))
    elif "+" in local:
        out.append((("canonical",), f"{local.split('+', 1)[0]}@{domain}"))
    return out


# The forms each kind is also sent in, beyond the value, its case and its separators: one table.
KIND_FORMS: dict[str, tuple[Callable[[str], list[Form]], ...]] = {
    "phone": (_phone_forms,),
    "android_id": (_integer_forms,),
    "vendor_id": (_integer_forms,),
    "serial": (),
    "imei": (_imei_forms,),
    "mac": (_mac_forms,),
    "email": (_email_forms,),
    "other": (_integer_forms,),
}


def normal_forms(value: str, kind: str) -> list[Form]:
    """The value and the forms apps normalise it to before sending or hashing it, as (steps, form)."""
    forms: list[Form] = []

    def add(steps: tuple[str, ...], form: str) -> None:
        if form and all(form != f for _, f in forms):
            forms.append((steps, form))

    v = value.strip()
    add((), v)
    add(("lower",), v.lower())
    add(("upper",), v.upper())
    if kind in SEPARATED_KINDS and _SEPARATORS.search(v):
        bare = _SEPARATORS.sub("", v)
        add(("nosep",), bare)
        add(("lower", "nosep"), bare.lower())
        add(("upper", "nosep"), bare.upper())
        if kind == "phone" and bare.startswith("+"):
            add(("nosep",), bare[1:])
    if kind == "phone" and v.startswith("+"):
        add(("nosep",), v[1:])
    for rule in KIND_FORMS.get(kind, ()):
        for steps, form in rule(v):
            add(steps, form)
    return forms


def _text_needles(form: str) -> list[tuple[bytes, tuple[str, ...]]]:
    raw = form.encode()
    out: list[tuple[bytes, tuple[str, ...]]] = [(raw, ())]
    for q, steps in ((quote(form, safe=""), ("url",)), (quote_plus(form, safe=""), ("url",))):
        if q != form:
            out.append((q.encode(), steps))
    escaped = json.dumps(form)[1:-1]
    if escaped != form:
        out.append((escaped.encode(), ()))  # JSON escaping inside text a JSON parser did not read
    return out


def canary_variants(canary: Canary) -> list[Variant]:
    """All needles for one (non-location) canary, without duplicates."""
    seen: dict[bytes, Variant] = {}

    def add(needle: bytes, steps: tuple[str, ...], source: bytes = b"") -> None:
        if len(needle) < (MIN_RUN_FRAGMENT if source else MIN_TEXT) or b"\0" in needle:
            return
        old = seen.get(needle)
        # Keep the simplest explanation of a needle (fewest steps): `lower` of a lowercase value is the value.
        if old is None or len(steps) < len(old.steps):
            seen[needle] = Variant(canary.id, canary.kind, needle, steps, bool(source), source=source)

    forms = normal_forms(canary.value, canary.kind)
    for steps, form in forms:
        raw = form.encode()
        for needle, text_steps in _text_needles(form):
            add(needle, (*text_steps, *steps))
        add(raw.hex().encode(), ("hex", *steps))
        add(raw.hex().upper().encode(), ("upper", "hex", *steps))
        # Base64 of the value, whole or anywhere in a longer run: the fragments, verified by decoding.
        for frag in base64_fragments(raw):
            add(frag, ("base64", *steps), source=raw)
        for frag in base64_fragments(raw, urlsafe=True):
            add(frag, ("base64url", *steps), source=raw)
        for h in HASHES:
            digest = _digest(h, raw)
            add(digest.hex().encode(), (h, *steps))
            add(digest.hex().upper().encode(), ("upper", h, *steps))
            add(base64.b64encode(digest), ("base64", h, *steps))
            add(base64.b64encode(digest).rstrip(b"="), ("base64", h, *steps))
            add(base64.urlsafe_b64encode(digest).rstrip(b"="), ("base64url", h, *steps))
            if len(steps) <= 1:
                # Hashes of hashes (SHA-256 of an MD5, as ad pixels send e-mail addresses).
                for outer in HASHES:
                    add(_digest(outer, digest.hex().encode()).hex().encode(), (outer, h, *steps))
    return list(seen.values())


# -- locations -------------------------------------------------------------------------------------

LOCATION_TOLERANCE = 0.005  # degrees (~550 m of latitude): a coordinate this close is the same place


def parse_location(value: str) -> tuple[float, float] | None:
    """`"lat,lon"` as two floats in range, or None."""
    parts = [p.strip() for p in re.split(r"[,;\s]+", value.strip()) if p.strip()]
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _prefixes(x: float, tol: float) -> set[str]:
    """Leading characters shared by every decimal/E6/E7 writing of numbers within `tol` of `x`."""
    out: set[str] = set()
    for y in (x - tol, x, x + tol):
        # Degrees: the integer part, the point and 2 decimals (tolerance is well under 0.01).
        sign = "-" if y < 0 else ""
        whole = int(abs(y) * 100) / 100
        out.add(f"{sign}{whole:.2f}")
        for scale in (6, 7):
            scaled = str(int(abs(y) * 10**scale))
            keep = max(len(scaled) - scale + 2, 3)  # same 2 decimals' worth of digits
            out.add(sign + scaled[:keep])
    return out


def location_variants(canary: Canary, tol: float = LOCATION_TOLERANCE) -> list[Variant]:
    """Prefix needles for a location's latitude and longitude; `canary.py` reads and checks the number."""
    coords = parse_location(canary.value)
    if coords is None:
        return []
    out = []
    for role, x in zip(("lat", "lon"), coords, strict=True):
        for prefix in sorted(_prefixes(x, tol)):
            if len(prefix.lstrip("-")) >= 3:
                out.append(Variant(canary.id, canary.kind, prefix.encode(), (), role=role))
    return out


def expand(canaries: list[Canary]) -> list[Variant]:
    """Needles for every canary."""
    out: list[Variant] = []
    for c in canaries:
        out.extend(location_variants(c) if c.kind == "location" else canary_variants(c))
    return out
