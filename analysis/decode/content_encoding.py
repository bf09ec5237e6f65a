"""Bounded decompression of HTTP content-encodings (gzip, deflate, br, zstd).

Every decoder stops after `limits.max_output + 1` bytes, so a 1 GB gzip stream costs at most that much
memory: the step is reported as a bomb (ratio above `max_ratio`) or as too large, never completed.
"""

from __future__ import annotations

import zlib

import brotli
from backports import zstd

from analysis.decode.limits import DecodeFailure
from analysis.decode.limits import DecodeLimits

CONTENT_ENCODINGS = ("gzip", "deflate", "br", "zstd")
_ALIASES = {"x-gzip": "gzip", "x-deflate": "deflate", "brotli": "br"}

GZIP_MAGIC = b"\x1f\x8b\x08"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZLIB_LEVELS = frozenset({0x01, 0x5E, 0x9C, 0xDA})


def parse_content_encoding(header: str | None) -> list[str]:
    """The codings of a Content-Encoding header in the order they were applied ('identity' dropped)."""
    if not header:
        return []
    out = []
    for token in header.split(","):
        name = token.strip().lower()
        name = _ALIASES.get(name, name)
        if name and name != "identity":
            out.append(name)
    return out


def sniff_compression(data: bytes) -> str | None:
    """A compression recognisable by its magic bytes (bodies are often compressed without a header)."""
    if data.startswith(GZIP_MAGIC):
        return "gzip"
    if data.startswith(ZSTD_MAGIC):
        return "zstd"
    # zlib: CM=8 with a 32K window and the header checksum (RFC 1950); "deflate" is its HTTP name.
    if len(data) >= 6 and data[0] == 0x78 and data[1] in ZLIB_LEVELS and ((data[0] << 8) | data[1]) % 31 == 0:
        return "deflate"
    return None


def _check(out_len: int, in_len: int, limits: DecodeLimits, name: str) -> None:
    if out_len > limits.max_output:
        ratio = out_len / max(in_len, 1)
        if ratio > limits.max_ratio:
            raise DecodeFailure(
                "bomb", f"{name} expands {in_len} bytes beyond {limits.max_output} (ratio > {ratio:.0f})"
            )
        raise DecodeFailure("too-large", f"{name} output exceeds {limits.max_output} bytes")
    if out_len > limits.ratio_floor and out_len / max(in_len, 1) > limits.max_ratio:
        raise DecodeFailure(
            "bomb", f"{name} ratio {out_len / max(in_len, 1):.0f} above {limits.max_ratio:.0f}"
        )


def _zlib(data: bytes, wbits: int, limits: DecodeLimits, name: str) -> bytes:
    out = bytearray()
    rest = data
    cap = limits.max_output + 1
    while rest:
        d = zlib.decompressobj(wbits)
        room = cap - len(out)
        if room <= 0:
            _check(cap, len(data) - len(rest), limits, name)
        try:
            out += d.decompress(rest, room)
        except zlib.error as e:
            raise DecodeFailure("corrupt", f"{name}: {e}") from None
        # The ratio counts only the input consumed so far: a bomb stops at the cap after a few KB.
        _check(len(out), len(data) - len(d.unconsumed_tail), limits, name)
        if not d.eof:
            raise DecodeFailure("corrupt", f"{name}: stream is truncated")
        rest = d.unused_data
        if name != "gzip" or not rest.startswith(b"\x1f\x8b"):
            break  # only gzip has concatenated members; trailing bytes are ignored like browsers do
    return bytes(out)


def _brotli(data: bytes, limits: DecodeLimits) -> bytes:
    d = brotli.Decompressor()
    cap = limits.max_output + 1
    try:
        out = bytearray(d.process(data, output_buffer_limit=cap))
        while not d.is_finished() and len(out) < cap and not d.can_accept_more_data():
            out += d.process(b"", output_buffer_limit=cap - len(out))
    except brotli.error as e:
        raise DecodeFailure("corrupt", f"br: {e}") from None
    _check(len(out), len(data), limits, "br")
    if not d.is_finished():
        if len(out) >= cap:
            _check(cap, len(data), limits, "br")
        raise DecodeFailure("corrupt", "br: stream is truncated")
    return bytes(out)


def _zstd(data: bytes, limits: DecodeLimits) -> bytes:
    out = bytearray()
    rest = data
    cap = limits.max_output + 1
    while rest:
        d = zstd.ZstdDecompressor()
        try:
            out += d.decompress(rest, cap - len(out))
        except zstd.ZstdError as e:
            raise DecodeFailure("corrupt", f"zstd: {e}") from None
        _check(len(out), len(data), limits, "zstd")
        if not d.needs_input and not d.eof:
            _check(cap, len(data), limits, "zstd")
        if not d.eof:
            raise DecodeFailure("corrupt", "zstd: stream is truncated")
        rest = d.unused_data
    return bytes(out)


def decompress(data: bytes, coding: str, limits: DecodeLimits) -> bytes:
    """Undo one content-coding within the limits; raises DecodeFailure (corrupt, bomb, too-large)."""
    if coding == "gzip":
        return _zlib(data, 16 + zlib.MAX_WBITS, limits, "gzip")
    if coding == "deflate":
        # "deflate" means zlib-wrapped by the RFC, but servers and apps also send raw deflate.
        if len(data) >= 2 and (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0:
            return _zlib(data, zlib.MAX_WBITS, limits, "deflate")
        return _zlib(data, -zlib.MAX_WBITS, limits, "deflate")
    if coding == "br":
        return _brotli(data, limits)
    if coding == "zstd":
        return _zstd(data, limits)
    raise DecodeFailure("corrupt", f"unknown content-encoding {coding!r}")
