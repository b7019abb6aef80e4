"""A vendor made only of data (tests/fixtures/vendors/northwind): its generated mock passes the whole suite, and
each fault that applies to it fails the run naming the vendor's own claims."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import specs
from conformance.mock import faults

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "vendors"
VENDOR = "northwind"


def _with_fixture() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}, specs.SPECS_ENV: str(FIXTURES)}


def _applicable() -> list[str]:
    """The conformance faults that reach the fixture vendor and break at least one of its claims."""
    previous = os.environ.get(specs.SPECS_ENV)
    os.environ[specs.SPECS_ENV] = str(FIXTURES)
    specs.clear_caches()
    try:
        return sorted(
            f.name
            for f in faults.CATALOGUE
            if f.kind == "conformance" and faults.applies(f, VENDOR) and faults.claims_broken(f, VENDOR)
        )
    finally:
        if previous is None:
            os.environ.pop(specs.SPECS_ENV)
        else:
            os.environ[specs.SPECS_ENV] = previous
        specs.clear_caches()


APPLICABLE = _applicable()


def run(reports: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    cmd = [sys.executable, "-m", "conformance.cli", "run", "--vendor", VENDOR, "--no-html", "--reports", str(reports)]
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=600, env=_with_fixture())
    out = reports / "outcomes.json"
    outcomes = json.loads(out.read_text())["results"] if out.exists() else []
    return proc.returncode, outcomes, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture
def fixture_specs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(specs.SPECS_ENV, str(FIXTURES))
    specs.clear_caches()
    yield
    monkeypatch.delenv(specs.SPECS_ENV)
    specs.clear_caches()


def test_the_fixture_vendor_is_data_only_and_reached_by_faults(fixture_specs: None) -> None:
    assert VENDOR in specs.vendors() and VENDOR not in faults.VENDORS
    assert not list(Path(faults.__file__).parent.glob(f"{VENDOR}*.py"))
    # The capability-bound faults reach it through its profile (json issuance, refresh, keys), not by name.
    for name in ("wrong-401-body", "refresh-same-expiry", "revoked-key-works", "wrong-content-type", "never-expire"):
        assert name in APPLICABLE
    for name in ("multipart-rejected", "sso-open-redirect", "signout-noop"):
        assert not faults.applies(faults.FAULTS[name], VENDOR)
    assert set(faults.claims_broken(faults.FAULTS["never-expire"], VENDOR)) == {"RFC7519-4.1.4-EXP", "NW-AUTH-004"}


@pytest.mark.slow
def test_the_generated_mock_passes_the_whole_suite(tmp_path: Path) -> None:
    code, outcomes, output = run(tmp_path, "--seed", "3")
    assert code == 0, output
    assert {o["outcome"] for o in outcomes} == {"passed", "skipped"}, output
    passed = [o for o in outcomes if o["outcome"] == "passed"]
    assert len(passed) >= 60 and {o["vendor"] for o in passed} == {VENDOR}
    contract = [o for o in passed if "test_operation[" in o["nodeid"]]
    assert len(contract) == 6, "every operation of the spec is served and passes Schemathesis"


@pytest.mark.slow
@pytest.mark.parametrize("fault", APPLICABLE)
def test_each_applicable_fault_fails_naming_the_vendors_claims(tmp_path: Path, fault: str, fixture_specs: None) -> None:
    expected = set(faults.claims_broken(faults.FAULTS[fault], VENDOR))
    index = specs.claim_index()
    # A fault breaking a documented or RFC claim, or a security baseline, fails the run; a guess alone warns.
    hard = [c for c in expected if index[c].decisive]
    # Contract part on, as for the built-in vendors: some claims (CONV-SPEC-SHAPE) only it can report.
    code, outcomes, output = run(tmp_path, "--seed", "3", "--mock-fault", fault)
    reported = {c for o in outcomes if o["outcome"] in ("failed", "warning") for c in o["failed_claims"]}
    assert expected <= reported, f"{fault}: not reported: {sorted(expected - reported)}\n{output}"
    assert code == (1 if hard else 0), output
    assert not [o for o in outcomes if o["outcome"] in ("broken", "error")], output
