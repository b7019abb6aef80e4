"""Verdicts: security baselines fail whatever a claim's kind, both parts judge by claims, readings stay conformant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from conformance import specs
from conformance.contract import assumptions
from conformance.contract.budgets import RESPONSE_CHECKS, STATEFUL_CHECKS
from conformance.contract.failures import SPEC_SHAPE_CLAIM, finding_claims
from conformance.contract.schemas import roles
from conformance.contract.transport import make_session
from conformance.cookies import cookie_header, cookies_set
from conformance.failures import ConformanceFailure, Finding
from conformance.http import Budget, HttpClient
from conformance.mock.client import MockClient
from conformance.mock.faults import READINGS

ROOT = Path(__file__).resolve().parents[1]
INDEX = specs.claim_index()

# --- confidence is not consequence ---------------------------------------------------------------------------


def test_every_baseline_is_cited_by_a_security_claim_and_cites_an_rfc_or_bcp() -> None:
    cited = {c.baseline.id for c in INDEX.values() if c.baseline is not None}
    assert cited == set(specs.baselines())
    for claim in INDEX.values():
        if claim.baseline is not None:
            assert claim.security, claim.id
    for baseline in specs.baselines().values():
        assert "RFC" in baseline.cite and baseline.url.startswith("https://www.rfc-editor.org/")


@pytest.mark.parametrize(
    "claim_id",
    ["KLEARSTACK-AUTH-012", "OPSNOW-AUTH-007", "KSTACK-PW-003", "KLEARSTACK-AUTH-011", "KSTACK-SSO-002",
     "CONV-NO-SECRET-ECHO", "KLAVI-AUTH-010"],
)  # fmt: skip
def test_an_assumed_security_baseline_fails_the_run(claim_id: str) -> None:
    claim = INDEX[claim_id]
    assert claim.assumed and claim.baseline is not None
    failure = ConformanceFailure([Finding(claim.checks[0], (claim,), "refused", "200")])
    assert not failure.assumed_only
    assert claim.baseline.cite in failure.render() and "security baseline" in failure.headline()


def test_a_shape_guess_stays_a_warning() -> None:
    shape = INDEX["KLEARSTACK-AUTH-013"]
    assert shape.assumed and shape.baseline is None
    assert ConformanceFailure([Finding("bad_credentials_rejected", (shape,), "401", "400")]).assumed_only


def test_a_guessed_spec_part_softens_a_documented_claim_but_never_an_rfc_rule_or_a_baseline() -> None:
    guess = "response shape not documented"
    documented, rfc, baseline = INDEX["KLAVI-AUTH-006"], INDEX["RFC9110-15.5-CLIENT-ERROR"], INDEX["KSTACK-AUTH-001"]
    assert Finding("c", (documented,), "x", "y", assumption=guess).assumed_only
    assert not Finding("c", (documented,), "x", "y").assumed_only
    assert not Finding("c", (rfc,), "x", "y", assumption=guess).assumed_only
    assert not Finding("c", (baseline,), "x", "y", assumption=guess).assumed_only


# --- both parts judge by claims -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "label", "check", "status", "path", "guessed"),
    [
        ("knowledgestack", "POST /v1/auth/sso/initiate", "status_code_conformance", 404, None, True),
        ("knowledgestack", "GET /v1/api-keys/{api_key_id}", "status_code_conformance", 405, None, True),
        ("klavi", "GET /monitor/v1/reports", "response_schema_conformance", 200, ["required"], True),
        ("opsnow", "GET /platform/v2/identity/users/me", "response_schema_conformance", 200, ["required"], True),
        ("knowledgestack", "GET /v1/users/me", "response_schema_conformance", 200, ["required"], True),
        ("klavi", "POST /monitor/v1/auth", "response_schema_conformance", 200,
         ["properties", "expireIn", "oneOf"], True),
        ("knowledgestack", "POST /v1/auth/pw/signin", "response_schema_conformance", 200,
         ["properties", "access_token", "type"], False),
        ("knowledgestack", "POST /v1/auth/sso/initiate", "response_schema_conformance", 200,
         ["properties", "redirect_url", "format"], False),
    ],
)  # fmt: skip
def test_where_a_contract_check_fired(
    vendor: str, label: str, check: str, status: int, path: list[Any] | None, guessed: bool
) -> None:
    assert bool(assumptions.at(vendor, label, check, status, path)) is guessed


@pytest.mark.parametrize("vendor", specs.vendors())
def test_every_contract_finding_names_a_claim(vendor: str) -> None:
    """Whatever Schemathesis check fires on whichever operation, the finding names at least one claim."""
    for role in roles(vendor).values():
        for check in (*RESPONSE_CHECKS, *STATEFUL_CHECKS, "bearer_token_accepted", "issuance_succeeds"):
            claims = finding_claims(role, None, check)
            assert claims, (vendor, role.label, check)
    assert INDEX[SPEC_SHAPE_CLAIM].assumed and INDEX[SPEC_SHAPE_CLAIM].baseline is None


SABOTAGE = """
import sys
import pytest
from conformance import specs

claims_for = specs.claims_for

def no_claims_for_one_check(vendor, check):
    return () if check == "missing_token_not_accepted" else claims_for(vendor, check)

specs.claims_for = no_claims_for_one_check
import conformance.session
conformance.session.claims_for = no_claims_for_one_check
sys.exit(pytest.main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_finding_without_a_claim_is_a_suite_defect_never_a_verdict(tmp_path: Path) -> None:
    """A check whose claims were lost: the test that trips it ends as a suite error, not failed or warning."""
    outcomes = tmp_path / "o.json"
    cmd = [
        sys.executable, "-c", SABOTAGE, str(ROOT / "conformance" / "scenarios"), "-p", "conformance.plugin",
        "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), "-q",
        "--vendor", "opsnow", "--mock-fault", "auth-ignored", "--outcomes", str(outcomes),
        "-k", "authorization_header_variant and missing",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    results = json.loads(outcomes.read_text())["results"]
    assert [o["outcome"] for o in results] == ["error"], (results, proc.stdout[-2000:])
    assert "SUITE DEFECT" in results[0]["message"] and "missing_token_not_accepted" in results[0]["message"]


# --- no ambient credentials ---------------------------------------------------------------------------------


def test_the_suite_sends_back_no_cookie_a_vendor_set(client_for) -> None:
    """Against a mock that authenticates by its own session cookie: the suite's sessions never replay it."""
    client = client_for("opsnow", ["cookie-only-auth"])
    issued = client.issue()
    assert "mock_session" in cookies_set([issued.headers.items()])
    assert client.probe().status_code == 401  # MockClient refuses cookies too
    server = client.server
    suite = HttpClient("opsnow", server.base_url, verify=server.ca_path or True)
    contract = make_session("opsnow", Budget())
    spec = client.profile["issue"]
    probe = client.profile["probe"]
    body = client.credential_fields()
    assert suite.request(spec["method"], spec["path"], json_body=body).status == 200
    assert suite.request(probe["method"], probe["path"]).status == 401
    assert contract.post(server.base_url + spec["path"], json=body, timeout=10).status_code == 200
    assert contract.get(server.base_url + probe["path"], timeout=10).status_code == 401
    assert len(suite.session.cookies) == 0 and len(contract.cookies) == 0
    assert cookie_header({"sid": "abc", "lb": "1"}) == "sid=abc; lb=1"


# --- readings: the mocks take another plausible reading of every guess ----------------------------------------


def _json(r: requests.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


def _ks_uat(c: MockClient) -> str:
    return c.token()


def probe_body_wrapped(c: MockClient) -> bool:
    return set(_json(c.probe(c.token())) or {}) == {"result"}


def key_list_bare_array(c: MockClient) -> bool:
    return isinstance(_json(c.request("GET", "/v1/api-keys", token=_ks_uat(c))), list)


def validation_422(c: MockClient) -> bool:
    spec = c.profile["issue"]
    ctype = "application/json" if spec["encoding"] == "json" else "application/x-www-form-urlencoded"
    return c.request("POST", spec["path"], data=b"", headers={"Content-Type": ctype}).status_code == 422 or (
        c.issue(**{f: None for f in spec["fields"]}).status_code == 422
    )


def validation_400(c: MockClient) -> bool:
    return c.request("POST", "/v1/auth/pw/signin", json={"email": "x@example.com"}).status_code == 400


def issued_201(c: MockClient) -> bool:
    return c.issue().status_code == 201


def no_content_as_200(c: MockClient) -> bool:
    return c.request("POST", "/v1/auth/signout", token=_ks_uat(c)).status_code == 200


def challenge_variant(c: MockClient) -> bool:
    return c.probe().headers.get("www-authenticate", "").startswith("Basic ")


def expirein_string(c: MockClient) -> bool:
    return isinstance(c.issued()["expireIn"], str)


def error_body_variant(c: MockClient) -> bool:
    return "message" in (_json(c.probe()) or {})


def error_body_plain_text(c: MockClient) -> bool:
    return _json(c.probe()) is None


def sso_unknown_tenant_404(c: MockClient) -> bool:
    body = {"tenant_id": "tenant_unknown", "redirect_uri": c.server.credentials["sso_redirect_uri"]}
    return c.request("POST", "/v1/auth/sso/initiate", json=body).status_code == 404


def no_single_key_read(c: MockClient) -> bool:
    return c.request("GET", "/v1/api-keys/key_x", token=_ks_uat(c)).status_code == 405


def refresh_rotates(c: MockClient) -> bool:
    pair = c.issued()
    fresh = c.send_body("POST", "/getaccesstokenfromrefreshtoken", {"refresh_token": pair["refresh_token"]}, "form")
    return "refresh_token" in fresh.json()


READING_PROBES: dict[str, Callable[[MockClient], bool]] = {n: globals()[n.replace("-", "_")] for n in READINGS}


@pytest.fixture
def client_for(servers) -> Iterator[Callable[..., MockClient]]:
    made: list[MockClient] = []

    def make(vendor: str, names: list[str]) -> MockClient:
        server = servers[vendor]
        server.reset(faults=True)
        server.set_faults(names)
        made.append(MockClient(server))
        return made[-1]

    yield make
    for client in made:
        client.close()
        client.server.reset(faults=True)


def test_every_reading_names_the_guess_it_varies() -> None:
    assert set(READING_PROBES) == set(READINGS)
    for reading in READINGS.values():
        assert reading.kind == "reading" and reading.varies and reading.vendors
        assert all(INDEX[c].assumed for c in reading.claims), reading.name


CASES = [(r.name, v) for r in READINGS.values() for v in r.vendors]


@pytest.mark.parametrize(("reading", "vendor"), CASES, ids=[f"{r}-{v}" for r, v in CASES])
def test_each_reading_changes_the_behaviour_it_names(client_for, reading: str, vendor: str) -> None:
    assert not READING_PROBES[reading](client_for(vendor, []))
    client = client_for(vendor, [reading])
    assert READING_PROBES[reading](client)
    assert client.server.info()["internal_errors"] == 0


def run(reports: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """`conformance run` with the contract part on (dev budget, a fixed seed), as a user would start it."""
    cmd = [sys.executable, "-c", "import sys; from conformance.cli import main; sys.exit(main())", "run",
           "--reports", str(reports), "--no-html", "--seed", "7", *args]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    out = reports / "outcomes.json"
    return proc.returncode, json.loads(out.read_text())["results"] if out.exists() else [], proc.stdout + proc.stderr


def of(outcomes: list[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [o for o in outcomes if o["outcome"] in kinds]


@pytest.mark.slow
@pytest.mark.parametrize("reading", list(READINGS))
def test_the_whole_suite_accepts_each_reading(tmp_path: Path, reading: str) -> None:
    """Another plausible reading of a guess, contract part on: exit 0, at most warnings, each naming a claim."""
    vendors = [a for v in READINGS[reading].vendors for a in ("--vendor", v)]
    code, outcomes, output = run(tmp_path, "--mock-reading", reading, *vendors)
    assert code == 0, output[-3000:]
    assert of(outcomes, "passed") and not of(outcomes, "failed", "broken", "error"), output[-3000:]
    unnamed = [o["nodeid"] for o in of(outcomes, "warning") if not o["failed_claims"]]
    assert not unnamed, unnamed
    assert any("contract" in o["nodeid"] for o in of(outcomes, "passed", "warning")), "the contract part did not run"


@pytest.mark.slow
@pytest.mark.parametrize("vendor", specs.vendors())
def test_wrong_credentials_accepted_fails_every_vendor(tmp_path: Path, vendor: str) -> None:
    """Tokens for wrong credentials: exit 1 naming the vendor's baseline claim, whatever the claim's kind."""
    code, outcomes, output = run(tmp_path, "--mock-fault", "wrong-credentials-accepted", "--vendor", vendor)
    assert code == 1, output[-3000:]
    claim = next(c for c in specs.load_claims(vendor) if c.baseline and c.baseline.id.endswith("WRONG-CREDENTIALS"))
    failed = {c for o in of(outcomes, "failed") for c in o["failed_claims"]}
    assert claim.id in failed, (claim.id, failed)
    assert claim.baseline.cite in output


@pytest.mark.slow
def test_cookie_only_auth_fails_by_its_claim_and_the_contract_part_replays_no_cookie(tmp_path: Path) -> None:
    code, outcomes, output = run(tmp_path, "--mock-fault", "cookie-only-auth", "--vendor", "knowledgestack")
    assert code == 1, output[-3000:]
    failed = of(outcomes, "failed")
    assert {o["nodeid"].split("::")[-1] for o in failed} == {
        "test_cookie_set_by_the_api_is_not_a_credential[knowledgestack]"
    }, failed
    assert failed[0]["failed_claims"] == ["KSTACK-AUTH-001"]
    assert not of(outcomes, "warning", "broken", "error"), output[-3000:]
