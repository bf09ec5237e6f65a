"""report.html in a real headless Chromium (Debian's, driven by Playwright; `playwright install` is never run).

Checks: it renders, the filter works, no console errors, no network request beyond the file itself,
and XSS payloads placed in captured URLs, headers, bodies, host names, parts and hook values never
execute. The session and tables are test fixtures (tests/test_report_fixtures.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_report_fixtures import XSS_MARKERS
from test_report_fixtures import make_session
from test_report_fixtures import make_tables

from analysis.report import build_report

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    session = make_session(root)
    return build_report(session, make_tables(hostile=True), ["html"])["html"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium; `make system-deps`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def opened(browser: Any, report_html: Path) -> Iterator[dict[str, Any]]:
    """The report loaded in a fresh page, with every console message, request and dialog recorded."""
    page = browser.new_page()
    seen: dict[str, Any] = {"console": [], "requests": [], "dialogs": [], "errors": []}
    page.on("console", lambda m: seen["console"].append((m.type, m.text)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))

    def on_dialog(d: Any) -> None:
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    url = report_html.resolve().as_uri()
    page.goto(url)
    page.wait_for_load_state("load")
    seen["page"], seen["url"] = page, url
    yield seen
    page.close()


def _visible_findings(page: Any) -> list[str]:
    return page.eval_on_selector_all("article.finding:not([hidden])", "els => els.map(e => e.id)")


def test_renders_without_errors_or_network(opened: dict[str, Any]) -> None:
    page = opened["page"]
    assert page.title().startswith("privlab evidence report")
    assert page.inner_text("h1") == "Evidence report"
    assert page.eval_on_selector_all("article.finding", "els => els.length") == 9
    # Every chart decoded as an image (width > 0), from a data: URI.
    widths = page.eval_on_selector_all("figure img", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == 4 and all(w > 0 for w in widths)
    assert opened["errors"] == []
    assert [m for m in opened["console"] if m[0] in ("error", "warning")] == []
    assert [u for u in opened["requests"] if u != opened["url"] and not u.startswith("data:")] == []
    assert page.inner_text("#f-count") == "9 of 9 findings shown"


def test_xss_payloads_never_execute(opened: dict[str, Any]) -> None:
    page = opened["page"]
    # Interact so that event-handler payloads would get their chance.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.mouse.move(10, 10)
    page.fill("#f-text", "evil")
    fired = page.evaluate(f"() => {list(XSS_MARKERS)!r}.filter(k => k in window)")
    assert fired == []
    assert opened["dialogs"] == []
    assert page.eval_on_selector_all("script", "els => els.length") == 1
    assert page.eval_on_selector_all("iframe, img:not(figure img), svg", "els => els.length") == 0
    # The payload text is shown as text.
    assert "<script>window.__xss_url=1</script>" in page.inner_text("body")


def test_filter_by_data_type_phase_and_text(opened: dict[str, Any]) -> None:
    page = opened["page"]
    page.select_option("#f-type", "clipboard")
    assert sorted(
        page.eval_on_selector_all("article.finding:not([hidden])", "els => els.map(e => e.dataset.type)")
    ) == [
        "clipboard",
        "clipboard",
    ]
    assert page.inner_text("#f-count") == "2 of 9 findings shown"
    rows = page.eval_on_selector_all("tr.finding-row:not([hidden])", "els => els.length")
    assert rows == 2
    page.select_option("#f-kind", "access")
    assert len(_visible_findings(page)) == 1
    page.select_option("#f-type", "")
    page.select_option("#f-kind", "")
    page.select_option("#f-phase", "before-consent")
    phases = page.eval_on_selector_all(
        "article.finding:not([hidden])", "els => els.map(e => e.dataset.phase)"
    )
    assert phases and set(phases) == {"before-consent"}
    page.select_option("#f-phase", "")
    page.fill("#f-text", "graph.facebook")
    visible = page.eval_on_selector_all(
        "article.finding:not([hidden])", "els => els.map(e => e.dataset.entity)"
    )
    assert visible == ["Meta"]
    page.fill("#f-text", "")
    assert len(_visible_findings(page)) == 9


def test_text_filter_narrows_exhibits(opened: dict[str, Any]) -> None:
    page = opened["page"]
    # The after-consent android_id finding to ByteDance has one exhibit (openudid); search its part.
    page.fill("#f-text", "openudid")
    shown = page.eval_on_selector_all(".exhibit:not([hidden])", "els => els.map(e => e.id)")
    hidden_in_shown = page.eval_on_selector_all(
        "article.finding:not([hidden]) .exhibit[hidden]", "els => els.length"
    )
    assert len(shown) >= 1 and hidden_in_shown == 0
    assert len(_visible_findings(page)) == 1
