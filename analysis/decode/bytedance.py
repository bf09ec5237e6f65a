"""ByteDance's request signatures and `mix_mode` fields, decoded where the public algorithms allow.

Every TikTok API call carries signature headers computed by the security SDK (metasec, `libmetasec_ov.so`):

| header     | what it is                                              | what privlab reads                          |
|------------|---------------------------------------------------------|---------------------------------------------|
| X-Khronos  | the Unix time of the request, decimal                   | the time                                    |
| X-Gorgon   | a keyed digest of query, body stub, cookie and time      | the version prefix (`8404`, `0404`, ...);   |
|            | (hex; 4 hex version, 8 fixed, 40 digest)                | the digest input is hashes only             |
| X-Ladon    | base64 of 4 random bytes + Speck-128/256 of "ts-lc_id-aid" | decrypted when the app id is known         |
|            | keyed by MD5(random + aid)                              | (query `aid`, else TikTok's known app ids)  |
| X-Argus    | base64 of AES-CBC(fixed key) over an XOR'd, reversed,    | decrypted when it was built with the public |
|            | Simon-128/256-encrypted protobuf (device id, app id,    | constants; the protobuf becomes views       |
|            | license id, SDK version, time, SM3 hashes of query/body)| (`header:x-argus:protobuf:5` = device id)   |
| X-Helios   | another metasec digest (base64)                         | classified only: no public algorithm        |
| X-Medusa   | a large metasec report (base64)                         | classified only: no public algorithm        |

The algorithms were read from public reimplementations: iqbalmh18/tiktok-signer 1.4.0 (MIT; `lib/ladon.py`,
`lib/argus.py`, `lib/gorgon.py`, `lib/utils/simon.py`) and the same Ladon code in several other public signer
repositories. Speck and Simon are the standard NSA lightweight ciphers (128-bit block, 256-bit key, 34 and 72
rounds); the code below is written from their specification. One difference is deliberate: tiktok-signer
1.4.0's Ladon key schedule rotates with `shifted or low` (a right shift unless it is zero), where the other
public implementations and the cipher rotate (`shifted | low`); privlab follows the cipher.

The Argus keys below are the constants the public implementation uses. A header from an SDK that derives
other keys does not decrypt: the PKCS#7 and protobuf checks fail and the header is reported as opaque.

`mix_mode=1` (login and passport forms): each value's UTF-8 bytes are XOR'd with 5 and written as hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes

from analysis.decode.protobuf import encode_varint
from analysis.decode.protobuf import parse_message
from analysis.decode.text import is_printable_text

SIGNATURE_HEADERS = ("x-argus", "x-ladon", "x-gorgon", "x-khronos", "x-helios", "x-medusa")
SIGNATURE_CLASS = "bytedance-request-signature"

# App ids (`aid`) of ByteDance apps, tried for X-Ladon when the query does not name one: TikTok (1233),
# TikTok Lite (1340), Musical.ly/TikTok M (1180), Douyin (1128), Douyin Lite (2329).
KNOWN_AIDS = (1233, 1180, 1340, 1128, 2329)

_M64 = (1 << 64) - 1

# -- Speck-128/256 (X-Ladon) ------------------------------------------------------------------------


def _ror(x: int, r: int) -> int:
    return ((x >> r) | (x << (64 - r))) & _M64


def _rol(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _speck_keys(key: bytes) -> list[int]:
    """34 round keys of Speck-128/256 for a 32-byte key (little-endian words)."""
    k, *ls = struct.unpack("<4Q", key)
    out = [k]
    for i in range(33):
        l_new = ((k + _ror(ls[i], 8)) & _M64) ^ i
        ls.append(l_new)
        k = _rol(k, 3) ^ l_new
        out.append(k)
    return out


def _ladon_blocks(key: bytes, data: bytes, encrypt: bool) -> bytes:
    rk = _speck_keys(key)
    out = bytearray()
    for off in range(0, len(data), 16):
        x, y = struct.unpack("<2Q", data[off : off + 16])  # x: first word, y: second (as the client)
        if encrypt:
            for k in rk:
                y = k ^ ((x + _ror(y, 8)) & _M64)
                x = y ^ _rol(x, 3)
        else:
            for k in reversed(rk):
                x = _ror(x ^ y, 3)
                y = _rol(((y ^ k) - x) & _M64, 8)
        out += struct.pack("<2Q", x, y)
    return bytes(out)


def _ladon_key(rand: bytes, aid: int | str) -> bytes:
    return hashlib.md5(rand + str(aid).encode()).hexdigest().encode()


def _pad(data: bytes) -> bytes:
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes | None:
    if not data or len(data) % 16:
        return None
    n = data[-1]
    if not 1 <= n <= 16 or data[-n:] != bytes([n]) * n:
        return None
    return data[:-n]


def ladon_encrypt(ts: int, lc_id: int, aid: int, rand: bytes) -> str:
    """An X-Ladon value: `ts-lc_id-aid` encrypted under MD5(rand + aid), rand (4 bytes) in front."""
    plain = f"{ts}-{lc_id}-{aid}".encode()
    return base64.b64encode(rand + _ladon_blocks(_ladon_key(rand, aid), _pad(plain), True)).decode()


_LADON_TEXT = re.compile(rb"(\d{9,11})-(\d+)-(\d+)")


def ladon_decrypt(value: str, aids: Iterable[int | str] = KNOWN_AIDS) -> str | None:
    """The `ts-lc_id-aid` inside an X-Ladon value, trying each app id; None if none fits."""
    raw = _b64(value)
    if raw is None or len(raw) < 20 or (len(raw) - 4) % 16:
        return None
    rand, ct = raw[:4], raw[4:]
    for aid in dict.fromkeys(str(a) for a in aids):
        plain = _unpad(_ladon_blocks(_ladon_key(rand, aid), ct, False))
        m = _LADON_TEXT.fullmatch(plain or b"")
        if m and m.group(3).decode() == aid:
            return plain.decode() if plain else None
    return None


# -- Simon-128/256 and the X-Argus envelope ---------------------------------------------------------

_SIMON_Z4 = 0x3DC94C3A046D678B  # the z4 constant sequence of Simon-128/256


def _simon_keys(key: bytes) -> list[int]:
    k = list(struct.unpack("<4Q", key))
    for i in range(4, 72):
        tmp = _ror(k[i - 1], 3) ^ k[i - 3]
        tmp ^= _ror(tmp, 1)
        k.append((~k[i - 4] & _M64) ^ tmp ^ ((_SIMON_Z4 >> ((i - 4) % 62)) & 1) ^ 3)
    return k


def _simon_blocks(key: bytes, data: bytes, encrypt: bool) -> bytes:
    rk = _simon_keys(key)
    out = bytearray()
    for off in range(0, len(data), 16):
        a, b = struct.unpack("<2Q", data[off : off + 16])
        if encrypt:
            for k in rk:
                a, b = b, a ^ (_rol(b, 1) & _rol(b, 8)) ^ _rol(b, 2) ^ k
        else:
            for k in reversed(rk):
                a, b = b ^ (_rol(a, 1) & _rol(a, 8)) ^ _rol(a, 2) ^ k, a
        out += struct.pack("<2Q", a, b)
    return bytes(out)


# Constants of the public X-Argus implementation (tiktok-signer 1.4.0 lib/argus.py): the AES key and IV
# are MD5 of the two halves of SIGN_KEY; SIMON_KEY encrypts the protobuf; the envelope has a fixed
# 9-byte head, an 8-byte XOR mask and a 2-byte tail.
_ARGUS_SIGN_KEY = bytes.fromhex("ac1adaae95a7af94a5114ab3b3a97dd80050aa0a39314c40528caec95256c28c")
_ARGUS_SIMON_KEY = bytes.fromhex("fc78e0a9657a0c748ce51559903ccf03510e51d3cff232d71343e88a321c5304")
_ARGUS_HEAD = bytes.fromhex("a66ead9f7701d00c18")
_ARGUS_MASK = bytes.fromhex("f2f7fcfff2f7fcff")
_ARGUS_TAIL = b"ao"
_ARGUS_PREFIX = b"\xf2\x81"


def _argus_aes(data: bytes, encrypt: bool) -> bytes:
    key = hashlib.md5(_ARGUS_SIGN_KEY[:16]).digest()
    iv = hashlib.md5(_ARGUS_SIGN_KEY[16:]).digest()
    c = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def argus_encrypt(protobuf: bytes) -> str:
    """An X-Argus value around a serialised protobuf, as the public implementation builds it."""
    enc = _simon_blocks(_ARGUS_SIMON_KEY, _pad(protobuf), True)
    mixed = bytearray(_ARGUS_MASK + enc)
    for i in range(8, len(mixed)):
        mixed[i] ^= mixed[i % 8]
    inner = _ARGUS_HEAD + bytes(reversed(mixed)) + _ARGUS_TAIL
    return base64.b64encode(_ARGUS_PREFIX + _argus_aes(_pad(inner), True)).decode()


def argus_decrypt(value: str) -> bytes | None:
    """The protobuf inside an X-Argus value, or None when it is not in the public format."""
    raw = _b64(value)
    if raw is None or not raw.startswith(_ARGUS_PREFIX) or (len(raw) - 2) % 16 or len(raw) < 34:
        return None
    inner = _unpad(_argus_aes(raw[2:], False))
    if inner is None or len(inner) < len(_ARGUS_HEAD) + 8 + 16 + 2:
        return None
    mixed = bytearray(reversed(inner[len(_ARGUS_HEAD) : -len(_ARGUS_TAIL)]))
    for i in range(8, len(mixed)):
        mixed[i] ^= mixed[i % 8]
    enc = bytes(mixed[8:])
    if len(enc) % 16:
        return None
    pb = _unpad(_simon_blocks(_ARGUS_SIMON_KEY, enc, False))
    if pb is None or not parse_message(pb, 4):
        return None
    return pb


def protobuf_encode(fields: dict[int, object]) -> bytes:
    """A protobuf message from {field number: int | str | bytes | nested dict} (enough for X-Argus)."""
    out = bytearray()
    for no, val in fields.items():
        if isinstance(val, bool | int):
            out += encode_varint((no << 3) | 0) + encode_varint(int(val) & _M64)
            continue
        if isinstance(val, dict):
            data = protobuf_encode(val)
        elif isinstance(val, str):
            data = val.encode()
        elif isinstance(val, bytes):
            data = val
        else:
            raise TypeError(f"protobuf field {no}: {type(val).__name__} is not encodable")
        out += encode_varint((no << 3) | 2) + encode_varint(len(data)) + data
    return bytes(out)


# -- X-Khronos and X-Gorgon -------------------------------------------------------------------------

_GORGON = re.compile(r"[0-9a-fA-F]{52}")


def khronos_time(value: str) -> int | None:
    """The Unix time in an X-Khronos value (decimal seconds), or None when it is not one."""
    v = value.strip()
    if not v.isdigit() or not 9 <= len(v) <= 11:
        return None
    return int(v)


def gorgon_version(value: str) -> str | None:
    """The version prefix of an X-Gorgon value (`8404`, `0404`, ...): its first four hex digits."""
    v = value.strip()
    return v[:4].lower() if _GORGON.fullmatch(v) else None


# -- mix_mode ---------------------------------------------------------------------------------------

_HEX = re.compile(rb"(?:[0-9a-fA-F]{2})+")


def mix_mode_encode(text: str) -> str:
    """A value as `mix_mode=1` sends it: each UTF-8 byte XOR 5, as lowercase hex."""
    return bytes(b ^ 5 for b in text.encode()).hex()


def mix_mode_decode(raw: bytes) -> bytes | None:
    """The text of a `mix_mode=1` value, or None when it is not hex or does not decode to text."""
    if len(raw) < 2 or not _HEX.fullmatch(raw):
        return None
    out = bytes(b ^ 5 for b in binascii.unhexlify(raw))
    return out if is_printable_text(out) else None


# -- what a request's ByteDance layers say ----------------------------------------------------------


@dataclass(frozen=True)
class SignatureView:
    """Decoded content of one ByteDance layer of a request, to be scanned like any view.

    `container` is "protobuf" when `data` is a serialised message, else None (text).
    """

    part: str
    chain: tuple[str, ...]
    data: bytes
    container: str | None = None


@dataclass(frozen=True)
class SignatureHeader:
    """One signature header of a request, classified and, where possible, decoded."""

    name: str  # lower case
    decoded: bool
    detail: str  # what was read ("time 1700000000", "version 8404", "aid 1233 lc_id ...") or why not


def _b64(value: str) -> bytes | None:
    v = value.strip()
    try:
        return base64.b64decode(v + "=" * (-len(v) % 4), validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
        except (binascii.Error, ValueError):
            return None


def _pairs(text: bytes, sep: bytes) -> list[tuple[str, bytes]]:
    out = []
    # without a `%`, percent-decoding leaves every name and value as it is (`[0]`: `views.base64_label`)
    escaped = b"%"[0] in text
    for item in text.split(sep):
        name, eq, raw = item.strip().partition(b"=")
        if eq:
            if escaped:
                name, raw = unquote_to_bytes(name), unquote_to_bytes(raw)
            out.append((name.decode("utf-8", "replace"), raw))
    return out


def query_aids(query: str) -> list[str]:
    """The `aid` / `app_id` values a query names (the key for X-Ladon)."""
    # surrogatepass: a query read from non-UTF-8 bytes (a hook's plaintext) holds lone surrogates.
    raw = query.encode("utf-8", "surrogatepass")
    return [v.decode() for n, v in _pairs(raw, b"&") if n in ("aid", "app_id") and v.isdigit()]


def ladon_aids(query: str) -> list[str]:
    """The app ids tried as X-Ladon's key: the query's, then the known ones (read only for a request
    that carries X-Ladon: most requests do not, and their queries need not be parsed for it)."""
    return [*query_aids(query), *(str(a) for a in KNOWN_AIDS)]


def signature_headers(headers: list[tuple[str, str]], query: str = "") -> list[SignatureHeader]:
    """Each ByteDance signature header of a request, with what could be read from it."""
    out: list[SignatureHeader] = []
    for name, value in headers:
        lname = name.lower()
        if lname not in SIGNATURE_HEADERS:
            continue
        if lname == "x-khronos":
            t = khronos_time(value)
            out.append(SignatureHeader(lname, t is not None, f"time {t}" if t else "not a Unix time"))
        elif lname == "x-gorgon":
            v = gorgon_version(value)
            out.append(SignatureHeader(lname, v is not None, f"version {v}" if v else "not 52 hex digits"))
        elif lname == "x-ladon":
            text = ladon_decrypt(value, ladon_aids(query))
            out.append(
                SignatureHeader(
                    lname, text is not None, f"ts-lc_id-aid {text}" if text else "no known app id fits"
                )
            )
        elif lname == "x-argus":
            pb = argus_decrypt(value)
            out.append(
                SignatureHeader(
                    lname,
                    pb is not None,
                    f"protobuf of {len(pb)} bytes" if pb else "not the public Argus format",
                )
            )
        else:
            out.append(SignatureHeader(lname, False, "no public algorithm: classified only"))
    return out


def request_layers(
    headers: list[tuple[str, str]], query: str, body: bytes | None = None
) -> list[SignatureView]:
    """The decoded contents of a request's signature headers and `mix_mode=1` fields, as views."""
    out: list[SignatureView] = []
    for name, value in headers:
        lname = name.lower()
        if lname == "x-ladon":
            text = ladon_decrypt(value, ladon_aids(query))
            if text:
                out.append(SignatureView("header:x-ladon", ("ladon",), text.encode()))
        elif lname == "x-argus":
            pb = argus_decrypt(value)
            if pb:
                out.append(SignatureView("header:x-argus", ("argus",), pb, "protobuf"))
    # (`find`, not `in`: `views.base64_label`)
    fpairs = _pairs(body.strip(), b"&") if body and body.find(b"mix_mode") >= 0 else []
    # A query field named `mix_mode` is spelt out or percent-escaped; without either, and without one in
    # the body, there is nothing to decode and the query is not split.
    named = bool(fpairs) or "mix_mode" in query or "%" in query
    qpairs = _pairs(query.encode("utf-8", "surrogateescape"), b"&") if query and named else []
    if any(n == "mix_mode" and v == b"1" for n, v in qpairs + fpairs):
        for prefix, chain, pairs in (("query", (), qpairs), ("body:form", ("form",), fpairs)):
            for n, v in pairs:
                if n == "mix_mode":
                    continue
                plain = mix_mode_decode(v)
                if plain is not None:
                    out.append(SignatureView(f"{prefix}:{n}", (*chain, "mixmode"), plain))
    return out
