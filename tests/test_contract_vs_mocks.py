"""The contract part judged by the mocks: clean on every faithful mock, failing on the faults it must catch."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import specs

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "conformance" / "contract"
# A JWT or a Knowledge Stack key in a report means a token escaped redaction.
TOKEN_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|ks_live_[A-Za-z0-9_-]{6,}")

# Runs pytest with VendorSession.issue returning a token whose signature is broken: every protected call gets 401.
SABOTAGED_AUTH = """
import sys
import pytest
from conformance import session

issue = session.VendorSession.issue

def broken_issue(self, **kw):
    tok = issue(self, **kw)
    tok.value = tok.value[:-6] + ("AAAAAA" if not tok.value.endswith("AAAAAA") else "BBBBBB")
    return tok

session.VendorSession.issue = broken_issue
sys.exit(pytest.main(sys.argv[1:]))
"""


def run_contract(
    tmp: Path, *args: str, script: str | None = None, cwd: Path = ROOT, alluredir: Path | None = None
) -> tuple[int, list[dict[str, Any]], str]:
    """The contract part in a subprocess (as `conformance run` would start it); returns code, outcomes, output."""
    outcomes = tmp / "o.json"
    pytest_args = [
        str(CONTRACT),
        "-p",
        "conformance.plugin",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(ROOT),
        "-c",
        str(ROOT / "pyproject.toml"),
        "--outcomes",
        str(outcomes),
        "--junitxml",
        str(tmp / "junit.xml"),
        "-q",
        *args,
    ]
    if alluredir is not None:
        pytest_args += ["--alluredir", str(alluredir)]
    cmd = [sys.executable, "-c", script, *pytest_args] if script else [sys.executable, "-m", "pytest", *pytest_args]
    env = {k: v for k, v in os.environ.items() if k not in ("HYPOTHESIS_STORAGE_DIRECTORY", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    results = json.loads(outcomes.read_text())["results"] if outcomes.exists() else []
    return proc.returncode, results, proc.stdout + proc.stderr


def of(outcomes: list[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [o for o in outcomes if o["outcome"] in kinds]


def assert_nothing_secret(tmp: Path, output: str, vendors: list[str]) -> None:
    texts = [output, *(p.read_text(errors="replace") for p in tmp.rglob("*") if p.is_file())]
    secrets = [v for vendor in vendors for v in specs.load_profile(vendor)["mock"]["credentials"].values()]
    for text in texts:
        assert not TOKEN_SHAPE.search(text), TOKEN_SHAPE.search(text)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"credentials in a report: {leaked}"


@pytest.mark.slow
def test_contract_passes_on_every_faithful_mock(tmp_path: Path) -> None:
    """Every operation and the stateful links of every vendor pass; nothing is left in the working directory."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    code, outcomes, output = run_contract(tmp_path, "--seed", "11", cwd=workdir)
    assert code == 0, output[-3000:]
    assert not of(outcomes, "failed", "warning", "broken", "error"), output[-3000:]
    for vendor in specs.vendors():
        ops = [o for o in outcomes if o["vendor"] == vendor and "test_operation[" in o["nodeid"]]
        assert ops and all(o["outcome"] == "passed" for o in ops), (vendor, ops)
        guard = [o for o in outcomes if o["vendor"] == vendor and "test_authorized_calls" in o["nodeid"]]
        assert [o["outcome"] for o in guard] == ["passed"], guard
    stateful = {o["vendor"]: o["outcome"] for o in outcomes if "test_stateful_links" in o["nodeid"]}
    assert stateful["knowledgestack"] == "passed" and stateful["klearstack"] == "passed", stateful
    assert list(workdir.iterdir()) == [], "the contract run left files (.hypothesis/?) in the working directory"


# fault, vendor, the test that must fail, a Schemathesis check it must name, a claim it must name
CAUGHT = [
    ("auth-ignored", "knowledgestack", "test_operation[knowledgestack][GET /v1/users/me]", "ignored_auth",
     "KSTACK-AUTH-001"),
    ("server-error-on-bad-input", "klavi", "test_operation[klavi][POST /monitor/v1/auth]", "not_a_server_error",
     "RFC9110-15.5-CLIENT-ERROR"),
    ("wrong-content-type", "opsnow", "test_operation[opsnow][POST /platform/v2/identity/api-keys/token]",
     "content_type_conformance", "OPSNOW-AUTH-004"),
    ("refresh-token-missing", "klearstack", "test_operation[klearstack][POST /get_access_token]",
     "response_schema_conformance", "KLEARSTACK-AUTH-002"),
    ("revoked-key-works", "knowledgestack", "test_stateful_links[knowledgestack]", "use_after_free", "KSTACK-KEY-006"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "vendor", "test", "check", "claim"), CAUGHT, ids=[f"{c[0]}-{c[1]}" for c in CAUGHT])
def test_contract_catches_the_fault(tmp_path: Path, fault: str, vendor: str, test: str, check: str, claim: str) -> None:
    code, outcomes, output = run_contract(
        tmp_path, "--mock-fault", fault, "--vendor", vendor, "--seed", "5", alluredir=tmp_path / "allure"
    )
    assert code == 1, output[-3000:]
    hits = [o for o in outcomes if o["nodeid"].endswith(test)]
    assert hits and hits[0]["outcome"] == "failed", (hits, output[-3000:])
    assert claim in hits[0]["failed_claims"], hits[0]
    assert check in hits[0]["message"], hits[0]["message"]
    assert hits[0]["vendor"] == vendor
    assert not of(outcomes, "broken", "error"), of(outcomes, "broken", "error")
    # The failure says how to reproduce the test and the request, with nothing secret in it.
    assert f"--seed 5 --vendor {vendor} --mock-fault {fault}" in output
    assert "Reproduce the request:" in output and "curl " in output
    assert "Authorization: [Filtered]" in output or "Authorization" not in output
    assert_nothing_secret(tmp_path, output, [vendor])
    # Allure: the failing operation carries the minimal failing example as a text attachment.
    results = [json.loads(p.read_text()) for p in (tmp_path / "allure").glob("*-result.json")]
    failed = [r for r in results if r["status"] == "failed"]
    assert failed and all(any(a["name"] == "minimal failing example" for a in r["attachments"]) for r in failed)


@pytest.mark.slow
def test_a_check_on_a_guessed_part_of_the_spec_only_warns(tmp_path: Path) -> None:
    """expireIn is an x-assumption (typed string on the page, a number in the example): the contract names the
    claim and the assumption, as a warning; the scenarios judge the documented claim (the fault self-tests)."""
    code, outcomes, output = run_contract(tmp_path, "--mock-fault", "lifetime-wrong-type", "--vendor", "klavi",
                                          "--seed", "5")  # fmt: skip
    hits = [o for o in outcomes if o["nodeid"].endswith("test_operation[klavi][POST /monitor/v1/auth]")]
    assert hits and hits[0]["outcome"] == "warning", (hits, output[-3000:])
    assert "KLAVI-AUTH-006" in hits[0]["failed_claims"], hits[0]
    assert "on a spec assumption" in hits[0]["message"], hits[0]
    assert code == 0, output[-3000:]


@pytest.mark.slow
def test_a_run_whose_auth_never_works_fails_loudly(tmp_path: Path) -> None:
    """Every protected call answered 401: without the guard, Schemathesis would find nothing wrong and pass."""
    code, outcomes, output = run_contract(tmp_path, "--vendor", "opsnow,knowledgestack", "--seed", "3",
                                          script=SABOTAGED_AUTH)  # fmt: skip
    assert code == 1, output[-3000:]
    failed = of(outcomes, "failed")
    assert any("authentication never succeeded" in o["message"] for o in failed), failed
    for vendor in ("opsnow", "knowledgestack"):
        guard = [o for o in outcomes if o["vendor"] == vendor and "test_authorized_calls" in o["nodeid"]]
        assert [o["outcome"] for o in guard] == ["failed"], guard
        protected_probe = "/platform/v2/identity/users/me" if vendor == "opsnow" else "GET /v1/users/me"
        probe = [o for o in outcomes if o["vendor"] == vendor and protected_probe in o["nodeid"]]
        assert probe and probe[0]["outcome"] == "failed", probe
    # Token endpoints are not protected: they still pass.
    token = [o for o in outcomes if "api-keys/token]" in o["nodeid"] or "pw/signin]" in o["nodeid"]]
    assert token and all(o["outcome"] == "passed" for o in token), token
    assert_nothing_secret(tmp_path, output, ["opsnow", "knowledgestack"])


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["intermittent-503", "drop-connection=5"])
def test_transient_infrastructure_faults_are_retried_not_blamed(tmp_path: Path, fault: str) -> None:
    code, outcomes, output = run_contract(tmp_path, "--mock-fault", fault, "--vendor", "opsnow", "--seed", "2")
    assert outcomes, output[-2000:]
    # Retries (Retry-After honoured) absorb them; what the retry budget cannot absorb is broken, never failed.
    assert not of(outcomes, "failed", "warning", "error"), of(outcomes, "failed", "warning", "error")
    assert of(outcomes, "passed"), output[-2000:]


@pytest.mark.slow
def test_an_outage_is_broken_not_failed(tmp_path: Path) -> None:
    """Every request answered 503 (after the retries the budget allows): infrastructure, never a verdict."""
    code, outcomes, output = run_contract(tmp_path, "--mock-fault", "intermittent-503=1", "--vendor", "klavi")
    assert outcomes, output[-2000:]
    assert not of(outcomes, "failed", "warning", "error"), of(outcomes, "failed", "warning", "error")
    broken = of(outcomes, "broken")
    assert broken and all("INFRASTRUCTURE" in o["message"] for o in broken), broken
    assert "Reproduce this test:" in output


@pytest.mark.slow
def test_the_same_seed_replays_the_same_run(tmp_path: Path) -> None:
    """Two runs with one seed find the same minimal failing examples (ports and timings aside)."""
    texts = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        _, outcomes, output = run_contract(folder, "--mock-fault", "server-error-on-bad-input", "--vendor",
                                           "klavi", "--seed", "1234")  # fmt: skip
        assert of(outcomes, "failed"), output[-2000:]
        body = output.split("= FAILURES =")[-1].split("short test summary")[0]
        texts.append(re.sub(r"127\.0\.0\.1:\d+|\d+\.\d+s", "<x>", body))
    assert texts[0] == texts[1]


def test_collected_ids_keep_vendor_and_operation(tmp_path: Path) -> None:
    """pytest 9.2 drops the operation from Schemathesis test IDs (the project pins below it): notice if it happens."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(CONTRACT), "--collect-only", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    ids = [line for line in proc.stdout.splitlines() if "::test_operation" in line]
    expected = {
        f"test_operation[{vendor}][{method.upper()} {path}]"
        for vendor in specs.vendors()
        for path, item in specs.load_openapi(vendor)["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert {line.split("::", 1)[1] for line in ids} == expected, proc.stdout[-2000:]
    assert len(ids) == len(set(ids))
