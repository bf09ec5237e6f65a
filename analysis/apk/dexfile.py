"""A minimal, read-only DEX reader: the id tables and the code items, nothing else.

androguard's `DEX` builds Python objects for every item of the file, which for an app the size of
TikTok (dozens of DEX files, 100+ MB) takes minutes and gigabytes. The static analysis needs only the
string, type, field and method id tables, the class definitions and where each method's code is, so
this reader takes those straight from the bytes (layout: source.android.com/docs/core/runtime/dex-format)
and decodes strings only when asked. Tests check it against androguard on real APKs.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

_HEADER = struct.Struct("<8sI20sIIIIII" + "II" * 7)  # 0x70 bytes
_U16_U16_U32 = struct.Struct("<HHI")


class DexFormatError(ValueError):
    """The bytes are not a DEX file this reader understands, or a table points outside the file."""


@dataclass(frozen=True)
class CodeSpan:
    """Where one method's instructions are: byte range of `insns` in the file, and whose method it is."""

    start: int
    end: int
    class_idx: int  # type index of the defining class
    method_idx: int


def _uleb128(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise DexFormatError("uleb128 runs past the end of the file")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 35:
            raise DexFormatError("uleb128 longer than 5 bytes")


def _mutf8(raw: bytes) -> str:
    """Modified UTF-8 (DEX strings): plain UTF-8 for almost all; the rest through androguard's decoder."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        from androguard.core.mutf8 import decode

        return str(decode(raw))


class DexFile:
    """The id tables and class definitions of one DEX file."""

    def __init__(self, data: bytes) -> None:
        if len(data) < _HEADER.size or not data.startswith(b"dex\n") or data[7] != 0:
            raise DexFormatError("not a DEX file (bad magic)")
        fields = _HEADER.unpack_from(data, 0)
        self.data = data
        self.version = fields[0][4:7].decode("ascii", "replace")
        (
            self.string_ids_size,
            self.string_ids_off,
            self.type_ids_size,
            self.type_ids_off,
            _proto_size,
            _proto_off,
            self.field_ids_size,
            self.field_ids_off,
            self.method_ids_size,
            self.method_ids_off,
            self.class_defs_size,
            self.class_defs_off,
        ) = fields[9:21]
        for name, off, size, width in (
            ("string_ids", self.string_ids_off, self.string_ids_size, 4),
            ("type_ids", self.type_ids_off, self.type_ids_size, 4),
            ("field_ids", self.field_ids_off, self.field_ids_size, 8),
            ("method_ids", self.method_ids_off, self.method_ids_size, 8),
            ("class_defs", self.class_defs_off, self.class_defs_size, 32),
        ):
            if size and (off < _HEADER.size or off + size * width > len(data)):
                raise DexFormatError(f"{name} table lies outside the file")
        self._string_offs = struct.unpack_from(f"<{self.string_ids_size}I", data, self.string_ids_off)
        self._type_strings = struct.unpack_from(f"<{self.type_ids_size}I", data, self.type_ids_off)
        self._strings: dict[int, str] = {}

    # -- strings and types ------------------------------------------------------------------------

    def string(self, idx: int) -> str:
        """String `idx` (decoded once, then cached)."""
        cached = self._strings.get(idx)
        if cached is not None:
            return cached
        if not 0 <= idx < self.string_ids_size:
            raise DexFormatError(f"string index {idx} out of range")
        off = self._string_offs[idx]
        _length, start = _uleb128(self.data, off)
        end = self.data.find(b"\x00", start)
        if end < 0:
            raise DexFormatError(f"string {idx} is not terminated")
        text = _mutf8(self.data[start:end])
        self._strings[idx] = text
        return text

    def strings(self) -> Iterator[str]:
        """Every string, in index order."""
        for idx in range(self.string_ids_size):
            yield self.string(idx)

    def type_name(self, idx: int) -> str:
        """Type descriptor `idx`, e.g. `Landroid/content/ClipboardManager;`."""
        if not 0 <= idx < self.type_ids_size:
            raise DexFormatError(f"type index {idx} out of range")
        return self.string(self._type_strings[idx])

    def type_index(self) -> dict[str, int]:
        """Type descriptor -> type index."""
        return {self.type_name(i): i for i in range(self.type_ids_size)}

    # -- member ids ---------------------------------------------------------------------------------

    def _members(self, off: int, size: int, want_classes: set[int]) -> Iterator[tuple[int, int, str]]:
        for idx, (class_idx, _type_or_proto, name_idx) in enumerate(
            _U16_U16_U32.iter_unpack(self.data[off : off + 8 * size])
        ):
            if class_idx in want_classes:
                yield idx, class_idx, self.string(name_idx)

    def methods_of(self, class_idxs: set[int]) -> Iterator[tuple[int, int, str]]:
        """(method id, class type index, method name) for methods of the given classes."""
        return self._members(self.method_ids_off, self.method_ids_size, class_idxs)

    def fields_of(self, class_idxs: set[int]) -> Iterator[tuple[int, int, str]]:
        """(field id, class type index, field name) for fields of the given classes."""
        return self._members(self.field_ids_off, self.field_ids_size, class_idxs)

    def method_ref(self, idx: int) -> tuple[str, str]:
        """(class descriptor, name) of method id `idx`."""
        if not 0 <= idx < self.method_ids_size:
            raise DexFormatError(f"method index {idx} out of range")
        class_idx, _proto, name_idx = _U16_U16_U32.unpack_from(self.data, self.method_ids_off + 8 * idx)
        return self.type_name(class_idx), self.string(name_idx)

    # -- classes and code ---------------------------------------------------------------------------

    @cached_property
    def _class_defs(self) -> list[tuple[int, int]]:
        """(class type index, class_data_off) for each class definition."""
        out = []
        for i in range(self.class_defs_size):
            class_idx, _flags, _super, _ifaces, _src, _ann, data_off, _static = struct.unpack_from(
                "<8I", self.data, self.class_defs_off + 32 * i
            )
            out.append((class_idx, data_off))
        return out

    def class_names(self) -> list[str]:
        """Descriptors of the classes this file defines."""
        return [self.type_name(c) for c, _ in self._class_defs]

    def code_spans(self) -> list[CodeSpan]:
        """Every method with code, sorted by where its instructions start."""
        data = self.data
        spans: list[CodeSpan] = []
        for class_idx, data_off in self._class_defs:
            if data_off == 0:
                continue
            pos = data_off
            sizes = []
            for _ in range(4):
                n, pos = _uleb128(data, pos)
                sizes.append(n)
            for _ in range(sizes[0] + sizes[1]):  # fields: (idx diff, access flags)
                _v, pos = _uleb128(data, pos)
                _v, pos = _uleb128(data, pos)
            for count in (sizes[2], sizes[3]):  # direct, then virtual methods; idx diffs restart per list
                method_idx = 0
                for _ in range(count):
                    diff, pos = _uleb128(data, pos)
                    _flags, pos = _uleb128(data, pos)
                    code_off, pos = _uleb128(data, pos)
                    method_idx += diff
                    if code_off == 0:
                        continue
                    if code_off + 16 > len(data):
                        raise DexFormatError(f"code item at {code_off} lies outside the file")
                    insns_size = struct.unpack_from("<I", data, code_off + 12)[0]
                    start = code_off + 16
                    end = start + 2 * insns_size
                    if end > len(data):
                        raise DexFormatError(f"code item at {code_off} runs past the end of the file")
                    spans.append(CodeSpan(start, end, class_idx, method_idx))
        spans.sort(key=lambda s: s.start)
        return spans
