"""ttEncrypt: the envelope ByteDance apps put around device-registration and app-log bodies.

The format, as public reimplementations describe it (iqbalmh18/tiktok-signer, MIT, `lib/ttencrypt.py`,
which emulates the ARM code of `libEncryptor.so` step by step); read from that description and written
here with the standard primitives it turns out to use:

    body   = MAGIC (74 63 05 10 00 00) || seed (32 random bytes) || AES-128-CBC(key, iv, PKCS#7(block))
    h      = SHA-512(SHA-512(seed) || SALT)          SALT: a fixed 64-byte table of the library
    key    = h[0:16]          iv = h[16:32]
    block  = SHA-512(payload) || payload              payload: gzip, header normalised (mtime 0, OS 0)

The emulated code computes SHA-512 and AES with lookup tables (its `LIST_6B0`/`rodata` are the SHA-512
IV and round constants, `dword_0` the AES S-box, `dword_6..9` the T-tables); the only table specific to
ttEncrypt is SALT (`ord_list` there). Because the plaintext starts with the SHA-512 of the payload, a
decryption can be checked: a wrong key or a damaged body fails the check instead of giving noise.

A request is ttEncrypt'd when its body starts with MAGIC; `tt_data=a` in the query or
`application/octet-stream;tt-data=a` as the content type announce it, and a body that is announced but
lacks the magic is reported, not guessed at.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes

from analysis.decode.limits import Budget

MAGIC = bytes.fromhex("746305100000")
SEED_LEN = 32
HEADER_LEN = len(MAGIC) + SEED_LEN
_HASH_LEN = 64

# The fixed 64-byte table mixed into the key derivation (`ord_list` in tiktok-signer 1.4.0,
# lib/data/dword.json). A constant of the format, needed to interoperate; not code.
SALT = bytes.fromhex(
    "4dd4c2e6b83162090e52b3c7a6733ba41cb2462b829ab58a196b39db57177524"
    "f49baf7f08e8d68d26a72e37c1a95a2f1f05a51892aef2949732b62a38aadd58"
)

# What the client sends with an encrypted body.
_CTYPE = re.compile(r"tt-data\s*=\s*a", re.I)
_QUERY = re.compile(r"(?:^|&)tt_data=a(?:&|$)")


class TTEncryptError(ValueError):
    """A body that claims to be ttEncrypt'd but cannot be decrypted; the message says why."""


@dataclass(frozen=True)
class TTEnvelope:
    """One decrypted ttEncrypt body: the seed it carried and the payload inside (usually gzip)."""

    seed: bytes
    payload: bytes
    hash_ok: bool  # the SHA-512 inside the plaintext matches the payload


def is_ttencrypted(data: bytes) -> bool:
    """True when `data` starts with the ttEncrypt magic."""
    return data.startswith(MAGIC)


def announced(query: str | None, content_type: str | None) -> bool:
    """True when the request says its body is ttEncrypt'd (`tt_data=a`, `...;tt-data=a`)."""
    return bool((query and _QUERY.search(query)) or (content_type and _CTYPE.search(content_type)))


def derive(seed: bytes) -> tuple[bytes, bytes]:
    """AES-128 key and CBC IV for a 32-byte seed."""
    if len(seed) != SEED_LEN:
        raise TTEncryptError(f"ttEncrypt seed is {len(seed)} bytes, expected {SEED_LEN}")
    h = hashlib.sha512(hashlib.sha512(seed).digest() + SALT).digest()
    return h[:16], h[16:32]


def _aes(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def decrypt(body: bytes) -> TTEnvelope:
    """The payload of a ttEncrypt body; raises TTEncryptError (one line saying what is wrong)."""
    if not body.startswith(MAGIC):
        raise TTEncryptError(f"not ttEncrypt: starts with {body[:6].hex() or 'nothing'}, not {MAGIC.hex()}")
    seed = body[len(MAGIC) : HEADER_LEN]
    ct = body[HEADER_LEN:]
    if len(seed) < SEED_LEN:
        raise TTEncryptError(f"ttEncrypt body truncated in its seed ({len(body)} bytes)")
    if not ct or len(ct) % 16:
        raise TTEncryptError(f"ttEncrypt ciphertext is {len(ct)} bytes, not a positive multiple of 16")
    key, iv = derive(seed)
    plain = _aes(key, iv, ct, encrypt=False)
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        raise TTEncryptError("ttEncrypt padding is invalid: the body is damaged or not this format")
    plain = plain[:-pad]
    if len(plain) < _HASH_LEN:
        raise TTEncryptError(f"ttEncrypt plaintext is {len(plain)} bytes, shorter than its SHA-512")
    digest, payload = plain[:_HASH_LEN], plain[_HASH_LEN:]
    return TTEnvelope(seed, payload, hashlib.sha512(payload).digest() == digest)


def _normalise_gzip(payload: bytes) -> bytes:
    """The client zeroes the first 10 gzip header bytes after the magic (mtime, flags, OS)."""
    if payload.startswith(b"\x1f\x8b\x08") and len(payload) >= 10:
        return b"\x1f\x8b\x08" + bytes(7) + payload[10:]
    return payload


def encrypt_payload(payload: bytes, seed: bytes | None = None) -> bytes:
    """A ttEncrypt body around `payload` (already gzip'd) as the client builds it."""
    seed = os.urandom(SEED_LEN) if seed is None else seed
    key, iv = derive(seed)
    payload = _normalise_gzip(payload)
    block = hashlib.sha512(payload).digest() + payload
    pad = 16 - len(block) % 16
    return MAGIC + seed + _aes(key, iv, block + bytes([pad]) * pad, encrypt=True)


def encrypt(plaintext: bytes, seed: bytes | None = None) -> bytes:
    """gzip `plaintext` (a JSON document, usually) and wrap it in ttEncrypt, as the client does."""
    return encrypt_payload(gzip.compress(plaintext, mtime=0), seed)


def unwrap(data: bytes, part: str, chain: tuple[str, ...], budget: Budget) -> tuple[bytes, tuple[str, ...]]:
    """The payload of a ttEncrypt body and the chain with `ttencrypt` added; on failure the body as it
    is (still searched) and a `corrupt` decode issue naming the part and the reason."""
    try:
        env = decrypt(data)
    except TTEncryptError as e:
        budget.report(part, (*chain, "ttencrypt"), "corrupt", str(e))
        return data, chain
    if not env.hash_ok and not env.payload.startswith(b"\x1f\x8b"):
        # The padding was right, so the key was. A gzip payload is checked by its own CRC next; the digest
        # alone is not trusted for it: tiktok-signer 1.4.0 computes it differently from SHA-512 when the
        # payload length mod 128 is 111..127 (an emulated padding edge case), and a client may do the same.
        budget.report(
            part, (*chain, "ttencrypt"), "corrupt", "ttEncrypt SHA-512 of the payload does not match"
        )
    return env.payload, (*chain, "ttencrypt")
