"""Loading what the user hands over: one APK, a folder of split APKs, or an XAPK/APKS bundle.

A session pulled from a device has a base APK plus configuration splits (`split_config.arm64_v8a.apk`,
...), and stores ship the same as one zip of APKs: `.xapk` (APKPure: a `manifest.json` beside the APKs)
and `.apks` (bundletool/SAI: the APKs at the top or under `splits/`). All become a list of `ApkPart`s;
which one is the base is decided from the manifests (`manifest/@split` is absent only on the base).

Size limits keep a hostile or huge input from exhausting memory: a file over `max_input_bytes` or a zip
member that inflates beyond `max_member_bytes` (or by more than `max_ratio`) is refused with one line.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import PrivlabError
from analysis.errors import path_kind

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MANIFEST = "AndroidManifest.xml"


class ApkError(PrivlabError):
    """An APK or bundle cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Limits:
    """How much input the static analysis accepts before refusing or stopping early (partial result)."""

    max_input_bytes: int = 4 << 30  # one file handed over
    max_member_bytes: int = 2 << 30  # one APK inside a bundle, once inflated
    max_ratio: int = 200  # inflated / compressed size of a bundle member: more is a zip bomb
    max_dex_bytes: int = 1 << 30  # total DEX parsed; the rest is skipped and the result marked partial
    max_scan_bytes: int = 32 << 20  # one resource or native library searched for URLs


@dataclass(frozen=True)
class ApkPart:
    """One APK file: the base or a split, from a file, a folder or a bundle."""

    name: str  # file name (inner name for a bundle member)
    origin: str  # where it came from, for messages: the path, or "path/bundle.xapk!inner.apk"
    data: bytes
    bundle: str | None = None  # file name of the XAPK/APKS bundle it came out of

    @property
    def label(self) -> str:
        """Where it came from without the folder (static.json must not depend on where files sit)."""
        return f"{self.bundle}!{self.name}" if self.bundle else self.name

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


def quiet_androguard() -> None:
    """Stop androguard's loguru logging (it prints DEBUG lines to stderr for every file)."""
    from loguru import logger

    logger.disable("androguard")


def load_parts(path: Path, limits: Limits | None = None) -> list[ApkPart]:
    """Read `path` (an APK, a folder of APKs, or an XAPK/APKS bundle) into APK parts; raise ApkError."""
    limits = limits or Limits()
    path = Path(path)
    if not path.exists():
        raise ApkError(f"{path}: no such file or folder")
    kind = None if path.is_dir() else path_kind(path)
    if kind is not None:  # a FIFO would block the read below forever; a device is not an APK
        raise ApkError(f"{path}: {kind}, not an APK or a folder of APKs")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".apk")
        if not files:
            raise ApkError(f"{path}: folder holds no .apk files")
        parts: list[ApkPart] = []
        for f in files:
            parts.extend(_load_file(f, limits))
        return parts
    return _load_file(path, limits)


def _read_limited(path: Path, limits: Limits) -> bytes:
    try:
        size = path.stat().st_size
        if size > limits.max_input_bytes:
            raise ApkError(
                f"{path}: {size / 1e9:.1f} GB is over the {limits.max_input_bytes / 1e9:.1f} GB input limit"
            )
        return path.read_bytes()
    except PermissionError:
        raise ApkError(f"{path}: not readable (permission denied)") from None
    except IsADirectoryError:
        raise ApkError(f"{path}: is a folder") from None
    except OSError as e:
        raise ApkError(f"{path}: cannot be read ({e.strerror})") from None


def _load_file(path: Path, limits: Limits) -> list[ApkPart]:
    data = _read_limited(path, limits)
    if not data.startswith(ZIP_MAGIC):
        raise ApkError(f"{path}: not an APK (not a zip file)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            if MANIFEST in names or any(_is_dex(n) for n in names):
                return [ApkPart(path.name, str(path), data)]
            inner = [i for i in infos if i.filename.lower().endswith(".apk") and not i.is_dir()]
            if not inner:
                raise ApkError(f"{path}: a zip with neither {MANIFEST} nor APKs inside; not an APK or bundle")
            parts = []
            for info in sorted(inner, key=lambda i: i.filename):
                _check_member(path, info, limits)
                raw = zf.read(info)
                if not raw.startswith(ZIP_MAGIC):
                    raise ApkError(f"{path}!{info.filename}: not an APK (not a zip file)")
                parts.append(
                    ApkPart(Path(info.filename).name, f"{path}!{info.filename}", raw, bundle=path.name)
                )
            return parts
    except zipfile.BadZipFile as e:
        raise ApkError(f"{path}: damaged zip ({e})") from None
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError) as e:
        raise ApkError(f"{path}: unsupported zip ({e})") from None
    except (OSError, EOFError) as e:  # zlib errors on a damaged member surface as OSError subclasses
        raise ApkError(f"{path}: damaged zip member ({e})") from None


def _is_dex(name: str) -> bool:
    return name.startswith("classes") and name.endswith(".dex") and "/" not in name


def _check_member(path: Path, info: zipfile.ZipInfo, limits: Limits) -> None:
    if info.file_size > limits.max_member_bytes:
        raise ApkError(
            f"{path}!{info.filename}: inflates to {info.file_size / 1e9:.1f} GB, "
            f"over the {limits.max_member_bytes / 1e9:.1f} GB limit"
        )
    if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
        raise ApkError(
            f"{path}!{info.filename}: compression ratio {info.file_size // info.compress_size}:1 "
            f"looks like a zip bomb; refused"
        )
