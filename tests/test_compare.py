"""`privlab compare`: differential evidence from real control-app sessions captured through mitmdump.

Ten sessions are captured (real mitmdump, real TLS, the control app): five where the app honours
consent (`consent=well-behaved`: ads and analytics only after the user accepted) and five where it does
not (`consent=badly-behaved`: they leave before the consent screen is answered). The comparison must find
the planted pre-consent transmissions in the bad group only, 5 of 5, with Fisher's p < 0.01, and no
difference for what both groups send.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.analyze.evidence import load_evidence
from analysis.cli import main
from analysis.compare.stats import consistency
from analysis.compare.stats import fisher_exact
from analysis.compare.table import compare_sessions
from analysis.errors import SessionError
from analysis.report.compare import FILES
from analysis.report.compare import write_comparison
from analysis.session import Session
from analysis.session import parse_condition
from analysis.validation.control_app import BADLY_BEHAVED
from analysis.validation.control_app import WELL_BEHAVED
from analysis.validation.run import capture_control_app

RUNS = 5
# Gated (ads) probes and one ungated probe both groups send after consent: a short run per session.
STEPS = ["third_parties", "device_register"]
GATED = [
    ("advertising_id", "AppsFlyer"),
    ("imei", "AppsFlyer"),
    ("advertising_id", "Meta"),
    ("advertising_id", "Pangle"),
]


# -- Fisher's exact test against published values --------------------------------------------------------


def test_fisher_exact_matches_published_values() -> None:
    # Fisher's "lady tasting tea" (R's fisher.test(TeaTasting)): p = 0.4857 two-sided.
    assert fisher_exact(3, 1, 1, 3) == pytest.approx(0.4857142857, rel=1e-9)
    # The worked example in Wikipedia's "Fisher's exact test" article: [[1, 9], [11, 3]], p = 0.002759.
    assert fisher_exact(1, 9, 11, 3) == pytest.approx(0.0027594562, rel=1e-7)
    # 5 of 5 against 0 of 5: 2 / C(10, 5) = 2/252.
    assert fisher_exact(5, 0, 0, 5) == pytest.approx(2 / 252)
    assert fisher_exact(5, 0, 5, 0) == 1.0
    assert fisher_exact(0, 0, 0, 0) == 1.0
    with pytest.raises(ValueError):
        fisher_exact(-1, 0, 0, 0)
    assert consistency(5, 5) == "5 of 5 runs" and consistency(1, 1) == "1 of 1 run"


# -- conditions ------------------------------------------------------------------------------------------


def test_conditions_are_checked_and_recorded_in_custody(tmp_path: Path) -> None:
    assert parse_condition("consent=refused") == ("consent", "refused")
    for bad in ("consent", "=x", "consent=", "con sent=x", "consent=a b"):
        with pytest.raises(SessionError):
            parse_condition(bad)
    s = Session.create(tmp_path, "cond", conditions={"account": "none"})
    assert Session.open(s.path).conditions == {"account": "none"}
    result = CliRunner().invoke(
        main, ["condition", str(s.path), "consent=refused", "--note", "video at 00:12"]
    )
    assert result.exit_code == 0, result.output
    reopened = Session.open(s.path)
    assert reopened.conditions == {"account": "none", "consent": "refused"}
    assert reopened.meta["condition_log"][0]["note"] == "video at 00:12"
    custody = (s.path / "custody.jsonl").read_text()
    assert "condition:consent=refused" in custody
    bad = CliRunner().invoke(main, ["condition", str(s.path), "consent"])
    assert bad.exit_code != 0 and "KEY=VALUE" in bad.output and "Traceback" not in bad.output


# -- ten real sessions -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("compare")
    out: dict[str, list[Path]] = {WELL_BEHAVED: [], BADLY_BEHAVED: []}
    for behaviour in out:
        for i in range(RUNS):
            r = capture_control_app(
                root, name=f"{behaviour[:4]}{i}", conditions={"consent": behaviour}, steps=STEPS
            )
            assert r.status == "sealed", r.reason
            out[behaviour].append(r.session.path)
    return out


@pytest.fixture(scope="module")
def comparison_dir(sessions: dict[str, list[Path]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("comparison")
    paths = [p for group in sessions.values() for p in group]
    result = CliRunner().invoke(main, ["compare", *map(str, paths), "--by", "consent", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _cell(doc: dict, data_type: str, party: str, phase: str) -> dict:
    found = [
        c
        for c in doc["cells"]
        if c["kind"] == "transmission"
        and c["data_type"] == data_type
        and c["party"] == party
        and c["phase"] == phase
    ]
    assert len(found) == 1, (
        data_type,
        party,
        phase,
        [(c["data_type"], c["party"], c["phase"]) for c in doc["cells"]],
    )
    return found[0]


def test_pre_consent_transmissions_only_in_the_badly_behaved_group(comparison_dir: Path) -> None:
    doc = json.loads((comparison_dir / "comparison.json").read_text())
    assert [g["name"] for g in doc["groups"]] == [BADLY_BEHAVED, WELL_BEHAVED]
    assert all(g["runs"] == RUNS for g in doc["groups"])
    for data_type, party in GATED:
        cell = _cell(doc, data_type, party, "before-consent")
        bad, good = cell["groups"][BADLY_BEHAVED], cell["groups"][WELL_BEHAVED]
        assert (bad["sessions"], good["sessions"]) == (RUNS, 0)
        assert bad["consistency"] == "5 of 5 runs"
        p = cell["p_values"][f"{BADLY_BEHAVED} vs {WELL_BEHAVED}"]
        assert p < 0.01 and p == pytest.approx(2 / 252)
        assert cell["differs"]
        # Every run is proven by a flow with its custody record, in the bad group's sessions.
        assert len({pr["session_id"] for pr in bad["proofs"]}) == RUNS
        assert all(pr["custody_seq"] is not None and len(pr["sha256"]) == 64 for pr in bad["proofs"])
        assert bad["first_s"] is not None and bad["first_s"] <= bad["typical_s"]


def test_no_difference_for_what_both_groups_send(comparison_dir: Path) -> None:
    doc = json.loads((comparison_dir / "comparison.json").read_text())
    same = [c for c in doc["cells"] if c["party"] == "TikTok" and c["phase"] == "after-consent"]
    assert same, "device registration after consent should be in both groups"
    for cell in same:
        assert cell["groups"][BADLY_BEHAVED]["sessions"] == cell["groups"][WELL_BEHAVED]["sessions"] == RUNS
        assert not cell["differs"]
        assert cell["p_values"][f"{BADLY_BEHAVED} vs {WELL_BEHAVED}"] == 1.0


def test_the_well_behaved_sessions_send_nothing_before_consent(sessions: dict[str, list[Path]]) -> None:
    for path in sessions[WELL_BEHAVED]:
        ev = load_evidence(path)
        assert [f for f in ev.findings if f.kind == "transmission"], path
        assert [f.summary for f in ev.findings if f.phase == "before-consent"] == [], path
    bad = load_evidence(sessions[BADLY_BEHAVED][0])
    assert {f.data_type for f in bad.findings if f.phase == "before-consent"} >= {"advertising_id", "imei"}


def test_sessions_are_listed_with_seal_and_verification(comparison_dir: Path) -> None:
    doc = json.loads((comparison_dir / "comparison.json").read_text())
    assert len(doc["sessions"]) == 2 * RUNS
    for s in doc["sessions"]:
        assert s["status"] == "sealed" and s["intact"] and len(s["seal_sha256"]) == 64
        assert s["conditions"]["consent"] == s["group"]
        assert [m["label"] for m in s["marks"]][:3] == ["app-start", "consent-shown", "consent-accepted"]


def test_rebuild_is_byte_identical(
    sessions: dict[str, list[Path]], comparison_dir: Path, tmp_path: Path
) -> None:
    cmp = compare_sessions([p for g in sessions.values() for p in g], "consent")
    again = write_comparison(cmp, tmp_path)
    for path in again:
        assert path.read_bytes() == (comparison_dir / path.name).read_bytes(), path.name
    assert [p.name for p in again] == list(FILES)


def test_comparison_opens_in_chromium_and_pdf_pages_render(comparison_dir: Path, tmp_path: Path) -> None:
    chromium = "/usr/bin/chromium"
    if not shutil.which(chromium):
        pytest.fail(f"{chromium} not installed (Debian package chromium; `make system-deps`)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                          "--disable-background-networking", "--no-first-run"])  # fmt: skip
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((comparison_dir / "comparison.html").resolve().as_uri())
        page.wait_for_load_state("load")
        rows = page.eval_on_selector_all("#cells tbody tr", "els => els.length")
        chart_width = page.eval_on_selector("#chart img", "img => img.naturalWidth")
        browser.close()
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert rows >= len(GATED) * 2 and chart_width > 100
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", str(comparison_dir / "comparison.pdf"), str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(p.stat().st_size > 1000 for p in pages)
    text = subprocess.run(
        ["pdftotext", str(comparison_dir / "comparison.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Fisher" in text and "5 of 5 runs" in text


# -- read vs sent across sessions ------------------------------------------------------------------------

CLIP = "PRIVLAB-CLIP-5d1e0b77 my bank PIN note"


def _clipboard_session(root: Path, up: object, sends: bool, i: int) -> Path:
    """A real capture (mitmdump, curl) with the clipboard read the Frida agent would have recorded.

    Stand-in: no Android runtime runs here, so the hook event is appended to hooks.jsonl through the
    session's own custody writer, in the agent's exact wire format (hooks/src/android/clipboard.ts),
    before the seal. Everything else (proxy, TLS, flows, custody, seal) is real.
    """
    from urllib.parse import quote

    from analysis.capture.host import HostCapture
    from analysis.capture.host import capture_host
    from analysis.capture.proxy import Upstream

    text = CLIP if sends else "nothing pasted"
    cmd = ["curl", "-sS", "-o", "/dev/null", "--data", f"c={quote(text)}",
           "https://log-va.tiktokv.com/service/2/app_log/?aid=1233"]  # fmt: skip

    def hook_read(session: Session) -> None:
        event = {
            "seq": 0, "t": session.meta["created"] + 0.2, "pid": 4242, "tid": 4243, "category": "clipboard",
            "api": "ClipboardManager.getPrimaryClip", "args": [],
            "ret": {"$class": "android.content.ClipData", "value": "ClipData { text/plain }", "texts": [CLIP]},
            "stack": ["com.bytedance.applog.ClipReader.read(ClipReader.java:41)",
                      "com.ss.android.ugc.aweme.main.MainActivity.onResume(MainActivity.java:88)"],
        }  # fmt: skip
        session.append("hooks.jsonl", (json.dumps(event) + "\n").encode(), kind="hooks", ref="0-0")

    result = capture_host(
        HostCapture(
            command=cmd,
            root=root,
            name=f"clip{i}",
            confdir=root / "conf",
            upstream=Upstream(up.tls, up.plain, up.cert),  # type: ignore[attr-defined]
            app={"package": "com.zhiliaoapp.musically"},
            conditions={"clipboard": "sent" if sends else "kept"},
            before_seal=hook_read,
        )  # fmt: skip
    )
    assert result.status == "sealed", result.reason
    return result.session.path


def test_read_vs_sent_across_sessions(tmp_path: Path) -> None:
    """The clipboard is read in both groups; its text leaves only in one."""
    from analysis.validation.upstream import start_upstream

    up = start_upstream(tmp_path / "up")
    try:
        paths = [
            _clipboard_session(tmp_path, up, sends, i) for i, sends in enumerate([True] * 3 + [False] * 3)
        ]
    finally:
        up.stop()
    cmp = compare_sessions(paths, "clipboard")
    assert cmp.groups == ["kept", "sent"]
    read = [c for c in cmp.cells if c.kind == "access" and c.data_type == "clipboard"]
    assert len(read) == 1 and not read[0].differs
    assert {g: c.sessions for g, c in read[0].groups.items()} == {"kept": 3, "sent": 3}
    assert read[0].groups["sent"].proofs[0].ref.startswith("hook:")
    sent = [c for c in cmp.cells if c.kind == "transmission" and c.data_type == "clipboard"]
    assert len(sent) == 1 and sent[0].differs and sent[0].party == "TikTok"
    assert {g: c.sessions for g, c in sent[0].groups.items()} == {"kept": 0, "sent": 3}
    assert sent[0].p_values["kept vs sent"] == pytest.approx(0.1)  # 3 of 3 vs 0 of 3: 2/C(6,3)
    assert "read by" in read[0].statement() and "3 of 3 runs" in sent[0].statement()
