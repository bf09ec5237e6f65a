"""A corpus of real control-app sessions: catalogue, SQL over their derived tables, and analysis on a real
Dask LocalCluster (two worker processes), including a worker killed mid-run and a broken session."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.analyze.stages import analyze
from analysis.cli import main
from analysis.corpus import build_catalogue
from analysis.corpus import find_sessions
from analysis.corpus import query
from analysis.corpus.catalogue import read_catalogue
from analysis.corpus.cluster import SessionOutcome
from analysis.corpus.cluster import analyze_corpus
from analysis.errors import PrivlabError
from analysis.validation.run import capture_control_app

SESSIONS = 20
QUESTION = """
select entity, count(distinct session_id) as sessions
from findings
where kind = 'transmission' and data_type = 'advertising_id' and phase = 'before-consent'
group by entity order by entity
"""


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twenty sealed sessions: half badly-behaved about consent, half well-behaved (not analysed)."""
    root = tmp_path_factory.mktemp("corpus-raw")
    for i in range(SESSIONS):
        behaviour = "badly-behaved" if i % 2 else "well-behaved"
        r = capture_control_app(
            root, name=f"c{i:02d}", conditions={"consent": behaviour}, steps=["third_parties"]
        )
        assert r.status == "sealed", r.reason
    return root


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("derived", "report"))
    return dst


def test_catalogue_and_the_question(captured: Path, tmp_path: Path) -> None:
    corpus_dir = _copy(captured, tmp_path / "sessions")
    for s in find_sessions([corpus_dir]):
        analyze(s, show_progress=False)
    cat = build_catalogue([corpus_dir], tmp_path / "corpus")
    entries = read_catalogue(cat)
    assert len(entries) == SESSIONS
    assert all("findings" in e.tables and e.status == "sealed" for e in entries)
    assert {json.loads(e.conditions)["consent"] for e in entries} == {"badly-behaved", "well-behaved"}
    assert all(e.phases[:3] == ["app-start", "consent-shown", "consent-accepted"] for e in entries)
    # Nothing was copied: the catalogue is one small file beside no table.
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["catalogue.parquet"]

    began = time.perf_counter()
    answer = query(QUESTION, cat)
    took = time.perf_counter() - began
    print(f"question answered over {SESSIONS} sessions in {took:.3f} s")  # the closing note quotes it
    assert answer.to_dict("records") == [
        {"entity": e, "sessions": SESSIONS // 2}
        for e in ("AppsFlyer", "Google AdMob / DoubleClick", "Meta", "Pangle")
    ]
    joined = query(
        "select s.conditions, count(distinct f.session_id) as n from findings f join sessions s using (session_id) "
        "where f.phase = 'before-consent' group by s.conditions",
        cat,
    )
    assert joined.to_dict("records") == [{"conditions": '{"consent": "badly-behaved"}', "n": SESSIONS // 2}]
    flows = query("select session_id, count(*) as n from flows group by session_id", cat)
    assert len(flows) == SESSIONS and (flows["n"] == 4).all()


def test_query_command_outputs_and_errors(captured: Path, tmp_path: Path) -> None:
    corpus_dir = _copy(captured, tmp_path / "sessions")
    for s in find_sessions([corpus_dir])[:4]:
        analyze(s, show_progress=False)
    runner = CliRunner()
    built = runner.invoke(main, ["corpus", "build", str(corpus_dir), "--out", str(tmp_path / "c")])
    assert built.exit_code == 0 and "catalogued 20 sessions (4 analysed)" in built.output, built.output
    printed = runner.invoke(main, ["query", QUESTION, "--corpus", str(tmp_path / "c")])
    assert printed.exit_code == 0 and "AppsFlyer" in printed.output, printed.output
    out_csv, out_pq = tmp_path / "q.csv", tmp_path / "q.parquet"
    assert (
        runner.invoke(
            main, ["query", QUESTION, "--corpus", str(tmp_path / "c"), "--csv", str(out_csv)]
        ).exit_code
        == 0
    )
    assert (
        runner.invoke(
            main, ["query", QUESTION, "--corpus", str(tmp_path / "c"), "--parquet", str(out_pq)]
        ).exit_code
        == 0
    )
    assert pd.read_csv(out_csv).equals(pd.read_parquet(out_pq).astype({"sessions": "int64"}))
    bad = runner.invoke(main, ["query", "select nope from findings", "--corpus", str(tmp_path / "c")])
    assert bad.exit_code != 0 and "query failed" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(main, ["query", "select 1", "--corpus", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "not a corpus catalogue" in missing.output
    # A view no session has yet is empty, not an error.
    assert query("select count(*) as n from packets", tmp_path / "c")["n"].tolist() == [0]
    with pytest.raises(PrivlabError, match="no session folders"):
        build_catalogue([tmp_path / "c"], tmp_path / "c2")


def test_dask_local_cluster_survives_a_killed_worker_and_a_broken_session(
    captured: Path, tmp_path: Path
) -> None:
    from distributed import Client
    from distributed import LocalCluster

    corpus_dir = _copy(captured, tmp_path / "sessions")
    sessions = find_sessions([corpus_dir])
    broken = sessions[3]
    (broken / "flows.jsonl").write_bytes(b"{not json\n")  # a damaged session must fail alone
    (broken / "flows.mitm").write_bytes(b"garbage that is not a flow file")
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    watcher = Client(cluster)
    killed: list[int] = []
    try:
        pids = watcher.run(os.getpid)
        assert len(pids) == 2

        def kill_one_worker(outcome: SessionOutcome) -> None:
            if not killed:  # mid-run: after the first session, while the others are queued or running
                pid = sorted(pids.values())[0]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        outcomes = analyze_corpus(sessions, scheduler=cluster.scheduler_address, on_done=kill_one_worker)
    finally:
        watcher.close()
        cluster.close()
    assert killed
    assert [o.session for o in outcomes] == [str(s) for s in sessions]
    failed = [o for o in outcomes if not o.ok]
    assert [o.session for o in failed] == [str(broken)] and failed[0].error
    for s in sessions:
        leftovers = list((s / "derived").glob(".*.tmp")) if (s / "derived").exists() else []
        assert leftovers == [], s
        if s != broken:
            assert (s / "derived" / "findings.parquet").is_file(), s
    # The cluster's tables are the tables one process makes.
    again = _copy(sessions[0], tmp_path / "again")
    analyze(again, show_progress=False)
    for table in ("flows", "detections", "findings"):
        a = pd.read_parquet(sessions[0] / "derived" / f"{table}.parquet")
        b = pd.read_parquet(again / "derived" / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b)


def test_corpus_analyze_command_names_the_failing_session(captured: Path, tmp_path: Path) -> None:
    corpus_dir = tmp_path / "sessions"
    for s in find_sessions([captured])[:3]:
        _copy(s, corpus_dir / s.name)
    broken = find_sessions([corpus_dir])[0]
    (broken / "flows.jsonl").write_bytes(b"{not json\n")
    (broken / "flows.mitm").write_bytes(b"garbage")
    result = CliRunner().invoke(main, ["corpus", "analyze", str(corpus_dir), "--workers", "2", "--quiet"])
    assert result.exit_code == 1, result.output
    assert "analysed 2 of 3 sessions" in result.output and f"failed: {broken}" in result.output
