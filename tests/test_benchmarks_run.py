"""The benchmarks still run: each at a tiny size, in a child process, with its output's shape checked.

Benchmarks are not in `make test` for their numbers (no timed asserts); this only catches a benchmark
broken by a change of the code it measures (bench_analyze once imported a function that had been
renamed, and nobody saw it until the numbers were wanted).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("script", "args", "expect"),
    [
        ("bench_analyze.py", ["--flows", "300"], "FlowReader"),
        ("bench_analyze.py", ["--flows", "300", "--unique"], "FlowReader"),
        ("bench_detect.py", ["--mb", "1"], "privlab vs bare hyperscan"),
    ],
    ids=["analyze", "analyze-unique", "detect"],
)
def test_benchmark_runs_at_a_tiny_size(script: str, args: list[str], expect: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert expect in out.stdout, out.stdout[-2000:]
