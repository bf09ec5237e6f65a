"""RFC 3161 timestamps of a seal, against a REAL time-stamping authority: OpenSSL's `openssl ts -reply` behind
a local HTTP server, with a CA and a TSA certificate (extendedKeyUsage timeStamping, critical) made here.

The token is checked by privlab (`verify --tsa-cert`) and independently by `openssl ts -verify`.
"""

from __future__ import annotations

import datetime
import hashlib
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID
from test_report_fixtures import make_session
from test_report_fixtures import make_tables

from analysis.cli import main
from analysis.report import build_report

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(folder: Path, cn: str) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Certificate]:
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    path = folder / f"{cn.replace(' ', '-')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A running TSA: `openssl ts -reply` with a TSA certificate issued by a test CA, served over HTTP."""
    d = tmp_path_factory.mktemp("tsa")
    ca_path, ca_key, ca = make_ca(d, "privlab test CA")
    now = datetime.datetime.now(datetime.UTC)
    key = rsa.generate_private_key(65537, 2048)
    cert = (
        x509.CertificateBuilder().subject_name(_name("privlab test TSA")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    (d / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "tsa.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (d / "serial").write_text("01\n")
    (d / "tsa.cnf").write_text(
        "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\n"
        f"serial = {d}/serial\ncrypto_device = builtin\nsigner_cert = {d}/tsa.pem\ncerts = {ca_path}\n"
        f"signer_key = {d}/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.99999.1\n"
        "other_policies = 1.3.6.1.4.1.99999.2\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n"
        "ordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
    )
    queries: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            queries.append(body)
            q = d / f"q{len(queries)}.tsq"
            q.write_bytes(body)
            reply = subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(d / "tsa.cnf"), "-queryfile", str(q)],
                capture_output=True, check=True,
            ).stdout  # fmt: skip
            self.send_response(200 if self.headers["Content-Type"] == "application/timestamp-query" else 415)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            return  # quiet

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "url": f"http://127.0.0.1:{server.server_address[1]}/tsa",
        "ca": ca_path,
        "dir": d,
        "queries": queries,
    }
    server.shutdown()


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_timestamp_from_a_real_tsa_verifies_with_privlab_and_openssl(
    tsa: dict[str, object], tmp_path: Path
) -> None:
    session = make_session(tmp_path)
    seal_sha = json.loads((session / "seal.json").read_bytes())["seal_sha256"]
    before = _files(session)
    runner = CliRunner()
    out = runner.invoke(
        main, ["timestamp", str(session), "--tsa", str(tsa["url"]), "--tsa-cert", str(tsa["ca"])]
    )
    assert out.exit_code == 0, out.output
    assert "by CN=privlab test TSA" in out.output or "privlab test TSA" in out.output
    after = _files(session)
    assert {k: v for k, v in after.items() if k != "seal.tsr"} == before  # nothing sealed changed
    # The request: a TimeStampReq over the seal hash (sha256), with a nonce, asking for the certificate.
    query = subprocess.run(
        ["openssl", "ts", "-query", "-in", "/dev/stdin", "-text"],
        input=tsa["queries"][-1], capture_output=True, check=True,  # type: ignore[index]
    ).stdout.decode()  # fmt: skip
    assert "SHA256" in query.upper() and "Nonce: 0x" in query and "Certificate required: yes" in query
    assert seal_sha[:8].upper() in query.replace(" ", "").replace("-", "").upper()
    # OpenSSL, not privlab, checks the stored token against the seal hash and the CA.
    check = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", seal_sha, "-in", str(session / "seal.tsr"), "-CAfile", str(tsa["ca"])],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "Verification: OK" in check.stdout, check.stderr
    verified = runner.invoke(main, ["verify", str(session), "--tsa-cert", str(tsa["ca"])])
    assert verified.exit_code == 0, verified.output
    assert "timestamped by" in verified.output and "signature and imprint verified" in verified.output
    again = runner.invoke(main, ["timestamp", str(session), "--tsa", str(tsa["url"])])
    assert again.exit_code == 2 and "already timestamped" in again.output


def test_token_of_another_seal_or_another_ca_does_not_verify(tsa: dict[str, object], tmp_path: Path) -> None:
    one, two = make_session(tmp_path / "one"), make_session(tmp_path / "two", child=True)
    runner = CliRunner()
    assert runner.invoke(main, ["timestamp", str(one), "--tsa", str(tsa["url"])]).exit_code == 0
    # Another CA: the token's signature is sound but its certificate is not from the CA given.
    other_ca, _, _ = make_ca(tmp_path, "some other CA")
    wrong_ca = runner.invoke(main, ["verify", str(one), "--tsa-cert", str(other_ca)])
    assert wrong_ca.exit_code == 1 and "seal.tsr" in wrong_ca.output and "issued by it" in wrong_ca.output
    openssl = subprocess.run(
        ["openssl", "ts", "-verify", "-in", str(one / "seal.tsr"), "-digest",
         json.loads((one / "seal.json").read_bytes())["seal_sha256"], "-CAfile", str(other_ca)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert "Verification: OK" not in openssl.stdout
    # The token moved to another session: it timestamps another seal hash.
    (two / "seal.tsr").write_bytes((one / "seal.tsr").read_bytes())
    moved = runner.invoke(main, ["verify", str(two)])
    assert moved.exit_code == 1 and "timestamp is for another hash" in moved.output
    # A flipped byte in the token's signature: the signature check fails.
    der = bytearray((one / "seal.tsr").read_bytes())
    der[-5] ^= 0x01
    (one / "seal.tsr").write_bytes(bytes(der))
    flipped = runner.invoke(main, ["verify", str(one), "--tsa-cert", str(tsa["ca"])])
    assert flipped.exit_code == 1 and "seal.tsr" in flipped.output


def test_report_states_the_timestamp_or_that_the_option_is_off(
    tsa: dict[str, object], tmp_path: Path
) -> None:
    session = make_session(tmp_path)
    tables = make_tables()
    off = build_report(session, tables, "html,json", tmp_path / "off")
    assert "no timestamp (option off)" in off["html"].read_text()
    assert json.loads(off["json"].read_bytes())["integrity"]["timestamp"]["present"] is False
    assert CliRunner().invoke(main, ["timestamp", str(session), "--tsa", str(tsa["url"])]).exit_code == 0
    on = build_report(session, tables, "html,json", tmp_path / "on")
    html = on["html"].read_text()
    stamp = json.loads(on["json"].read_bytes())["integrity"]["timestamp"]
    assert stamp["valid"] is True and f"timestamped by {stamp['tsa']} at {stamp['gen_time']}" in html
    assert "privlab test TSA" in stamp["tsa"]
    statements = json.loads(on["json"].read_bytes())["integrity"]["standing"]["statements"]
    assert any(s.startswith("Time-stamp: timestamped by") for s in statements)
    off_statements = json.loads(off["json"].read_bytes())["integrity"]["standing"]["statements"]
    assert any(s.startswith("Time-stamp: no timestamp (option off)") for s in off_statements)


def test_unreachable_tsa_and_unsealed_session_are_one_line_errors(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    out = CliRunner().invoke(main, ["timestamp", str(session), "--tsa", "http://127.0.0.1:9/tsa"])
    assert out.exit_code == 2 and "not reachable" in out.output and "Traceback" not in out.output
    assert not (session / "seal.tsr").exists()
    (session / "seal.json").unlink()
    out = CliRunner().invoke(main, ["timestamp", str(session), "--tsa", "http://127.0.0.1:9/tsa"])
    assert out.exit_code == 2 and "not sealed" in out.output


def test_damaged_tokens_never_traceback(tsa: dict[str, object], tmp_path: Path) -> None:
    """Bytes across a stored token flipped one at a time (every 29th position, to stay bounded): verify
    answers intact or names seal.tsr, never a traceback."""
    session = make_session(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["timestamp", str(session), "--tsa", str(tsa["url"])]).exit_code == 0
    good = (session / "seal.tsr").read_bytes()
    outcomes = set()
    for pos in range(0, len(good), 29):
        damaged = bytearray(good)
        damaged[pos] ^= 0xFF
        (session / "seal.tsr").write_bytes(bytes(damaged))
        out = runner.invoke(main, ["verify", str(session), "--tsa-cert", str(tsa["ca"])])
        assert out.exception is None or isinstance(out.exception, SystemExit), (pos, repr(out.exception))
        assert out.exit_code in (0, 1), out.output
        if out.exit_code == 1:
            assert "seal.tsr" in out.output
        outcomes.add(out.exit_code)
    assert 1 in outcomes
