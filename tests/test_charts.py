"""Charts: valid SVG, byte-identical for identical input, no date stamps, empty inputs handled.

Inputs are the test fixture tables (tests/test_report_fixtures.py).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from test_report_fixtures import CANARIES
from test_report_fixtures import T0
from test_report_fixtures import make_tables

from analysis.findings import build_findings
from analysis.findings import flow_destinations
from analysis.report import charts

MARKS = [{"t": T0, "label": "app-start"}, {"t": T0 + 30, "label": "consent-accepted"}]


def _inputs():
    tables = make_tables()
    findings, _ = build_findings(tables, {"marks": MARKS}, canaries=CANARIES)
    return findings, flow_destinations(tables)


@pytest.mark.parametrize("name", list(charts.CHART_TITLES))
def test_each_chart_is_deterministic_svg(name: str) -> None:
    findings, fd = _inputs()
    a = charts.svg_text(charts.all_charts(findings, fd, MARKS, T0)[name])
    b = charts.svg_text(charts.all_charts(findings, fd, MARKS, T0)[name])
    assert a == b
    root = ET.fromstring(a)
    assert root.tag.endswith("svg") and root.get("id") == "privlab-chart"
    assert "<dc:date>" not in a
    assert len(a) > 2000  # drew something beyond an empty frame


def test_chart_content_changes_with_the_data() -> None:
    findings, fd = _inputs()
    full = charts.svg_text(charts.data_types_by_entity(findings))
    fewer = charts.svg_text(charts.data_types_by_entity([f for f in findings if f.data_type != "clipboard"]))
    assert full != fewer


def test_png_is_deterministic_and_unstamped() -> None:
    findings, fd = _inputs()
    a = charts.png_bytes(charts.flows_by_country(fd))
    b = charts.png_bytes(charts.flows_by_country(fd))
    assert a == b and a.startswith(b"\x89PNG")
    assert b"Software" not in a[:400]


def test_empty_inputs_draw_a_labelled_empty_chart() -> None:
    empty = pd.DataFrame(
        columns=["flow_id", "t", "host", "entity", "country", "jurisdiction", "bytes_sent", "via"]
    )
    for fig in charts.all_charts([], empty, [], None).values():
        svg = charts.svg_text(fig)
        assert ET.fromstring(svg) is not None


def test_timeline_draws_marks() -> None:
    findings, _ = _inputs()
    with_marks = charts.svg_text(charts.timeline(findings, MARKS, T0))
    without = charts.svg_text(charts.timeline(findings, [], T0))
    assert with_marks.count("stroke-dasharray") > without.count("stroke-dasharray")
