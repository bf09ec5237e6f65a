"""Capture through a real mitmdump with real TLS: HTTP/1.1, HTTP/2, WebSocket, the control app, faults.

Everything here runs real processes on loopback: mitmdump with privlab's addons, curl, the control app,
the lab upstream (a real TLS server), tcpdump. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.capture.host import HostCapture
from analysis.capture.host import capture_host
from analysis.capture.proxy import ProxyConfig
from analysis.capture.proxy import Upstream
from analysis.cli import main
from analysis.errors import PrivlabError
from analysis.schema import PROBE_HEADER
from analysis.schema import PlantedPart
from analysis.session import Session
from analysis.session.flows import read_jsonl
from analysis.session.flows import read_mitm
from analysis.session.verify import verify_session
from analysis.validation.run import capture_control_app
from analysis.validation.upstream import UpstreamServer
from analysis.validation.upstream import start_upstream

PRIVLAB = [sys.executable, "-m", "analysis.cli"]


@pytest.fixture(scope="module")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mitmconf")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpstreamServer]:
    server = start_upstream(tmp_path_factory.mktemp("upstream"))
    yield server
    server.stop()


def _lab(upstream: UpstreamServer) -> Upstream:
    return Upstream(tls=upstream.tls, plain=upstream.plain, trusted_ca=upstream.cert)


def test_control_app_end_to_end(tmp_path: Path, confdir: Path) -> None:
    result = capture_control_app(tmp_path, pcap=True, confdir=confdir)
    s = result.session
    assert result.status == "sealed", result.reason
    records = list(read_jsonl(s.path / "flows.jsonl"))
    flows = list(read_mitm(s.path / "flows.mitm"))
    truth = [PlantedPart.from_dict(d) for d in json.loads((s.path / "ground_truth.json").read_text())]
    probes = {p.probe for p in truth}
    # One recorded flow per probe, in both files, with the probe tag and the original host names.
    tagged = {dict((k.lower(), v) for k, v in r.request_headers).get(PROBE_HEADER) for r in records}
    tagged.discard(None)
    assert probes <= tagged
    assert len(records) == len(flows) == len(tagged)
    assert {r.flow_id for r in records} == {f.id for f in flows}
    https = [r for r in records if r.scheme == "https"]
    assert https and all(r.sni == r.host for r in https)
    assert all(r.server_ip == "127.0.0.1" for r in records)  # the address really connected to is kept
    assert {r.host for r in records} >= {"log-va.tiktokv.com", "t.appsflyer.com", "log.tiktokv.com"}
    ws = [r for r in records if r.websocket]
    assert len(ws) == 1 and any(m.from_client and b"device_id" in m.content for m in ws[0].websocket)
    assert all(r.phase == "app-start" and r.session_id == s.id for r in records)
    assert {p.expect for p in truth} == {"present", "absent"}
    report = verify_session(s.path)
    assert report.intact, report.problems
    meta = Session.open(s.path).meta
    assert meta["capture"]["pcap"] is True
    assert (s.path / "traffic.pcap").exists() or "pcap_note" in meta["capture"]


def test_http1_http2_plain_and_sni_kept(tmp_path: Path, confdir: Path, upstream: UpstreamServer) -> None:
    script = (
        "curl -sS --fail --http1.1 https://log-va.tiktokv.com/one -o /dev/null && "
        "curl -sS --fail --http2 https://api16-normal-c-useast1a.tiktokv.com/two -o /dev/null && "
        "curl -sS --fail http://log.tiktokv.com/three -o /dev/null"
    )
    before = len(upstream.seen.requests)
    result = capture_host(HostCapture(command=["sh", "-c", script], root=tmp_path, confdir=confdir,
                                      upstream=_lab(upstream)))  # fmt: skip
    assert result.status == "sealed" and result.exit_code == 0
    by_path = {r.path: r for r in read_jsonl(result.session.path / "flows.jsonl")}
    assert by_path["/one"].http_version == "HTTP/1.1"
    assert by_path["/two"].http_version == "HTTP/2.0"
    assert by_path["/three"].scheme == "http" and by_path["/three"].host == "log.tiktokv.com"
    seen = upstream.seen.requests[before:]
    assert ("log-va.tiktokv.com", "log-va.tiktokv.com", "/one") in seen  # SNI and Host kept upstream
    assert any(sni == "api16-normal-c-useast1a.tiktokv.com" for sni, _, path in seen if path == "/two")


def test_failed_upstream_is_recorded_as_an_errored_flow(tmp_path: Path, confdir: Path) -> None:
    # No lab upstream: the name does not resolve here, so mitmproxy records the flow with an error.
    cmd = ["curl", "-sS", "https://does-not-resolve.invalid/x", "-o", "/dev/null"]
    result = capture_host(HostCapture(command=cmd, root=tmp_path, confdir=confdir))
    records = list(read_jsonl(result.session.path / "flows.jsonl"))
    assert len(records) == 1
    assert records[0].host == "does-not-resolve.invalid"
    assert records[0].status == 502 or records[0].error


SLOW_CLIENT = """
import httpx, time
with httpx.Client(trust_env=True, timeout=10) as c:
    for i in range(200):
        try:
            c.post(f"https://log-va.tiktokv.com/service/2/app_log/?i={i}", content=b"x" * 300)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
"""


def _wait_flows(session: Path, n: int, timeout: float = 30.0) -> None:
    """Wait until the custody chain holds n flow records (each written after its flow's bytes)."""
    deadline = time.monotonic() + timeout
    chain = session / "custody.jsonl"
    while time.monotonic() < deadline:
        if chain.exists() and chain.read_bytes().count(b'"kind":"flow"') >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"{chain} did not reach {n} flow records")


def _start_cli_capture(tmp_path: Path, confdir: Path, upstream: UpstreamServer, name: str) -> tuple[subprocess.Popen[bytes], Path]:  # fmt: skip
    client = tmp_path / "client.py"
    client.write_text(SLOW_CLIENT)
    root = tmp_path / "caps"
    proc = subprocess.Popen(
        PRIVLAB + ["capture", "--host-command", f"{sys.executable} {client}", "--name", name, "--out", str(root),
                   "--confdir", str(confdir), "--upstream-tls", upstream.tls, "--upstream-plain", upstream.plain,
                   "--upstream-ca", str(upstream.cert)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (root.exists() and any(root.iterdir())):
        time.sleep(0.05)
    session = next(root.iterdir())
    _wait_flows(session, 8)
    return proc, session


def test_kill_9_of_mitmdump_keeps_every_completed_flow(tmp_path: Path, confdir: Path, upstream: UpstreamServer) -> None:  # fmt: skip
    proc, session = _start_cli_capture(tmp_path, confdir, upstream, "kill9")
    pid = Session.open(session).meta["capture"]["proxy_pid"]
    os.kill(pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out.decode()
    meta = Session.open(session).meta
    assert meta["status"] == "incomplete" and "mitmdump exited" in meta["status_reason"]
    recorded = list(read_jsonl(session / "flows.jsonl"))
    in_mitm = {f.id for f in read_mitm(session / "flows.mitm")}
    assert len(recorded) >= 8
    assert {r.flow_id for r in recorded} <= in_mitm
    report = verify_session(session)
    assert report.intact, report.problems


def test_capture_process_killed_too_then_sealed_by_hand(tmp_path: Path, confdir: Path, upstream: UpstreamServer) -> None:  # fmt: skip
    proc, session = _start_cli_capture(tmp_path, confdir, upstream, "both")
    pid = Session.open(session).meta["capture"]["proxy_pid"]
    proc.kill()
    os.kill(pid, signal.SIGKILL)
    proc.wait()
    subprocess.run(["pkill", "-f", str(tmp_path / "client.py")], check=False)
    assert Session.open(session).status == "open"
    check = subprocess.run(PRIVLAB + ["verify", str(session)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    assert "not sealed" in check.stdout
    done = subprocess.run(PRIVLAB + ["seal", str(session), "--incomplete", "capture process killed"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert verify_session(session).intact
    assert Session.open(session).meta["status_reason"] == "capture process killed"


def test_write_failure_stops_the_proxy_and_nothing_passes_unrecorded(tmp_path: Path, confdir: Path,
                                                                      upstream: UpstreamServer) -> None:  # fmt: skip
    session = Session.create(tmp_path, "efbig")
    port = 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = ProxyConfig(session.path, port=port, confdir=confdir, upstream=_lab(upstream)).command(port)

    def limit_file_size() -> None:  # a full disk, for this process only
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (30_000, 30_000))

    log = open(tmp_path / "mitmdump.log", "wb")
    proxy = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit_file_size)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mitmdump did not start"
                time.sleep(0.05)
        import httpx

        answered = 0
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=str(confdir / "mitmproxy-ca-cert.pem"),
                          timeout=10) as client:  # fmt: skip
            for i in range(60):
                try:
                    client.post(f"https://log-va.tiktokv.com/x?i={i}", content=b"y" * 2000).raise_for_status()
                    answered += 1
                except httpx.HTTPError:
                    break
        assert proxy.wait(20) == 74
    finally:
        if proxy.poll() is None:
            proxy.kill()
        log.close()
    assert "cannot write evidence" in (tmp_path / "mitmdump.log").read_text()
    recorded = []
    try:
        for flow in read_mitm(session.path / "flows.mitm"):
            recorded.append(flow)
    except PrivlabError:
        pass  # the flow whose write failed is cut short; the ones before it are whole
    assert 0 < answered < 60
    assert answered <= len(recorded)  # every response the client got was recorded first
    report = verify_session(session.path)
    assert report.intact, report.problems


def test_cli_port_taken_and_missing_command(tmp_path: Path) -> None:
    runner = CliRunner()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = runner.invoke(
            main, ["capture", "--host-command", "true", "--port", str(port), "--out", str(tmp_path)]
        )
    assert r.exit_code == 2 and "already in use" in r.output and "Traceback" not in r.output
    r = runner.invoke(main, ["capture", "--host-command", "no-such-program-xyz", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "not found" in r.output
    assert not any(tmp_path.iterdir()), "nothing may be written when capture cannot start"


def test_cli_mark_running_and_sealed(tmp_path: Path) -> None:
    s = Session.create(tmp_path, "m")
    runner = CliRunner()
    ok = runner.invoke(main, ["mark", str(s.path), "consent-accepted"])
    assert ok.exit_code == 0
    assert Session.open(s.path).current_phase() == "consent-accepted"
    runner.invoke(main, ["seal", str(s.path)])
    late = runner.invoke(main, ["mark", str(s.path), "late"])
    assert late.exit_code == 2 and "sealed" in late.output


def test_ctrl_c_stops_and_seals(tmp_path: Path, confdir: Path, upstream: UpstreamServer) -> None:
    proc, session = _start_cli_capture(tmp_path, confdir, upstream, "ctrlc")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()
    assert Session.open(session).status == "sealed"
    assert verify_session(session).intact
    assert b"flows" in out and str(session).encode() in out


def test_pinned_client_is_recorded_as_a_tls_failure(tmp_path: Path, confdir: Path, upstream: UpstreamServer) -> None:  # fmt: skip
    # A client that trusts only the lab upstream's certificate refuses mitmproxy's: like a pinned app.
    cmd = [
        "curl",
        "-sS",
        "--cacert",
        str(upstream.cert),
        "https://log-va.tiktokv.com/pinned",
        "-o",
        "/dev/null",
    ]
    result = capture_host(HostCapture(command=cmd, root=tmp_path, confdir=confdir, upstream=_lab(upstream),
                                      extra_env={"CURL_CA_BUNDLE": str(upstream.cert)}))  # fmt: skip
    failures = [
        json.loads(line) for line in (result.session.path / "tls_failures.jsonl").read_text().splitlines()
    ]
    assert failures and failures[0]["sni"] == "log-va.tiktokv.com" and failures[0]["side"] == "client"
    assert not (result.session.path / "flows.mitm").exists()  # nothing was decrypted
    assert verify_session(result.session.path).intact


def test_pcap_that_cannot_start_is_a_note_not_a_failure(tmp_path: Path, confdir: Path) -> None:
    result = capture_host(HostCapture(command=["true"], root=tmp_path, confdir=confdir, pcap=True,
                                      pcap_interface="nosuchif0"))  # fmt: skip
    assert result.status == "sealed"
    note = Session.open(result.session.path).meta["capture"]["pcap_note"]
    assert "nosuchif0" in note


def test_pcap_records_the_proxy_connections(tmp_path: Path, confdir: Path, upstream: UpstreamServer) -> None:
    from scapy.utils import RawPcapReader

    cmd = ["curl", "-sS", "https://log-va.tiktokv.com/pcap", "-o", "/dev/null"]
    result = capture_host(HostCapture(command=cmd, root=tmp_path, confdir=confdir, upstream=_lab(upstream),
                                      pcap=True))  # fmt: skip
    pcap = result.session.path / "traffic.pcap"
    assert sum(1 for _ in RawPcapReader(str(pcap))) > 10
    assert result.seal["files"]["traffic.pcap"]["size"] == pcap.stat().st_size


def test_control_app_under_frida_sees_the_plaintext_mitmproxy_recorded(tmp_path: Path, confdir: Path) -> None:
    """Real Frida on this host: the agent's SSL_write plaintext and the proxy's flows are the same requests."""
    import base64

    result = capture_control_app(tmp_path, frida=True, confdir=confdir)
    assert result.status == "sealed", result.reason
    events = [json.loads(line) for line in (result.session.path / "hooks.jsonl").read_text().splitlines()]
    plaintext = b"".join(
        base64.b64decode(e["args"][1]["$b64"])
        for e in events
        if e["category"] == "tls-plaintext" and e["api"].startswith("SSL_write")
    )
    records = list(read_jsonl(result.session.path / "flows.jsonl"))
    https = [r for r in records if r.scheme == "https" and not r.websocket]
    for r in https:
        probe = dict((k.lower(), v) for k, v in r.request_headers)[PROBE_HEADER]
        assert f"{PROBE_HEADER}: {probe}".encode() in plaintext, probe
        assert r.request_body in plaintext  # the exact bytes sent, as mitmproxy recorded them
    assert any(e["category"] == "network" and e["api"] == "connect" for e in events)
    meta = Session.open(result.session.path).meta
    assert len(meta["frida"]["agent"]["sha256"]) == 64 and meta["frida"]["summary"]
    assert verify_session(result.session.path).intact
    # Plaintext the proxy also recorded corroborates its flows; it is not a second transmission, and the
    # agent's transport records (network, tls-plaintext) are not reads of the device.
    from analysis.analyze.evidence import load_evidence

    ev = load_evidence(result.session.path)
    assert not any(str(f).startswith("hook:") for f in ev.tables.detections["flow_id"])
    assert ev.findings and all(f.kind == "transmission" for f in ev.findings)
    assert len(ev.tables.hook_events) == len(events)


def test_concurrent_captures_keep_their_own_upstream_connections(
    tmp_path: Path, confdir: Path, upstream: UpstreamServer
) -> None:
    """Two real captures at once through one lab upstream: each pcap holds its own connections only.

    Issue 18 (low): both pcaps held both captures' upstream connections, because the filter was the
    shared upstream port. Each proxy now connects from its own loopback address (127.77.<port>).
    """
    from scapy.layers.inet import IP
    from scapy.layers.inet import TCP
    from scapy.utils import rdpcap

    up_ports = {int(upstream.tls.rsplit(":", 1)[1]), int(upstream.plain.rsplit(":", 1)[1])}
    # Each client makes requests for about 3 s, so the two captures overlap.
    loop = "for i in 1 2 3 4 5 6; do curl -sS https://log-va.tiktokv.com/c$i -o /dev/null; sleep 0.5; done"
    procs = [
        subprocess.Popen(
            [
                *PRIVLAB,
                "capture",
                "--host-command",
                f"sh -c '{loop}'",
                "--name",
                f"c{n}",
                "--out",
                str(tmp_path / f"caps{n}"),
                "--confdir",
                str(confdir),
                "--pcap",
                "--upstream-tls",
                upstream.tls,
                "--upstream-plain",
                upstream.plain,
                "--upstream-ca",
                str(upstream.cert),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for n in (1, 2)
    ]
    outs = [p.communicate(timeout=120)[0].decode(errors="replace") for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    sources = set()
    for n in (1, 2):
        (session,) = (tmp_path / f"caps{n}").iterdir()
        packets = [
            pkt
            for pkt in rdpcap(str(session / "traffic.pcap"))
            if IP in pkt and TCP in pkt and {pkt[TCP].sport, pkt[TCP].dport} & up_ports
        ]
        # One upstream connection a request (curl connects anew each time): the other capture's six
        # connections were recorded here too before.
        opened = [p for p in packets if p[TCP].dport in up_ports and p[TCP].flags == "S"]
        assert len(opened) == len(list(read_jsonl(session / "flows.jsonl"))) == 6, (n, len(opened))
        meta = json.loads((session / "session.json").read_text())
        source = re.search(r"host (127\.77\.\d+\.\d+)", meta["capture"]["pcap_filter"])
        assert source, meta["capture"]["pcap_filter"]
        sources.add(source.group(1))
        seen = {(pkt[IP].src, pkt[IP].dst) for pkt in packets}
        assert all(source.group(1) in pair for pair in seen), (n, seen)
    assert len(sources) == 2
