"""The bundled sample's evidence report shows reads on the device leading to sends, for every hooked category.

The sample (captures/sample, `privlab demo --refresh-sample`) is the SDK app on the JVM device twin under the
real Frida agent, then the control app. Its capture watches AppLog's own encryption entry point
(`analysis.validation.twin.SDK_APP_WATCH`): the report must show that call as an access finding of its own,
with the planted values it was handed, the SDK that made it (from the Java stack) and the send it preceded.
"""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.validation.twin import SDK_APP_WATCH
from analysis.vocabulary import READ_CATEGORIES


@pytest.fixture(scope="module")
def report(sample_session: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    session = tmp_path_factory.mktemp("sample-report") / sample_session.name
    shutil.copytree(sample_session, session, ignore=shutil.ignore_patterns("derived", "report"))
    r = CliRunner().invoke(main, ["report", str(session), "--format", "html,json"])
    assert r.exit_code == 0, r.output
    html = (session / "report" / "report.html").read_text()
    doc = json.loads((session / "report" / "findings.json").read_text())
    return {"session": session, "html": html, "doc": doc}


def _article(html: str, finding_id: str) -> str:
    """The text of one finding's <article> in the HTML report (tags dropped, entities decoded)."""
    m = re.search(rf'<article class="finding [a-z]+" id="{re.escape(finding_id)}".*?</article>', html, re.S)
    assert m is not None, f"{finding_id} is not in the HTML report"
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(0))))


def test_the_sample_watched_the_sdk_encryption_entry_point(sample_session: Path) -> None:
    meta = json.loads((sample_session / "session.json").read_text())
    assert meta["frida"]["watch"] == [list(w) for w in SDK_APP_WATCH]
    assert meta["frida"]["summary"]["modules"]["watch"] == {
        "hooks": 1, "missing": [], "reason": None, "status": "attached"
    }  # fmt: skip


def test_every_hooked_category_has_an_access_finding_linked_to_a_send(report: dict[str, Any]) -> None:
    access = [f for f in report["doc"]["findings"] if f["kind"] == "access"]
    categories = {e["category"] for f in access if f["related"] for e in f["access"]}
    assert categories == set(READ_CATEGORIES)
    for f in access:
        assert f["sdk"] and f["related"], f["finding_id"]
        assert all(e["stack_top"][1].startswith(("com.bytedance.", "com.ss.", "com.appsflyer.", "com.google.firebase."))
                   for e in f["access"]), f["finding_id"]  # fmt: skip


def test_the_html_report_shows_the_watched_call_linked_to_its_send(report: dict[str, Any]) -> None:
    html, doc = report["html"], report["doc"]
    cls, method = SDK_APP_WATCH[0]
    api = f"{cls.rsplit('.', 1)[1]}.{method}"
    (watched,) = [f for f in doc["findings"] if f["kind"] == "access" and f["apis"] == [api]]
    text = _article(html, watched["finding_id"])
    assert (
        f"ByteDance handed data holding 4 planted value(s) (android_id, cdid, install_id, openudid) to the "
        f"watched method {api} once with no consent decision recorded, and it was later sent." in text
    )
    assert "SDK ByteDance" in text and "Read by ByteDance" in text
    # The Java stack of the call: the SDK's own method handing its event log to its encryption.
    assert f"{cls}.{method}(Native Method) ← com.bytedance.applog.AppLog.sendEvents(AppLog.java:" in text
    # What the watched method was handed: the plaintext, with the SDK's ids, before it was encrypted.
    assert '"openudid":"a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4"' in text
    # Linked to the send it preceded: the ttEncrypt'd event log to TikTok, whose finding names the call.
    sent = [f for f in doc["findings"] if f["finding_id"] in watched["related"]]
    app_log = [
        f for f in sent if any(e["url"].startswith("https://log-va.tiktokv.com/service/2/app_log/") for e in f["exhibits"])
    ]  # fmt: skip
    assert app_log, watched["related"]
    for f in app_log:
        shown = html.split(f'id="{watched["finding_id"]}"', 1)[1].split("</article>")[0]
        assert f'href="#{f["finding_id"]}"' in shown
        assert any(e["api"] == api and e["link"] == "value" for e in f["access"])  # by value, not by type
        assert api in _article(html, f["finding_id"])  # the send's own reads table names the call


def test_lab_sends_are_not_called_a_country_or_a_transfer(report: dict[str, Any]) -> None:
    """The sample's upstream is a lab server on the capturing host: no summary may say "in loopback", and no
    finding may cite the transfer articles (Art. 44-49) for a send that reached no country."""
    html, doc = report["html"], report["doc"]
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    assert "in loopback" not in text and "located in loopback" not in text
    sent = [f for f in doc["findings"] if f["kind"] == "transmission" and f["country"] == "loopback"]
    assert sent
    for f in sent:
        assert "at a server on the capturing host itself (a lab upstream)" in f["summary"], f["summary"]
        assert "Art. 44-49" not in [p["article"] for p in f["provisions"]], f["finding_id"]
