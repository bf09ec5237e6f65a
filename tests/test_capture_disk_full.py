"""A disk that fills during a capture: a clear error and a session sealed as incomplete, not a traceback.

A real 2 MiB tmpfs is mounted for the session folder (this needs root and CAP_SYS_ADMIN; the test is
skipped, saying so, where it cannot mount), a real `privlab capture` runs a real mitmdump, and the app
sends more than fits. Before the fix the seal itself hit ENOSPC and the session stayed open.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from origin_app import ORIGIN

from analysis.session import Session
from analysis.session.seal import SEAL_RESERVE
from analysis.session.verify import verify_session

PRIVLAB = [sys.executable, "-m", "analysis.cli"]

BIG_APP = (
    ORIGIN
    + """
for i in range(200):  # 4 MB through a 2 MiB disk
    body = os.urandom(20000)
    try:
        with socket.create_connection((host, int(pport)), timeout=5) as s:
            s.sendall(b'POST http://127.0.0.1:%d/%d HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n'
                      b'Connection: close\\r\\n\\r\\n' % (port, i, len(body)) + body)
            s.recv(100)
    except OSError:
        break
"""
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}): the full-disk test needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_full_disk_ends_with_a_clear_error_and_an_incomplete_seal(small_disk: Path, tmp_path: Path) -> None:
    app = tmp_path / "big_app.py"
    app.write_text(BIG_APP)
    root = small_disk / "caps"
    out = subprocess.run(PRIVLAB + ["capture", "--host-command", f"{sys.executable} {app}", "--out", str(root),
                                    "--confdir", str(tmp_path / "conf")], capture_output=True, text=True)  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "Traceback" not in text
    assert "No space left on device" in text and "status: incomplete" in text
    session = next(root.iterdir())
    meta = Session.open(session).meta
    assert meta["status"] == "incomplete" and "evidence could not be written" in meta["status_reason"]
    assert not (session / SEAL_RESERVE).exists()
    assert json.loads((session / "seal.json").read_text())["status"] == "incomplete"
    report = verify_session(session)
    assert report.intact, report.problems
    assert (session / "custody.jsonl").read_bytes().count(b'"kind":"flow"') > 10  # what fitted is kept
