"""The custody chain: `custody.jsonl`, a hash chain written live while a session is captured.

Each line is one JSON record `{seq, t, kind, ref, sha256, prev, ...}` where `prev` is the sha256 of the
previous line's bytes (without its newline). The genesis record (seq 0) binds the chain to the session
id. Records that cover bytes appended to a raw file also name `file`, `offset` and `length`, so
`privlab verify` can say which record, and which bytes, no longer match.

Several processes append to one chain (the mitmdump addon, the Frida runner, `privlab mark`), so every
append takes an exclusive `flock` on the chain file and reads the current head from the file itself.
A crash leaves a verifiable prefix: at worst the last line is half-written, which `verify` names.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS_PREFIX = "privlab-custody-genesis:"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Stream a file through sha256 (files can be large pcaps)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def genesis_prev(session_id: str) -> str:
    """The `prev` of record 0: the chain cannot be moved to another session without breaking it."""
    return sha256_hex((GENESIS_PREFIX + session_id).encode())


def encode_record(record: dict[str, Any]) -> bytes:
    """The exact bytes of one chain line (without newline); the hash of these is the next `prev`."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class ChainHead:
    seq: int
    line_sha256: str


class CustodyChain:
    """Append-only writer for one session's `custody.jsonl`.

    Keeps one append-mode descriptor and, while no other process has written since its own last
    append (same file size), the head in memory: the hot path of a capture is then one flock, one
    fstat and one write per record.
    """

    def __init__(self, path: Path, session_id: str) -> None:
        self.path = path
        self.session_id = session_id
        self._fd: int | None = None
        self._cached: tuple[int, ChainHead] | None = None  # (file size after our write, head)

    def _descriptor(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._cached = None

    def __del__(self) -> None:
        self.close()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the chain's exclusive lock (across processes) for a compound update."""
        fd = self._descriptor()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def create(self) -> dict[str, Any]:
        """Write the genesis record. The chain file must not exist yet."""
        if self.path.exists() and self.path.stat().st_size > 0:
            raise FileExistsError(f"{self.path}: custody chain already exists")
        record = {
            "seq": 0,
            "t": time.time(),
            "kind": "genesis",
            "ref": self.session_id,
            "sha256": sha256_hex(self.session_id.encode()),
            "prev": genesis_prev(self.session_id),
        }
        with self.locked():
            self._write(record)
        return record

    def head(self) -> ChainHead:
        """The last complete record's seq and line hash."""
        last = _last_complete_line(self.path)
        if last is None:
            raise ValueError(f"{self.path}: custody chain is empty")
        return ChainHead(seq=int(json.loads(last)["seq"]), line_sha256=sha256_hex(last))

    def append(self, kind: str, ref: str, sha256: str, **extra: Any) -> dict[str, Any]:
        """Append one record, taking the lock."""
        with self.locked():
            return self.append_locked(kind, ref, sha256, **extra)

    def append_locked(self, kind: str, ref: str, sha256: str, **extra: Any) -> dict[str, Any]:
        """Append one record; the caller already holds `locked()`."""
        size = os.fstat(self._descriptor()).st_size
        if self._cached is not None and self._cached[0] == size:
            head = self._cached[1]
        else:
            torn = _torn_tail(self.path)
            if torn:
                # A writer was killed mid-line. Never rewrite it: close it with a newline and say so in
                # the chain, so verify can tell this from a damaged line.
                head = self.head()
                os.write(self._descriptor(), b"\n")
                self._write(
                    {
                        "seq": head.seq + 1,
                        "t": time.time(),
                        "kind": "recovered",
                        "ref": "torn line before this record",
                        "sha256": sha256_hex(torn),
                        "length": len(torn),
                        "prev": head.line_sha256,
                    }
                )
            head = self.head()
        record: dict[str, Any] = {
            "seq": head.seq + 1,
            "t": time.time(),
            "kind": kind,
            "ref": ref,
            "sha256": sha256,
            "prev": head.line_sha256,
        }
        record.update(extra)
        self._write(record)
        return record

    def _write(self, record: dict[str, Any]) -> None:
        line = encode_record(record)
        fd = self._descriptor()
        os.write(fd, line + b"\n")
        self._cached = (os.fstat(fd).st_size, ChainHead(int(record["seq"]), sha256_hex(line)))


def _torn_tail(path: Path) -> bytes:
    """The bytes after the last newline (empty when the file ends with one)."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        pos = end
        while pos > 0:
            step = min(4096, pos)
            pos -= step
            fh.seek(pos)
            block = fh.read(step)
            nl = block.rfind(b"\n")
            if nl >= 0:
                fh.seek(pos + nl + 1)
                return fh.read()
        fh.seek(0)
        return fh.read()


def _last_complete_line(path: Path) -> bytes | None:
    """Read backwards from the end to the last newline-terminated line (a torn tail is ignored)."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        block = 4096
        buf = b""
        pos = end
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            buf = fh.read(step) + buf
            complete = buf[: buf.rfind(b"\n") + 1] if b"\n" in buf else b""
            lines = complete.split(b"\n")[:-1]
            # Need one full line: either we have two newlines, or we reached the file start.
            if len(lines) >= 2 or (pos == 0 and lines):
                return lines[-1]
        return None


def read_lines(path: Path) -> tuple[list[bytes], bytes]:
    """All complete lines of a chain file and the torn tail (empty when the file ends with a newline)."""
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    lines = data[:cut].split(b"\n")[:-1] if cut else []
    return lines, data[cut:]
