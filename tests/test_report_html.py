"""The Allure 3 single-file report: built from real results, checked by its own stats, history kept across runs."""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import pytest

from conformance.report import ReportError, allure3, build_report, cli, ensure_allure, report_data, write_environment
from conformance.report.sample import make_results

ROOT = Path(__file__).resolve().parents[1]
needs_node = pytest.mark.skipif(
    shutil.which("node") is None, reason="Node.js is not installed: the HTML report needs it (CI has Node 20)"
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    run = make_results(tmp_path_factory.mktemp("sample"))
    write_environment(
        run.results,
        target="mock",
        vendors=["klavi", "opsnow", "klearstack", "knowledgestack"],
        base_urls={"klavi": "https://127.0.0.1:8443"},
        suite_version="0.1.0",
        spec_hashes={"klavi": "0" * 64},
    )
    return run


@pytest.fixture(scope="module")
def built(sample, tmp_path_factory):
    base = tmp_path_factory.mktemp("built")
    stats = build_report(sample.results, base / "allure-report")
    return base, stats


@needs_node
def test_one_self_contained_html_file(built):
    base, stats = built
    out = base / "allure-report"
    assert sorted(p.name for p in out.iterdir()) == ["claims.html", "index.html", "summary.json", "test-results.json"]
    html = stats.index_html.read_text(encoding="utf-8")
    assert stats.index_html == out / "index.html" and len(html) > 100_000
    # Every script and stylesheet is inline or a data: URI, so the page opens from file:// alone.
    assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="(?!data:)[^"]+"', html)
    assert "gtag" not in html


@needs_node
def test_stats_come_from_allure_and_match_the_results(built):
    base, stats = built
    summary = json.loads((base / "allure-report" / "summary.json").read_text())
    assert summary["stats"] == {"total": 12, "new": 12, "passed": 5, "failed": 2, "broken": 2, "skipped": 3}
    assert (stats.total, stats.passed, stats.failed, stats.broken, stats.skipped) == (12, 5, 2, 2, 3)


@needs_node
def test_categories_metadata_and_grouping_are_in_the_report(built):
    base, stats = built
    data = report_data(stats.index_html)
    categories = json.loads(data["widgets/categories.json"])
    totals = {
        node["name"]: node["statistic"]["total"] for node in categories["nodes"].values() if node["type"] == "category"
    }
    assert totals == {"Vendor non-conformance": 2, "Assumption not met": 2, "Infrastructure": 1, "Suite error": 1}
    environment = {e["name"]: e["values"] for e in json.loads(data["widgets/allure_environment.json"])}
    assert environment["target"] == ["mock"] and environment["base_url.klavi"] == ["https://127.0.0.1:8443"]
    tree = json.loads(data["widgets/tree.json"])
    titles = {g["name"] for g in tree["groupsById"].values()}
    assert {"Klavi", "OpsNow", "KlearStack", "Knowledge Stack", "expiry"} <= titles
    assert not [t for t in titles if t.startswith("KLAVI-AUTH")]  # claims are not tree levels: no test twice
    assert len(tree["leavesById"]) == 12
    # The history file is ours to keep, not part of the report folder, and Allure wrote it (per target).
    assert stats.history_path == base / "history" / "mock" / "history.jsonl" and stats.history_entries == 1


@needs_node
def test_history_has_one_entry_per_run_and_the_output_folder_is_cleaned(sample, tmp_path):
    out, history = tmp_path / "report", tmp_path / "h" / "history.jsonl"
    build_report(sample.results, out, history_path=history)
    (out / "stale.html").write_text("from an older build")
    # Rebuilding the same run's report adds no entry and shows the same (empty) history.
    stats = build_report(sample.results, out, history_path=history, history_limit=2)
    assert not (out / "stale.html").exists()
    assert stats.history_entries == 1
    tests = [json.loads(v) for k, v in report_data(stats.index_html).items() if k.startswith("data/test-results/")]
    assert tests and all(len(t["history"]) == 0 for t in tests)
    # A new run of the same tests is a second entry; each test then has the first run in its history.
    second = make_results(tmp_path / "second")
    stats = build_report(second.results, out, history_path=history, history_limit=2)
    assert stats.history_entries == 2
    tests = [json.loads(v) for k, v in report_data(stats.index_html).items() if k.startswith("data/test-results/")]
    assert tests and all(len(t["history"]) == 1 for t in tests)
    assert not [t["name"] for t in tests if t.get("flaky")]  # the same outcome twice is not flaky
    charts = json.loads(report_data(stats.index_html)["widgets/charts.json"])
    dynamics = next(c for c in charts["general"].values() if c["type"] == "statusDynamics")
    assert len(dynamics["data"]) == 2
    stats = build_report(second.results, out, history_path=history, history_limit=2)
    assert stats.history_entries == 2


@needs_node
def test_conformance_report_twice_is_one_history_entry(sample, tmp_path, capsys):
    out = tmp_path / "reports" / "allure-report"
    for _ in range(2):
        assert cli.run(_args(results=sample.results, out=out)) == 0
    history = tmp_path / "reports" / "history" / "mock" / "history.jsonl"
    assert len(history.read_text().splitlines()) == 1
    assert capsys.readouterr().out.count("(1 run(s);") == 2
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert "First run of this target in the history" in summary  # the rebuild compares with no earlier run


@needs_node
def test_each_target_keeps_its_own_history(sample, tmp_path):
    import shutil as sh

    sandbox = tmp_path / "sandbox-results"
    sh.copytree(sample.results, sandbox)
    props = (sandbox / "environment.properties").read_text().replace("target=mock", "target=sandbox")
    (sandbox / "environment.properties").write_text(props)
    out = tmp_path / "reports" / "allure-report"
    mock_stats = build_report(sample.results, out)
    sandbox_stats = build_report(sandbox, out)
    assert mock_stats.history_path.parent.name == "mock" and sandbox_stats.history_path.parent.name == "sandbox"
    assert mock_stats.history_entries == sandbox_stats.history_entries == 1


@needs_node
def test_a_folder_that_is_not_a_report_is_never_cleaned(sample, tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "todo.txt").write_text("keep me")
    with pytest.raises(ReportError, match="refusing to clean"):
        build_report(sample.results, precious, history_path=tmp_path / "h.jsonl")
    assert (precious / "todo.txt").read_text() == "keep me"
    with pytest.raises(ReportError, match="must not nest"):
        build_report(sample.results, sample.results / "report", history_path=tmp_path / "h.jsonl")


def _args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    argv = [f"--{k.replace('_', '-')}={v}" for k, v in kw.items() if v not in (True, None)]
    argv += [f"--{k.replace('_', '-')}" for k, v in kw.items() if v is True]
    return parser.parse_args(argv)


@needs_node
def test_cli_builds_summary_and_report(sample, tmp_path, capsys):
    reports = tmp_path / "reports"
    shutil.copy(sample.junit, tmp_path / "junit.xml")
    code = cli.run(_args(results=sample.results, out=reports / "allure-report"))
    out = capsys.readouterr().out
    assert code == 0
    assert (reports / "summary.md").is_file() and (reports / "allure-report" / "index.html").is_file()
    assert (reports / "history" / "mock" / "history.jsonl").is_file()
    assert "summary: " in out and "report:  " in out and "index.html" in out


def test_cli_errors_are_one_line_with_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.run(_args(results=tmp_path / "empty", out=tmp_path / "report")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("conformance report: no test results in ")
    assert "Traceback" not in err


def test_no_html_needs_no_node(sample, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(allure3.shutil, "which", lambda name: None)
    with pytest.raises(ReportError, match=r"^Node\.js 20\+ is needed to build the HTML report: .*--no-html$"):
        ensure_allure()
    assert cli.run(_args(results=sample.results, out=tmp_path / "r" / "allure-report", no_html=True)) == 0
    assert (tmp_path / "r" / "summary.md").is_file() and not (tmp_path / "r" / "allure-report").exists()
    assert cli.run(_args(results=sample.results, out=tmp_path / "r" / "allure-report")) == 2
    assert "Node.js 20+ is needed" in capsys.readouterr().err


def test_allure_is_pinned_and_locked_to_registry_packages():
    manifest = json.loads(allure3.pin_files()["package.json"])
    assert manifest["private"] is True
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["devDependencies"]["allure"])
    lock = json.loads(allure3.pin_files()["package-lock.json"])
    packages = {k: v for k, v in lock["packages"].items() if k}
    assert packages["node_modules/allure"]["version"] == manifest["devDependencies"]["allure"]
    # Registry packages only, each pinned by integrity; no addresses, so any configured registry serves them
    # (regenerate with `npm install --omit-lockfile-registry-resolved`).
    assert all(p.get("integrity", "").startswith("sha512-") for p in packages.values())
    assert not [name for name, p in packages.items() if "resolved" in p]
    assert not any(p.get("hasInstallScript") for p in packages.values())


@needs_node
def test_ensure_allure_installs_from_the_lock_file_into_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(allure3.CACHE_ENV, str(tmp_path / "cache"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cli_path = ensure_allure()
    root = allure3.tool_dir()
    assert root.parent == tmp_path / "cache" and root.name.startswith("allure-")
    assert cli_path == root / "node_modules" / ".bin" / "allure" and cli_path.exists()
    installed = json.loads((root / "node_modules" / "allure" / "package.json").read_text())["version"]
    assert installed == json.loads(allure3.pin_files()["package.json"])["devDependencies"]["allure"]
    assert ensure_allure() == cli_path  # present and current: no second install
    assert list(elsewhere.iterdir()) == []  # nothing in the current folder


@needs_node
def test_results_path_with_glob_characters(sample, tmp_path):
    # Allure treats its results arguments as glob patterns; the build must not.
    odd = tmp_path / "run [1] {a,b} (x)!" / "allure-results"
    shutil.copytree(sample.results, odd)
    stats = build_report(odd, tmp_path / "report", history_path=tmp_path / "h.jsonl")
    assert stats.total == 12


@needs_node
def test_a_damaged_history_file_is_named(sample, tmp_path):
    history = tmp_path / "history.jsonl"
    history.write_text("{not json\n")
    with pytest.raises(ReportError, match=r"^allure generate failed: .*damaged history file\? move .*history\.jsonl"):
        build_report(sample.results, tmp_path / "report", history_path=history)
