"""`--registry DIR`: DuckDuckGo Tracker Radar read in bulk as it is published (a directory).

The fixture `tests/data/tracker_radar_shape/` is NOT Tracker Radar data (CC BY-NC-SA 4.0, not vendored):
it is a handful of files written for these tests in the shape of the published directory (`entities/*.json`,
one owner per file; `domains/<region>/*.json`, one domain per file), checked against DuckDuckGo's
`docs/DATA_MODEL.md` and two published files (see the README there).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.attribute.entities import RegistryError
from analysis.attribute.entities import load_registry
from analysis.attribute.entities.importers import list_digest
from analysis.attribute.entities.importers import read_list

RADAR = Path(__file__).parent / "data" / "tracker_radar_shape"


def test_directory_is_read_in_bulk_with_owners_categories_and_a_citation() -> None:
    imported = read_list(RADAR)
    assert imported.format == "tracker-radar"
    by_name = {e.name: e for e in imported.entities}
    assert set(by_name) == {"Branch Metrics", "Taboola"}
    taboola = by_name["Taboola"]
    # The entity file's properties and the domain file that names Taboola as owner, merged.
    assert taboola.domains == ["taboola.com", "taboolasyndication.com"]
    assert taboola.legal_name == "Taboola, Inc." and taboola.categories == ["ads"]
    assert by_name["Branch Metrics"].categories == ["ads", "analytics"]
    assert imported.skipped == 1  # domains/GB/unowned-cdn-example.net.json names no owner
    src = imported.source
    assert "2 entity files, 3 domain files" in src.title
    assert list_digest(RADAR)[:16] in src.title
    assert "no licence file" in src.checked and "CC BY-NC-SA 4.0" in src.checked


def test_registry_attributes_hosts_from_the_directory_and_keeps_curated_facts() -> None:
    reg = load_registry([RADAR])
    trc = reg.entity_for_host("trc.taboolasyndication.com")
    assert trc is not None and trc.name == "Taboola" and trc.origin.startswith("tracker-radar:")
    assert trc.category == "ads"
    # Branch is curated: the directory's "Branch Metrics, Inc." attaches to it (by legal name) and
    # lends app.link; curated ownership of branch.io is not replaced.
    assert reg.entity_for_host("api2.branch.io").id == "branch"  # type: ignore[union-attr]
    assert reg.entity_for_host("x.app.link").id == "branch"  # type: ignore[union-attr]
    assert "import:tracker-radar:tracker_radar_shape" in reg.sources


def test_digest_changes_with_any_file_and_bad_directories_are_one_line_errors(tmp_path: Path) -> None:
    copy = tmp_path / "radar"
    shutil.copytree(RADAR, copy)
    before = list_digest(copy)
    (copy / "domains" / "GB" / "unowned-cdn-example.net.json").unlink()
    assert list_digest(copy) != before
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RegistryError, match="empty: a directory, but not a Tracker Radar one"):
        read_list(empty)
    (copy / "entities" / "Broken.json").write_text("{nope")
    with pytest.raises(RegistryError, match=r"Broken.json: not JSON"):
        read_list(copy)


def test_destinations_cli_takes_the_directory(tmp_path: Path) -> None:
    from analysis.capture.import_ import import_capture
    from analysis.cli import main

    har = Path(__file__).parent / "data" / "captures" / "reporthar-android-first-run.har"
    s = import_capture(har, tmp_path, app="tld.sample.app").session
    out = CliRunner().invoke(main, ["destinations", str(s.path), "--registry", str(RADAR)])
    assert out.exit_code == 0, out.output
    assert "api2.branch.io" in out.output and "Branch" in out.output


def test_analyze_and_report_take_the_directory(tmp_path: Path) -> None:
    """`analyze --registry DIR` (refused as a directory before) stamps the table with the directory's digest."""
    import pyarrow.parquet as pq

    from analysis.analyze.stages import INPUTS_KEY
    from analysis.attribute.entities.importers import list_digest
    from analysis.capture.import_ import import_capture
    from analysis.cli import main

    har = Path(__file__).parent / "data" / "captures" / "reporthar-android-first-run.har"
    s = import_capture(har, tmp_path, app="tld.sample.app").session
    out = CliRunner().invoke(main, ["analyze", str(s.path), "--registry", str(RADAR), "--quiet"])
    assert out.exit_code == 0, out.output
    table = s.path / "derived" / "destinations.parquet"
    inputs = json.loads(pq.read_schema(table).metadata[INPUTS_KEY])
    assert inputs[f"registry:{RADAR.name}"] == list_digest(RADAR)
    out = CliRunner().invoke(main, ["report", str(s.path), "--registry", str(RADAR), "--format", "json"])
    assert out.exit_code == 0, out.output
