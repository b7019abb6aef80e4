"""Merging the allure-results of several jobs: distinct tests stay distinct, collisions stop the merge."""

from __future__ import annotations

import argparse
import json

import pytest

from conformance.report import ReportError, cli, job_parameter, merge_results, write_environment, write_summary
from conformance.report.environment import read_properties
from conformance.report.results import load_outcomes, result_files
from conformance.report.sample import make_results


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    base = tmp_path_factory.mktemp("jobs")
    runs = {job: make_results(base / job, job=job) for job in ("eu", "us")}
    for job, run in runs.items():
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("CONFORMANCE_JOB", job)  # as in that job's own process
            write_environment(
                run.results,
                target="sandbox",
                vendors=["klavi", "opsnow"],
                base_urls={"klavi": f"https://{job}.klavi.example"},
                suite_version="0.1.0",
                spec_hashes={"klavi": "ab" * 32},
            )
    return runs


@pytest.fixture(scope="module")
def unmarked(tmp_path_factory):
    return make_results(tmp_path_factory.mktemp("unmarked"))


def test_job_parameter_reads_the_env_variable(monkeypatch):
    monkeypatch.delenv("CONFORMANCE_JOB", raising=False)
    assert job_parameter() is None
    monkeypatch.setenv("CONFORMANCE_JOB", "  ")
    assert job_parameter() is None
    monkeypatch.setenv("CONFORMANCE_JOB", " nightly  eu ")
    assert job_parameter() == ("job", "nightly eu")


def test_two_jobs_merge_into_distinct_results(jobs, tmp_path):
    dest = tmp_path / "merged"
    stats = merge_results([jobs["eu"].results, jobs["us"].results], dest)
    assert stats.results == 24 and stats.sources == 2 and not stats.empty_sources
    outcomes = load_outcomes(dest)
    assert len(outcomes) == 24
    assert len({o.history_id for o in outcomes}) == 24
    counts = write_summary(dest, tmp_path / "summary.md")
    assert counts["total"] == 24
    assert counts["by_vendor"]["klavi"] == {
        "title": "Klavi", "passed": 2, "failed": 4, "warning": 0, "broken": 0, "skipped": 0, "total": 6,
    }  # fmt: skip
    jobs_seen = {
        p["value"] for f in result_files(dest) for p in json.loads(f.read_text())["parameters"] if p["name"] == "job"
    }
    assert jobs_seen == {"'eu'", "'us'"}


def test_merge_combines_metadata_and_is_idempotent(jobs, tmp_path):
    dest = tmp_path / "merged"
    merge_results([jobs["eu"].results], dest)
    merge_results([jobs["eu"].results, jobs["us"].results], dest)
    merge_results([jobs["us"].results, jobs["us"].results], dest)
    assert len(result_files(dest)) == 24
    props = read_properties(dest / "environment.properties")
    assert props["job"] == "eu, us"
    assert props["base_url.klavi"] == "https://eu.klavi.example, https://us.klavi.example"
    assert props["vendors"] == "klavi, opsnow"
    assert (dest / "executor.json").is_file()


def test_same_tests_without_a_job_parameter_are_refused(unmarked, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        for path in unmarked.results.iterdir():
            # Fresh file names, as a second job would write: only the historyIds coincide.
            (folder / path.name.replace(path.name[:8], folder.name * 8, 1)).write_bytes(path.read_bytes())
    with pytest.raises(ReportError, match=r"appears in both .* distinct CONFORMANCE_JOB"):
        merge_results([first, second], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_merge_rejects_missing_sources(tmp_path):
    with pytest.raises(ReportError, match="not a folder"):
        merge_results([tmp_path / "nope"], tmp_path / "merged")
    with pytest.raises(ReportError, match="nothing to merge"):
        merge_results([], tmp_path / "merged")


def test_cli_merges_job_folders_before_summarising(jobs, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    dest = tmp_path / "reports" / "allure-results"
    args = parser.parse_args(
        ["--merge", str(jobs["eu"].results), str(jobs["us"].results), "--results", str(dest), "--no-html"]
        + ["--out", str(tmp_path / "reports" / "allure-report")]
    )
    assert cli.run(args) == 0
    out = capsys.readouterr().out
    assert "merged:  24 results from 2 folder(s)" in out and "(10 passed, 4 failed, 4 warning" in out
    assert (tmp_path / "reports" / "summary.md").is_file()


@pytest.mark.slow
def test_two_jobs_with_the_contract_part_merge(tmp_path):
    """Real runs, contract part included: every result has its vendor and its job, so nothing collides."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for job in ("eu", "us"):
        proc = subprocess.run(
            [sys.executable, "-c", "import sys; from conformance.cli import main; sys.exit(main())", "run",
             "--vendor", "opsnow", "--no-html", "--reports", str(tmp_path / job), "--", "-k",
             "test_contract or valid_bearer"],
            cwd=root, capture_output=True, text=True, timeout=600, env={**os.environ, "CONFORMANCE_JOB": job},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    sources = [tmp_path / job / "allure-results" for job in ("eu", "us")]
    dest = tmp_path / "merged"
    stats = merge_results(sources, dest)
    results = [json.loads(p.read_text()) for p in result_files(dest)]
    assert stats.results == len(results) and len(results) > 4
    contract = [r for r in results if any(lb["value"] == "contract" for lb in r["labels"] if lb["name"] == "feature")]
    assert {r["name"] for r in contract} >= {
        "OpsNow contract: stateful links",
        "OpsNow contract: authorized calls succeeded",
    }
    for r in results:
        labels = {lb["name"]: lb["value"] for lb in r["labels"]}
        params = {p["name"]: p["value"] for p in r["parameters"]}
        assert labels.get("vendor") == "opsnow" and labels.get("epic") == "OpsNow", r["name"]
        assert params.get("job") in ("'eu'", "'us'"), r["name"]
    assert len({r["historyId"] for r in results}) == len(results)
    counts = write_summary(dest, tmp_path / "summary.md")
    assert list(counts["by_vendor"]) == ["opsnow"] and counts["total"] == len(results)
