"""The suite judged by the mocks: it passes on every faithful mock and, per fault, fails naming the fault's claims."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from conformance import specs
from conformance.mock.faults import FAULTS

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE_FAULTS = sorted(n for n, f in FAULTS.items() if f.kind == "conformance")
INFRA_FAULTS = sorted(n for n, f in FAULTS.items() if f.kind == "infrastructure")


CANARY = uuid.uuid4().hex[:12]
# Unique secret credentials for every mock: none of them, nor any token the mocks issue, may reach an artifact.
CANARY_SECRETS = {
    v: {name: f"canary-{CANARY}-{v}-{name}" for name, secret in specs.load_profile(v)["credentials"].items() if secret}
    for v in specs.vendors()
}
TOKEN_SHAPES = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|ks_live_[A-Za-z0-9]{8,}")


def run_suite(
    reports: Path, *args: str, html: bool = False, contract: bool = False
) -> tuple[int, list[dict[str, Any]], str]:
    cmd = [
        sys.executable,
        "-c",
        "import sys; from conformance.cli import main; sys.exit(main())",
        "run",
        "--reports",
        str(reports),
        # With the contract part on, one seed: the figures script (tests/verdict_figures.py) replays the same runs.
        *(["--seed", "7"] if contract else ["--no-contract"]),
        *([] if html else ["--no-html"]),
        *args,
    ]
    issued_dump = reports.parent / f"{reports.name}-issued.json"
    env = {
        **os.environ,
        "CONFORMANCE_MOCK_CREDENTIALS": json.dumps(CANARY_SECRETS),
        "CONFORMANCE_MOCK_ISSUED_DUMP": str(issued_dump),
    }
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    out = reports / "outcomes.json"
    outcomes = json.loads(out.read_text())["results"] if out.exists() else []
    output = proc.stdout + proc.stderr
    issued = json.loads(issued_dump.read_text()) if issued_dump.exists() else []
    assert issued or not outcomes, "the mocks' issued tokens were not dumped"
    assert_no_secrets(reports, output, issued)
    return proc.returncode, outcomes, output


def assert_no_secrets(reports: Path, output: str, issued: list[str]) -> None:
    """Search every artifact and the console output for canary credentials and every token the mocks issued."""
    secrets = [s for creds in CANARY_SECRETS.values() for s in creds.values()] + [t for t in issued if len(t) >= 12]
    places = [("console output", output)] + [
        (str(p.relative_to(reports)), p.read_text(encoding="utf-8", errors="replace"))
        for p in reports.rglob("*")
        if p.is_file()
    ]
    leaks = [(where, s[:20]) for where, text in places for s in secrets if s in text]
    leaks += [(where, m[:12]) for where, text in places for m in TOKEN_SHAPES.findall(text)]
    assert not leaks, f"secrets in artifacts: {leaks[:5]}"


def by_outcome(outcomes: list[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [o for o in outcomes if o["outcome"] in kinds]


@pytest.mark.slow
def test_whole_suite_passes_on_the_faithful_mocks(tmp_path: Path) -> None:
    code, outcomes, output = run_suite(tmp_path, html=True)
    assert (tmp_path / "allure-report" / "index.html").is_file()
    bad = by_outcome(outcomes, "failed", "warning", "broken", "error")
    assert code == 0, output[-3000:]
    assert not bad, bad[:3]
    assert len(by_outcome(outcomes, "passed")) >= 200
    vendors = {o["vendor"] for o in by_outcome(outcomes, "passed")}
    assert vendors == set(specs.vendors())


def one_vendor(fault: str) -> str:
    """The vendor a fault's self-test runs against (contract part on, so one vendor keeps it short), in rotation."""
    vendors = FAULTS[fault].vendors
    return vendors[CONFORMANCE_FAULTS.index(fault) % len(vendors)]


@pytest.mark.slow
@pytest.mark.parametrize("fault", CONFORMANCE_FAULTS)
def test_each_fault_fails_the_run_naming_its_claims(tmp_path: Path, fault: str) -> None:
    """The whole suite, contract part on, against one vendor with the fault: exit 1 naming the fault's claims."""
    f = FAULTS[fault]
    vendor = one_vendor(fault)
    code, outcomes, output = run_suite(tmp_path, "--mock-fault", fault, "--vendor", vendor, contract=True)
    index = specs.claim_index()
    expected = {c for c in f.claims if index[c].vendor in (vendor, specs.RFC)}
    reported = {c for o in by_outcome(outcomes, "failed", "warning") for c in o["failed_claims"]}
    missing = expected - reported
    assert not missing, f"{fault} on {vendor}: claims not reported: {sorted(missing)}\n{output[-2500:]}"
    # Every non-passing test names a claim: a verdict that traces to none is the suite's defect.
    unnamed = [o["nodeid"] for o in by_outcome(outcomes, "failed", "warning") if not o["failed_claims"]]
    assert not unnamed, unnamed
    # A fault breaking a documented or RFC claim, or a security baseline, fails the run; a guess alone warns.
    hard = [c for c in expected if index[c].decisive]
    assert code == (1 if hard else 0), output[-2500:]
    if not hard:
        assert by_outcome(outcomes, "warning"), "an assumption-only fault must show as a warning"
    assert not by_outcome(outcomes, "broken", "error"), by_outcome(outcomes, "broken", "error")[:2]


@pytest.mark.slow
@pytest.mark.parametrize("fault", INFRA_FAULTS)
def test_infrastructure_faults_are_never_non_conformance(tmp_path: Path, fault: str) -> None:
    code, outcomes, output = run_suite(tmp_path, "--mock-fault", fault, "--vendor", "opsnow")
    assert outcomes, output[-2000:]
    assert not by_outcome(outcomes, "failed", "warning", "error"), by_outcome(outcomes, "failed", "warning", "error")[
        :2
    ]
    assert code in (0, 3), output[-2000:]
    if code == 3:
        assert by_outcome(outcomes, "broken")


def test_every_claim_served_by_a_mock_is_broken_by_some_fault() -> None:
    """The fault catalogue covers the claims: a claim no fault breaks is a check no self-test proves can fail."""
    broken = {c for f in FAULTS.values() for c in f.claims}
    index = specs.claim_index()
    unknown = broken - set(index)
    assert not unknown, f"faults name unknown claims: {sorted(unknown)}"
    exempt = {"CONV-TLS-VERIFY", "KLEARSTACK-TLS-001"}  # proven by the TLS self-tests instead
    uncovered = sorted(set(index) - broken - exempt)
    assert not uncovered, f"claims no fault breaks: {uncovered}"


@pytest.mark.slow
def test_leaky_faults_leak_nothing_into_any_artifact(tmp_path: Path) -> None:
    """Faults that echo tokens, leak keys and fail with 500s, composed, with the full HTML report built."""
    faults = [
        "token-echo",
        "list-leaks-keys",
        "server-error-on-bad-input",
        "wrong-401-body",
        "bad-credentials-accepted",
    ]
    code, outcomes, _ = run_suite(tmp_path, *[a for f in faults for a in ("--mock-fault", f)], html=True)
    assert code == 1 and by_outcome(outcomes, "failed")
    assert (tmp_path / "allure-report" / "index.html").is_file()
