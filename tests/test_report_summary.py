"""summary.md, outcome classification and JUnit counts, from real allure-pytest results of a sample run."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from conformance.report import ReportError, build_report, check_junit, cli, write_summary
from conformance.report.results import classify, load_outcomes, result_files
from conformance.report.sample import EXPECTED_BY_VENDOR, make_results


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return make_results(tmp_path_factory.mktemp("sample"))


def _copy(results: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "allure-results"
    shutil.copytree(results, dest)
    return dest


def test_counts_per_vendor_are_exact(sample, tmp_path):
    counts = write_summary(sample.results, tmp_path / "summary.md")
    got = {v: {k: row[k] for k in EXPECTED_BY_VENDOR[v]} for v, row in counts["by_vendor"].items()}
    assert got == EXPECTED_BY_VENDOR
    assert (counts["total"], counts["passed"], counts["failed"], counts["warning"]) == (12, 5, 2, 2)
    assert (counts["broken"], counts["skipped"]) == (2, 1)


def test_summary_lists_each_failing_claim_once_with_its_message(sample, tmp_path):
    write_summary(sample.results, tmp_path / "summary.md")
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# Authentication conformance: non-conformance found"
    assert "| Klavi | 1 | 2 | 0 | 0 | 0 | 3 |" in lines
    assert "| **Total** | **5** | **2** | **2** | **2** | **1** | **12** |" in lines
    # A finding's check and expected/actual say more than its headline.
    assert (
        "- ❌ KLAVI-AUTH-007 Expired access tokens are rejected — [expired_token_rejected] expected 401, got 200"
        in lines
    )
    # The refresh test verifies two claims; its findings blame only KLAVI-AUTH-009.
    assert (
        "- ❌ KLAVI-AUTH-009 Refresh extends the expiry — [refresh_extends_expiry] "
        "expected exp > 1700003600, got exp = 1700003600" in lines
    )
    assert not any("KLAVI-AUTH-008" in line for line in lines)
    assert (
        "- ⚠️ OPSNOW-AUTH-010 The Bearer scheme is case-insensitive — [bearer_scheme_case_insensitive] "
        "expected 200, got 401" in lines
    )
    assert (
        "- ⚠️ KLEARSTACK-AUTH-005 Extra spaces after Bearer are tolerated — "
        "two spaces after Bearer rejected with 400" in lines
    )
    infra = [line for line in lines if line.startswith("- 🔧 OPSNOW-AUTH-001 ")]
    assert infra == [
        "- 🔧 OPSNOW-AUTH-001 API keys authenticate requests — INFRASTRUCTURE: sandbox unreachable: connection refused"
    ]
    assert any(line.startswith("- 🔧 KLEARSTACK-AUTH-003 ") and "KeyError" in line for line in lines)
    assert not any("KNOWLEDGESTACK" in line for line in lines if line.startswith("- "))


def test_classification_follows_the_plugin_conventions(sample):
    by_name = {o.name: o for o in load_outcomes(sample.results)}
    assert by_name["test_scheme_case_insensitive"].outcome == "warning"  # xfail with the marker
    assert by_name["test_extra_spaces_tolerated"].outcome == "warning"  # skip with marker and label
    assert by_name["test_refresh_not_applicable"].outcome == "skipped"
    assert by_name["test_token_endpoint_reachable"].outcome == "broken"
    assert by_name["test_malformed_authorization[two-tokens]"].status == "broken"
    assert classify({"status": "unknown"}) == "broken"
    assert classify({"status": "skipped", "statusDetails": {"message": "ASSUMPTION NOT MET X-1: y"}}) == "warning"
    assert classify({"status": "skipped", "labels": [{"name": "outcome", "value": "warning"}]}) == "warning"


def test_a_retried_test_counts_once_by_its_latest_attempt(sample, tmp_path):
    results = _copy(sample.results, tmp_path)
    passed = next(p for p in result_files(results) if json.loads(p.read_text())["name"] == "test_key_accepted")
    data = json.loads(passed.read_text())
    earlier = {**data, "uuid": "retry-1", "status": "failed", "start": data["start"] - 2000}
    earlier["stop"] = data["stop"] - 1000
    earlier["statusDetails"] = {"message": "KNOWLEDGESTACK-AUTH-001 flaky"}
    (results / "retry-1-result.json").write_text(json.dumps(earlier))
    assert write_summary(results, tmp_path / "s.md")["by_vendor"]["knowledgestack"]["passed"] == 1

    later = {**earlier, "uuid": "retry-2", "stop": data["stop"] + 1000}
    (results / "retry-2-result.json").write_text(json.dumps(later))
    counts = write_summary(results, tmp_path / "s.md")
    assert counts["by_vendor"]["knowledgestack"]["failed"] == 1
    assert counts["total"] == 12


def test_zero_results_is_an_error_not_an_empty_page(tmp_path):
    empty = tmp_path / "allure-results"
    empty.mkdir()
    with pytest.raises(ReportError, match=r"^no test results in .*allure-results"):
        write_summary(empty, tmp_path / "summary.md")
    with pytest.raises(ReportError, match=r"^no test results in "):
        build_report(empty, tmp_path / "report", history_path=tmp_path / "h.jsonl")
    with pytest.raises(ReportError, match=r"^no test results in "):
        write_summary(tmp_path / "missing", tmp_path / "summary.md")
    assert not (tmp_path / "summary.md").exists()


def test_an_unreadable_result_file_is_named(sample, tmp_path):
    results = _copy(sample.results, tmp_path)
    (results / "broken-result.json").write_text("{not json")
    with pytest.raises(ReportError, match="broken-result.json"):
        write_summary(results, tmp_path / "summary.md")


def test_junit_counts(sample, tmp_path):
    counts = check_junit(sample.junit)
    # JUnit has no "broken" or "warning": infrastructure and suite errors are failures, xfails are skips.
    assert counts.as_dict() == {"tests": 12, "failures": 4, "errors": 0, "skipped": 3, "passed": 5}
    with pytest.raises(ReportError, match="no JUnit XML"):
        check_junit(tmp_path / "junit.xml")
    (tmp_path / "bad.xml").write_text("<testsuites><testsuite>")
    with pytest.raises(ReportError, match="unreadable JUnit XML"):
        check_junit(tmp_path / "bad.xml")


def test_cli_accepts_a_namespace_built_by_hand(sample, tmp_path, capsys):
    # conformance run calls the report CLI with strings and only the options it knows.
    args = argparse.Namespace(
        results=str(sample.results), out=str(tmp_path / "allure-report"), no_html=True, summary=None, history=None
    )
    assert cli.run(args) == 0
    assert (tmp_path / "summary.md").is_file()
    assert "summary: " in capsys.readouterr().out
