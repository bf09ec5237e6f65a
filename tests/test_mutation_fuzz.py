"""File-mutation fuzz (hypothesis, bounded): mutated captures and sessions never make privlab trace back.

Seeds are real public files (tests/data: mitmproxy dumps, HARs from real browsers, tcpdump pcaps) and
the committed sample session. Hypothesis flips, cuts, inserts and swaps bytes, and puts huge numbers
where digits were; `import`, `analyze`, `verify` (and `report` for session mutations) must end with
exit 0, or a one-line error (exit 1 or 2), never an exception. PRIVLAB_FUZZ_EXAMPLES raises the count
(default 12 per test, so `make test` stays short; pytest-timeout's 300 s per test bounds it to about 40).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from click.testing import Result
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from analysis.cli import main

EXAMPLES = int(os.environ.get("PRIVLAB_FUZZ_EXAMPLES", "12"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
REF = Path(__file__).parent / "data"
SEEDS = [
    REF / "mitm_dumps" / "dumpfile-018.mitm",
    REF / "mitm_dumps" / "dumpfile-7-websocket.mitm",
    REF / "mitm_dumps" / "har_files" / "insomnia.har",
    REF / "mitm_dumps" / "har_files" / "charles.har",
    REF / "pcaps" / "dns_tcp.pcap",
]
SESSION_FILES = ["custody.jsonl", "seal.json", "session.json", "flows.jsonl", "flows.mitm", "canaries.json"]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with 1 to 4 mutations: flip, cut, insert, duplicate a slice, or a digit run made huge."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        kind = draw(st.sampled_from(["flip", "cut", "insert", "dup", "bignum", "truncate"]))
        i = draw(st.integers(0, len(out) - 1))
        if kind == "flip":
            out[i] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del out[i : i + draw(st.integers(1, 64))]
        elif kind == "insert":
            out[i:i] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "dup":
            out[i:i] = out[i : i + draw(st.integers(1, 256))]
        elif kind == "truncate":
            del out[i:]
        else:
            j = i
            while j < len(out) and 48 <= out[j] <= 57:
                j += 1
            out[i:j] = draw(st.sampled_from([b"1" + b"0" * 20, b"-1", b"1e308", b"99999999999", b"NaN"]))
    return bytes(out)


def _same_json(a: bytes, b: bytes) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


def _clean(result: Result, what: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{what}: {type(result.exception).__name__}: {result.exception}"
    )
    assert result.exit_code in (0, 1, 2), f"{what}: exit {result.exit_code}"
    if result.exit_code == 2:
        assert "Traceback" not in result.output


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_mutated_capture_files_import_analyse_and_verify_cleanly(seed: Path, tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    original = seed.read_bytes()

    @FUZZ
    @given(data=mutated(original))
    def run(data: bytes) -> None:
        tmp = tmp_path_factory.mktemp("m")
        src = tmp / seed.name
        src.write_bytes(data)
        runner = CliRunner()
        out = runner.invoke(main, ["import", str(src), "--out", str(tmp / "caps")])
        _clean(out, "import")
        if out.exit_code != 0:
            return
        session = next((tmp / "caps").iterdir())
        _clean(runner.invoke(main, ["analyze", str(session)]), "analyze")
        _clean(runner.invoke(main, ["verify", str(session)]), "verify")
        shutil.rmtree(tmp, ignore_errors=True)

    run()


@pytest.mark.parametrize("name", SESSION_FILES)
def test_mutated_session_files_verify_analyse_and_report_cleanly(name: str, sample_session: Path, tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    original = (sample_session / name).read_bytes()

    @FUZZ
    @given(data=mutated(original))
    def run(data: bytes) -> None:
        tmp = tmp_path_factory.mktemp("s")
        s = tmp / "s"
        shutil.copytree(sample_session, s, ignore=shutil.ignore_patterns("derived", "report"))
        (s / name).write_bytes(data)
        runner = CliRunner()
        out = runner.invoke(main, ["verify", str(s)])
        _clean(out, "verify")
        # Any change to a sealed file is detected; seal.json is hashed as canonical JSON, so a change of
        # layout only (whitespace) that leaves the same document is not a change.
        assert out.exit_code != 0 or data == original or (name == "seal.json" and _same_json(data, original))
        res = runner.invoke(main, ["analyze", str(s)])
        _clean(res, "analyze")
        if res.exit_code == 0 and name in ("seal.json", "custody.jsonl"):
            _clean(runner.invoke(main, ["report", str(s), "--format", "json"]), "report")
        shutil.rmtree(tmp, ignore_errors=True)

    run()
