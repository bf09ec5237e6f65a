"""Protocol Buffers without a schema: the wire format read field by field.

A buffer is accepted as a message only if it parses to the last byte with valid field numbers and
wire types, so random binary rarely passes. Length-delimited fields are read as printable text when
they are text, as a nested message when they parse as one, else as bytes.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from analysis.decode.text import is_printable_text

MAX_FIELD = (1 << 29) - 1


@dataclass(frozen=True)
class ProtoLeaf:
    """One scalar field: `path` is the dotted field numbers from the root, e.g. `3.1.2`."""

    path: str
    kind: str  # varint | fixed64 | fixed32 | text | bytes
    data: bytes  # text form of numbers; raw bytes of strings and unparsed bytes


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("bad varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def encode_varint(n: int) -> bytes:
    """A non-negative integer in protobuf's base-128 varint form (the writers' side of `_varint`)."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if not n:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def _fields(buf: bytes) -> list[tuple[int, int, object]] | None:
    out: list[tuple[int, int, object]] = []
    i = 0
    n = len(buf)
    try:
        while i < n:
            key, i = _varint(buf, i)
            field_no, wire = key >> 3, key & 7
            if field_no < 1 or field_no > MAX_FIELD:
                return None
            if wire == 0:
                value, i = _varint(buf, i)
                out.append((field_no, 0, value))
            elif wire == 1:
                if i + 8 > n:
                    return None
                out.append((field_no, 1, buf[i : i + 8]))
                i += 8
            elif wire == 2:
                length, i = _varint(buf, i)
                if i + length > n:
                    return None
                out.append((field_no, 2, buf[i : i + length]))
                i += length
            elif wire == 5:
                if i + 4 > n:
                    return None
                out.append((field_no, 5, buf[i : i + 4]))
                i += 4
            else:
                return None  # groups (3, 4) are obsolete; 6, 7 do not exist
    except ValueError:
        return None
    return out


def _number_text(value: int) -> bytes:
    forms = [value]
    if value >= 1 << 63:
        forms.append(value - (1 << 64))  # int64 / int32 negative, sign-extended to 10 bytes
    zigzag = (value >> 1) ^ -(value & 1)
    if zigzag not in forms and value < 1 << 40:
        forms.append(zigzag)  # sint32 / sint64
    return " ".join(str(v) for v in forms).encode()


def _float_text(value: float) -> str | None:
    if math.isnan(value) or math.isinf(value) or (value != 0 and not 1e-9 < abs(value) < 1e15):
        return None
    return repr(value)


def parse_message(buf: bytes, max_depth: int = 8) -> list[ProtoLeaf] | None:
    """The leaves of a schemaless message, or None when `buf` is not one."""
    if not buf:
        return None
    top = _fields(buf)
    if not top:
        return None
    leaves: list[ProtoLeaf] = []
    _walk(top, "", leaves, max_depth)
    return leaves


def _walk(fields: list[tuple[int, int, object]], prefix: str, leaves: list[ProtoLeaf], depth: int) -> None:
    for field_no, wire, value in fields:
        path = f"{prefix}{field_no}"
        if wire == 0:
            assert isinstance(value, int)
            leaves.append(ProtoLeaf(path, "varint", _number_text(value)))
        elif wire == 1:
            assert isinstance(value, bytes)
            (d,) = struct.unpack("<d", value)
            (q,) = struct.unpack("<q", value)
            text = " ".join(t for t in (_float_text(d), str(q)) if t)
            leaves.append(ProtoLeaf(path, "fixed64", text.encode()))
        elif wire == 5:
            assert isinstance(value, bytes)
            (f,) = struct.unpack("<f", value)
            (i32,) = struct.unpack("<i", value)
            ftext = _float_text(f)
            # float32 keeps ~7 significant digits: print it that way, as the sender wrote it.
            text = " ".join(t for t in (f"{f:.7g}" if ftext else None, str(i32)) if t)
            leaves.append(ProtoLeaf(path, "fixed32", text.encode()))
        else:
            assert isinstance(value, bytes)
            if is_printable_text(value, 1.0):
                leaves.append(ProtoLeaf(path, "text", value))
                continue
            # A nested message is mostly printable too (`\n\x0auser_email\x12...`): its control bytes
            # (tags, lengths) decide, so a message that parses to the end is read as one before as text.
            nested = _fields(value) if depth > 0 and value else None
            if nested:
                _walk(nested, f"{path}.", leaves, depth - 1)
            elif is_printable_text(value):
                leaves.append(ProtoLeaf(path, "text", value))
            else:
                leaves.append(ProtoLeaf(path, "bytes", value))
