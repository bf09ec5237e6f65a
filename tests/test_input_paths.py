"""A directory, a FIFO or a missing path given where a file is expected: one line saying what it is.

Issue 18: each was called "no such file". A FIFO must be recognised before it is opened (opening it to read
would wait for a writer forever)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.errors import PrivlabError
from analysis.errors import path_kind
from analysis.errors import require_file


def test_path_kinds(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "f").write_bytes(b"x")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    assert path_kind(tmp_path / "f") is None
    assert path_kind(tmp_path) == "is a directory"
    assert path_kind(fifo) == "is a FIFO (named pipe)"
    assert path_kind(tmp_path / "missing") == "no such file"
    assert path_kind(tmp_path / "dangling") == "is a broken symbolic link"
    assert path_kind(tmp_path / "f" / "below") == "no such file (a parent in the path is not a directory)"
    assert path_kind(Path("/dev/null")) == "is a character device"
    with pytest.raises(PrivlabError, match=r"pipe: is a FIFO \(named pipe\), not a capture file$"):
        require_file(fifo, "a capture file")


@pytest.mark.timeout(30)  # a FIFO opened for reading would block: the check must come first
def test_import_names_a_directory_and_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "capture.mitm"
    os.mkfifo(fifo)
    folder = tmp_path / "capture.har"
    folder.mkdir()
    runner = CliRunner()
    cases = {
        folder: "capture.har: is a directory, not a capture file (.mitm, HAR or pcap)",
        fifo: "capture.mitm: is a FIFO (named pipe), not a capture file (.mitm, HAR or pcap)",
        tmp_path / "none.mitm": "none.mitm: no such file",
    }
    for path, message in cases.items():
        out = runner.invoke(main, ["import", str(path), "--out", str(tmp_path / "o")])
        assert out.exit_code == 2 and message in out.output and "Traceback" not in out.output
    mitm = Path(__file__).parent / "data" / "mitm_dumps" / "flows" / "successful_log.mitm"
    out = runner.invoke(main, ["import", str(mitm), "--canaries", str(folder), "--out", str(tmp_path / "o")])
    assert out.exit_code == 2 and "capture.har: is a directory, not a canaries.json file" in out.output
    out = runner.invoke(main, ["verify", str(tmp_path), "--tsa-cert", str(fifo)])
    assert out.exit_code == 2 and "is a FIFO (named pipe), not a certificate file (PEM)" in out.output


@pytest.mark.timeout(30)  # each would block on the FIFO if it were opened before the check
def test_apk_and_keys_name_a_fifo_and_a_directory(tmp_path: Path, sample_session: Path) -> None:
    fifo = tmp_path / "app.apk"
    os.mkfifo(fifo)
    out = CliRunner().invoke(main, ["apk", str(fifo)])
    assert out.exit_code != 0
    assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
    assert "is a FIFO (named pipe), not an APK" in out.output, out.output
    from analysis.session.seal import load_private_key
    from analysis.session.seal import load_public_key

    with pytest.raises(PrivlabError, match=r"is a FIFO \(named pipe\), not a signing key file"):
        load_private_key(fifo)
    with pytest.raises(PrivlabError, match=r"is a directory, not a public key file"):
        load_public_key(tmp_path)
    out = CliRunner().invoke(main, ["verify", str(sample_session), "--pubkey", str(fifo)])
    assert out.exit_code != 0 and "is a FIFO (named pipe), not a public key file" in out.output, out.output


@pytest.mark.timeout(30)
def test_report_validation_and_frida_server_name_what_they_are(tmp_path: Path, sample_session: Path) -> None:
    from analysis.device.setup import SetupError
    from analysis.device.setup import _local_frida

    fifo = tmp_path / "validation.json"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "is a FIFO (named pipe)"), (tmp_path, "is a directory")):
        out = CliRunner().invoke(
            main, ["report", str(sample_session), "--validation", str(path), "--out", str(tmp_path / "r")]
        )
        assert out.exit_code != 0
        assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
        assert f"{kind}, not a validation record" in out.output, out.output
    with pytest.raises(SetupError, match=r"is a directory, not a frida-server binary"):
        _local_frida(tmp_path)
    with pytest.raises(SetupError, match=r"missing-server: no such file$"):
        _local_frida(tmp_path / "missing-server")
