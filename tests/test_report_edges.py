"""The edges of a run as a user meets them: JUnit agrees with the verdict, nothing stale, documented exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance import exitcodes
from conformance.report.junit import align_junit, check_junit
from conformance.report.stale import clear_previous_run

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from conformance.cli import main; sys.exit(main())", "run"]


def run(reports: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        [*CLI, "--reports", str(reports), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    return proc.returncode, proc.stdout, proc.stderr


def _cases(junit: Path) -> dict[str, set[str]]:
    root = ET.parse(junit).getroot()
    return {f"{c.get('classname')}::{c.get('name')}": {ch.tag for ch in c} for c in root.iter("testcase")}


@pytest.mark.slow
def test_an_unreachable_target_is_junit_errors_not_failures(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[targets.down]\nretry_budget = 2\n[targets.down.opsnow]\nbase_url = "http://127.0.0.1:9"\n'
        'credentials = { api_key = { env = "OPS_KEY" } }\n'
    )
    reports = tmp_path / "r"
    code, out, err = run(
        reports, "--no-html", "--target", "down", "--config", str(cfg), "--vendor", "opsnow", env={"OPS_KEY": "k-0"}
    )
    assert code == exitcodes.INFRASTRUCTURE, out[-1500:] + err[-1500:]
    cases = _cases(reports / "junit.xml")
    errors = [name for name, kinds in cases.items() if "error" in kinds]
    assert len(errors) > 10, cases  # contract tests included: they reach the same dead host
    assert not [name for name, kinds in cases.items() if "failure" in kinds]
    suite = ET.parse(reports / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "0" and int(suite.get("errors")) == len(errors)
    counts = check_junit(reports / "junit.xml")
    assert (counts.failures, counts.errors) == (0, len(errors))
    # summary.md: the one outage is one line with its count, not one line per test.
    findings = [ln for ln in (reports / "summary.md").read_text().splitlines() if ln.startswith("- 🔧")]
    assert len(findings) == 1 and findings[0].startswith(f"- 🔧 {len(errors)} tests — INFRASTRUCTURE: "), findings
    assert f"{len(errors)} broken" in out


def test_align_junit_maps_outcomes_to_what_ci_tools_show(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"

    def case(name: str, outcome: str, child: str) -> str:
        return (
            f'<testcase classname="s" name="{name}"><properties><property name="conformance.outcome" '
            f'value="{outcome}"/></properties>{child}</testcase>'
        )

    junit.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="5" failures="3" errors="0" skipped="1">'
        + case("a", "failed", '<failure message="KLAVI-AUTH-007 not met">x</failure>')
        + case("b", "broken", '<failure message="INFRASTRUCTURE: down">x</failure>')
        + case("c", "error", '<failure message="KeyError: x">x</failure>')
        + case("d", "warning", '<skipped type="pytest.xfail" message="ASSUMPTION NOT MET (warning): X-1"/>')
        + case("e", "passed", "")
        + "</testsuite></testsuites>"
    )
    counts = align_junit(junit)
    assert counts is not None and (counts.tests, counts.failures, counts.errors, counts.skipped) == (5, 1, 2, 1)
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["a"].find("failure") is not None
    assert cases["b"].find("error").get("type") == "infrastructure"
    assert cases["c"].find("error").get("type") == "suite-error"
    assert cases["d"].find("failure") is None
    assert cases["d"].find("system-out").text.startswith("WARNING (not a failure): ASSUMPTION NOT MET")
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "2", "1")
    assert align_junit(tmp_path / "missing.xml") is None


def test_clear_previous_run_keeps_history_and_foreign_folders(tmp_path: Path) -> None:
    for name in ("summary.md", "junit.xml", "outcomes.json", "fingerprint.json"):
        (tmp_path / name).write_text("old")
    for name in ("allure-results", "observations", "allure-report", "history"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x").write_text("old")
    (tmp_path / "allure-report" / "index.html").write_text("<html>")
    removed = clear_previous_run(tmp_path)
    assert sorted(p.name for p in removed) == sorted(
        ["summary.md", "junit.xml", "outcomes.json", "fingerprint.json", "allure-results", "observations",
         "allure-report"]
    )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history"]
    other = tmp_path / "other"
    (other / "allure-report").mkdir(parents=True)
    (other / "allure-report" / "notes.txt").write_text("mine")
    assert clear_previous_run(other) == [] and (other / "allure-report" / "notes.txt").exists()


@pytest.mark.slow
def test_no_stale_verdict_survives_a_new_run(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "allure-report").mkdir(parents=True)
    (reports / "allure-report" / "index.html").write_text("<html>an older run's report</html>")
    (reports / "summary.md").write_text("# Authentication conformance: conformant\n")
    (reports / "junit.xml").write_text("<testsuites/>")
    (reports / "history").mkdir()
    (reports / "history" / "history.jsonl").write_text("")
    # A run that stops at its configuration leaves no verdict of an earlier run behind.
    code, out, err = run(reports, "--no-html", "--vendor", "nosuchvendor")
    assert code == exitcodes.USAGE and err.count("\n") == 1, err
    assert not (reports / "summary.md").exists() and not (reports / "junit.xml").exists()
    assert not (reports / "allure-report").exists()
    assert (reports / "history" / "history.jsonl").exists()  # history is kept on purpose
    code, out, err = run(reports, "--no-html", "--no-contract", "--vendor", "opsnow", "--", "-k", "valid_bearer")
    assert code == exitcodes.OK, out[-2000:] + err[-2000:]
    assert "1 passed" in (reports / "summary.md").read_text() and not (reports / "allure-report").exists()


@pytest.mark.slow
def test_the_printed_exit_code_is_the_real_one_when_the_html_step_fails(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "allure-report").write_text("a file where the report folder should be")
    code, out, err = run(reports, "--no-contract", "--vendor", "opsnow", "--", "-k", "valid_bearer")
    assert code == exitcodes.USAGE, out[-2000:] + err[-2000:]
    assert "is a file" in err
    last = out.strip().splitlines()[-1]
    assert last.startswith("conformance: 1 passed -> exit 2 "), last


@pytest.mark.slow
def test_a_collection_error_is_a_suite_error_not_an_interrupt(tmp_path: Path) -> None:
    broken = tmp_path / "test_broken_module.py"
    broken.write_text("raise RuntimeError('this module cannot be imported')\n")
    code, out, err = run(tmp_path / "r", "--no-html", "--no-contract", "--vendor", "opsnow", "--", str(broken))
    assert code == exitcodes.SUITE_ERROR, out[-2000:] + err[-2000:]
    assert "collection error in " in err and "RuntimeError" in err and "-> exit 5" in err
    assert "Traceback" not in err


def test_real_wait_on_the_mock_refuses_without_short_lifetimes(tmp_path: Path) -> None:
    code, out, err = run(tmp_path / "r", "--no-html", "--vendor", "opsnow", "--real-wait")
    assert code == exitcodes.USAGE
    assert err.count("\n") == 1 and "--real-wait on the mock" in err and "--mock-lifetime" in err, err
    assert not (tmp_path / "r" / "allure-results").exists() or not any((tmp_path / "r" / "allure-results").iterdir())


@pytest.mark.slow
def test_contract_tests_skipped_on_a_real_target_carry_their_vendor(tmp_path: Path) -> None:
    """On a target that is not the mock, destructive contract operations skip in setup: still labelled."""
    import json

    from conformance.mock.server import MockServer
    from conformance.report.results import NO_VENDOR, load_outcomes

    with MockServer("knowledgestack") as server:
        creds = server.credentials
        cfg = tmp_path / "ks.toml"
        cfg.write_text(
            "[targets.local.knowledgestack]\n"
            f'base_url = "{server.base_url}"\n'
            f'credentials = {{ email = "{creds["email"]}", password = {{ env = "KS_PW" }}, '
            f'restricted_email = "{creds["restricted_email"]}", restricted_password = {{ env = "KS_RPW" }}, '
            f'sso_tenant_id = "{creds["sso_tenant_id"]}", sso_redirect_uri = "{creds["sso_redirect_uri"]}" }}\n'
        )
        env = {"KS_PW": creds["password"], "KS_RPW": creds["restricted_password"], "CONFORMANCE_JOB": "nightly-eu"}
        reports = tmp_path / "r"
        code, out, err = run(
            reports, "--no-html", "--target", "local", "--config", str(cfg), "--vendor", "knowledgestack",
            "--", "-k", "test_contract", env=env,
        )  # fmt: skip
    assert code in (exitcodes.OK, exitcodes.NONCONFORMANT), out[-2000:] + err[-2000:]
    outcomes = load_outcomes(reports / "allure-results")
    skipped = [o for o in outcomes if o.outcome == "skipped"]
    assert skipped, "no destructive operation was skipped on the real target"
    assert {o.vendor for o in outcomes} == {"knowledgestack"} and NO_VENDOR not in (reports / "summary.md").read_text()
    assert len({o.history_id for o in outcomes}) == len(outcomes)
    for path in (reports / "allure-results").glob("*-result.json"):
        params = {p["name"]: p["value"] for p in json.loads(path.read_text())["parameters"]}
        assert params.get("job") == "'nightly-eu'" and params.get("target") == "'local'", params
