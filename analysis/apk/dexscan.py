"""Find where DEX bytecode calls the hooked APIs, without building androguard's whole call graph.

androguard's `AnalyzeAPK` parses every item of every DEX into objects and cross-references every method,
which for a large app takes minutes and gigabytes; we need the callers of a few dozen framework methods.
So, with the id tables read by `dexfile.DexFile`:

1. look up the method and field ids of the catalog (`apis.py`) in this DEX's id tables;
2. find every occurrence of those 16-bit ids in the file with `bytes.find` (C speed) where the byte two
   before is an `invoke-*` / `sget-*` opcode: a superset of the real references;
3. map those offsets to the code items that contain them and walk only those methods instruction by
   instruction (with the payload pseudo-instructions stepped over), keeping the real references.

The walk follows the instruction formats of the Dalvik bytecode specification
(source.android.com/docs/core/runtime/dalvik-bytecode, "instruction formats").
"""

from __future__ import annotations

import bisect
import re
import struct
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field

from analysis.apk.apis import STRINGS
from analysis.apk.apis import HookedApi
from analysis.apk.apis import field_index
from analysis.apk.apis import java_name
from analysis.apk.apis import method_index
from analysis.apk.dexfile import DexFile

# Width of each opcode in 16-bit code units (Dalvik formats 10x..51l). Unused opcodes count 1.
_WIDTH = bytearray([1] * 256)
for _ops, _w in (
    ((0x02, 0x05, 0x08, 0x13, 0x15, 0x16, 0x19, 0x1A, 0x1C, 0x1F, 0x20, 0x22, 0x23, 0x29), 2),
    ((0x03, 0x06, 0x09, 0x14, 0x17, 0x1B, 0x24, 0x25, 0x26, 0x2A, 0x2B, 0x2C), 3),
    ((0x18,), 5),
    (range(0x2D, 0x3E), 2),  # cmp*, if-test, if-testz
    (range(0x44, 0x6E), 2),  # aget/aput, iget/iput, sget/sput
    (range(0x6E, 0x73), 3),  # invoke-kind 35c
    (range(0x74, 0x79), 3),  # invoke-kind/range 3rc
    (range(0x90, 0xB0), 2),  # binop 23x
    (range(0xD0, 0xE3), 2),  # binop/lit16, binop/lit8
    ((0xFA, 0xFB), 4),  # invoke-polymorphic(/range) 45cc / 4rcc
    ((0xFC, 0xFD), 3),  # invoke-custom(/range)
    ((0xFE, 0xFF), 2),  # const-method-handle, const-method-type
):
    for _op in _ops:
        _WIDTH[_op] = _w

# Opcodes whose second code unit is a method id (invoke-custom's is a call-site id: not a method).
INVOKE_OPS = frozenset([*range(0x6E, 0x73), *range(0x74, 0x79), 0xFA, 0xFB])
SGET_OPS = frozenset(range(0x60, 0x67))
CONST_STRING = 0x1A
CONST_STRING_JUMBO = 0x1B


@dataclass(frozen=True)
class RawCallSite:
    """One method that references one hooked API (repeated calls in the method count once)."""

    api: HookedApi
    caller_class: str  # Java name: com.example.Foo$Bar
    caller_method: str
    dex: str


@dataclass
class DexScan:
    """What one DEX file contributes: its classes, its strings and its call sites."""

    name: str
    classes: list[str] = field(default_factory=list)  # Java names
    strings: list[str] = field(default_factory=list)
    call_sites: list[RawCallSite] = field(default_factory=list)
    string_users: dict[str, set[str]] = field(default_factory=dict)  # kept string -> classes loading it
    methods_walked: int = 0


def _u16(buf: bytes, pos: int) -> int:
    return int(buf[pos]) | (int(buf[pos + 1]) << 8)


def walk_instructions(insns: bytes) -> Iterable[tuple[int, int, int]]:
    """Yield (opcode, byte offset, the second code unit or jumbo id) for each real instruction.

    Payloads (packed-switch 0x0100, sparse-switch 0x0200, fill-array-data 0x0300) are data inside the
    code array and are skipped whole, so their bytes are never read as instructions.
    """
    n = len(insns)
    pos = 0
    while pos + 1 < n:
        op = insns[pos]
        if op == 0 and insns[pos + 1] != 0 and pos + 3 < n:
            ident = insns[pos + 1]
            size = _u16(insns, pos + 2)
            if ident == 1:
                pos += (size * 2 + 4) * 2
                continue
            if ident == 2:
                pos += (size * 4 + 2) * 2
                continue
            if ident == 3 and pos + 7 < n:
                count = struct.unpack_from("<I", insns, pos + 4)[0]
                pos += ((count * size + 1) // 2 + 4) * 2
                continue
        width = _WIDTH[op] * 2
        if pos + width > n:
            return
        if op == CONST_STRING_JUMBO:
            yield op, pos, struct.unpack_from("<I", insns, pos + 2)[0]
        elif width >= 4:
            yield op, pos, _u16(insns, pos + 2)
        pos += width


def _candidate_offsets(data: bytes, ids: Iterable[int], opcodes: frozenset[int]) -> list[int]:
    """File offsets where an id appears two bytes after one of `opcodes` (aligned or not)."""
    found: list[int] = []
    for idx in ids:
        if idx > 0xFFFF:  # not reachable by a 16-bit reference
            continue
        needle = idx.to_bytes(2, "little")
        pos = data.find(needle, 2)
        while pos != -1:
            if data[pos - 2] in opcodes:
                found.append(pos - 2)
            pos = data.find(needle, pos + 1)
    return found


# const-string vAA, string@BBBB and const-string/jumbo vAA, string@BBBBBBBB, found anywhere (lookahead:
# matches may overlap, so a false match never hides a real one).
_CONST_STRING_RE = re.compile(rb"(?=\x1a[\x00-\xff]([\x00-\xff]{2}))", re.S)
_CONST_STRING_JUMBO_RE = re.compile(rb"(?=\x1b[\x00-\xff]([\x00-\xff]{4}))", re.S)


def _const_string_offsets(data: bytes, wanted: set[int]) -> list[int]:
    """File offsets that may be a const-string(/jumbo) of one of the `wanted` string ids."""
    if not wanted:
        return []
    found = []
    for regex in (_CONST_STRING_RE, _CONST_STRING_JUMBO_RE):
        for m in regex.finditer(data):
            if int.from_bytes(m.group(1), "little") in wanted:
                found.append(m.start())
    return found


def _targets(
    dex: DexFile,
    types: dict[str, int],
    index: dict[tuple[str, str], list[HookedApi]],
    members: Callable[[set[int]], Iterator[tuple[int, int, str]]],
) -> dict[int, list[HookedApi]]:
    """Member id -> catalog entries, for the catalog's methods (or fields) this DEX refers to."""
    wanted = {types[c] for c, _ in index if c in types}
    out: dict[int, list[HookedApi]] = {}
    for idx, class_idx, member in members(wanted):
        apis = index.get((dex.type_name(class_idx), member))
        if apis:
            out[idx] = apis
    return out


def scan_dex(name: str, data: bytes, keep_string: Callable[[str], bool] | None = None) -> DexScan:
    """Scan one DEX file for its classes, its strings and its call sites; raises DexFormatError.

    Strings for which `keep_string` is true (URLs, host names) also get the classes whose code loads
    them (`string_users`), so an endpoint can be tied to the SDK that holds it.
    """
    dex = DexFile(data)
    scan = DexScan(name=name)
    scan.classes = sorted(java_name(c) for c in dex.class_names())
    scan.strings = list(dex.strings())

    types = dex.type_index()
    method_targets = _targets(dex, types, method_index(), dex.methods_of)
    field_targets = _targets(dex, types, field_index(), dex.fields_of)
    string_targets: dict[int, HookedApi] = {}
    for text, api in STRINGS.items():
        for idx, s in enumerate(scan.strings):
            if s.startswith(text):
                string_targets[idx] = api
    needed_strings = {a.needs_string for apis in method_targets.values() for a in apis if a.needs_string}

    kept = {i for i, text in enumerate(scan.strings) if keep_string(text)} if keep_string else set()
    offsets = _candidate_offsets(data, method_targets, INVOKE_OPS)
    offsets += _candidate_offsets(data, field_targets, SGET_OPS)
    offsets += _const_string_offsets(data, set(string_targets) | kept)
    if not offsets:
        return scan

    # The methods whose code holds a candidate offset are walked instruction by instruction.
    spans = dex.code_spans()
    starts = [s.start for s in spans]
    hit: set[int] = set()
    for off in offsets:
        i = bisect.bisect_right(starts, off) - 1
        if i >= 0 and spans[i].start <= off < spans[i].end:
            hit.add(i)

    seen: set[tuple[str, str, str, str]] = set()
    for i in sorted(hit):
        span = spans[i]
        cname = java_name(dex.type_name(span.class_idx))
        mname = dex.method_ref(span.method_idx)[1]
        scan.methods_walked += 1
        apis_here: list[HookedApi] = []
        strings_here: set[str] = set()
        for op, _pos, ref in walk_instructions(data[span.start : span.end]):
            if op in INVOKE_OPS and ref in method_targets:
                apis_here.extend(method_targets[ref])
            elif op in SGET_OPS and ref in field_targets:
                apis_here.extend(field_targets[ref])
            elif op in (CONST_STRING, CONST_STRING_JUMBO):
                if ref in string_targets:
                    apis_here.append(string_targets[ref])
                if ref in kept:
                    scan.string_users.setdefault(scan.strings[ref], set()).add(cname)
                if needed_strings and ref < dex.string_ids_size:
                    strings_here.add(dex.string(ref))
        for api in apis_here:
            if api.needs_string and api.needs_string not in strings_here:
                continue
            key = (api.api, api.data_type or "", cname, mname)
            if key in seen:
                continue
            seen.add(key)
            scan.call_sites.append(RawCallSite(api, cname, mname, name))
    return scan
