"""Schemathesis (positive, negative, stateful) over every operation of each spec finds nothing wrong with the mocks."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode

from conformance.mock import VENDORS, MockServer
from conformance.mock.client import MockClient
from conformance.specs import SPECS_DIR, load_openapi

MAX_EXAMPLES = 25
STATEFUL_EXAMPLES = 15
SEED = 20261124
_SERVERS: dict[str, MockServer] = {}
_TOKENS: dict[str, str] = {}
_SESSIONS: dict[str, requests.Session] = {}
_SEEN: dict[tuple[str, str], set[int]] = {}
# Operations that need an earlier call's result (a refresh token, a key id): only the stateful runs reach
# their 2xx. Everything else must see a 2xx in plain fuzzing, or it tested nothing behind auth.
_NEEDS_STATE = {
    ("klearstack", "POST /getaccesstokenfromrefreshtoken"),
    ("knowledgestack", "GET /v1/api-keys/{api_key_id}"),
    ("knowledgestack", "DELETE /v1/api-keys/{api_key_id}"),
}


def _schema(vendor: str):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_path(SPECS_DIR / vendor / "openapi.yaml")
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        database="none",
        deterministic=True,
    )
    schema.config.seed = SEED
    return schema


@pytest.fixture(scope="module", autouse=True)
def servers() -> Iterator[dict[str, MockServer]]:
    for vendor in VENDORS:
        _SERVERS[vendor] = MockServer(vendor).start()
    yield _SERVERS
    for session in _SESSIONS.values():
        session.close()
    _SESSIONS.clear()
    for server in _SERVERS.values():
        server.stop()
    _SERVERS.clear()
    _TOKENS.clear()


@pytest.fixture(autouse=True)
def reached_behind_auth() -> Iterator[None]:
    """After each test item (one operation, all its examples): a 2xx was seen and the mock never raised.

    Checked per item, not at the end of the module, so that it holds under pytest-xdist too.
    """
    _SEEN.clear()
    yield
    for (vendor, label), statuses in _SEEN.items():
        if (vendor, label) not in _NEEDS_STATE:
            assert any(200 <= s < 300 for s in statuses), f"{vendor} {label}: no 2xx among {sorted(statuses)}"
    for vendor in {v for v, _ in _SEEN}:
        assert _SERVERS[vendor].info()["internal_errors"] == 0, f"the {vendor} mock raised; see /_mock/log"


def _bearer(vendor: str, operation_id: str | None) -> dict[str, str]:
    """A real token for protected operations; sign-out burns its token, so it gets a fresh one each time."""
    if vendor not in _TOKENS or operation_id == "sign_out":
        client = MockClient(_SERVERS[vendor])
        _TOKENS[vendor] = client.token()
        client.close()
    return {"Authorization": f"Bearer {_TOKENS[vendor]}"}


def _session(vendor: str) -> requests.Session:
    """One keep-alive session per mock (a TLS handshake per call would triple the run time)."""
    if vendor not in _SESSIONS:
        session = requests.Session()
        session.trust_env = False  # loopback: no proxies, no CA bundle from the environment
        _SESSIONS[vendor] = session
    return _SESSIONS[vendor]


def _protected(vendor: str, operation: dict) -> bool:
    # An operation's own `security` wins over the document's; `[]` marks the token endpoints.
    return bool(operation.get("security", load_openapi(vendor).get("security", [])))


def _call(vendor: str, case) -> None:  # type: ignore[no-untyped-def]
    server = _SERVERS[vendor]
    operation = case.operation.definition.raw
    headers = _bearer(vendor, operation.get("operationId")) if _protected(vendor, operation) else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KlearStack's doc says to turn TLS verification off; the suite complies
        response = case.call_and_validate(
            base_url=server.base_url,
            headers=headers,
            session=_session(vendor),
            verify=False,
            excluded_checks=_excluded(case),
        )
    _SEEN.setdefault((vendor, case.operation.label), set()).add(response.status_code)


def _excluded(case) -> list:  # type: ignore[no-untyped-def]
    # SSO for an unregistered tenant is refused with the documented 400 by design: valid JSON, not accepted data.
    if case.operation.definition.raw.get("operationId") == "initiate_sso":
        return [schemathesis.checks.positive_data_acceptance]
    return []


def _state_machine(vendor: str, schema):  # type: ignore[no-untyped-def]
    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            _SERVERS[vendor].reset()

        def get_call_kwargs(self, case) -> dict:  # type: ignore[no-untyped-def]
            operation = case.operation.definition.raw
            headers = _bearer(vendor, operation.get("operationId")) if _protected(vendor, operation) else {}
            return {
                "base_url": _SERVERS[vendor].base_url,
                "headers": headers,
                "session": _session(vendor),
                "verify": False,
            }

        def after_call(self, response, case) -> None:  # type: ignore[no-untyped-def]
            super().after_call(response, case)
            _SEEN.setdefault((vendor, case.operation.label), set()).add(response.status_code)

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=_excluded(case),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    return Machine


klearstack = _schema("klearstack")
klavi = _schema("klavi")
opsnow = _schema("opsnow")
knowledgestack = _schema("knowledgestack")


@klearstack.parametrize()
def test_klearstack(case) -> None:  # type: ignore[no-untyped-def]
    _call("klearstack", case)


@klavi.parametrize()
def test_klavi(case) -> None:  # type: ignore[no-untyped-def]
    _call("klavi", case)


@opsnow.parametrize()
def test_opsnow(case) -> None:  # type: ignore[no-untyped-def]
    _call("opsnow", case)


@knowledgestack.parametrize()
def test_knowledgestack(case) -> None:  # type: ignore[no-untyped-def]
    _call("knowledgestack", case)


@pytest.mark.parametrize("vendor", ["klearstack", "knowledgestack"])
def test_stateful_links(vendor: str) -> None:
    """Links (token pair -> refresh, key create -> read/delete) reach what plain fuzzing cannot."""
    machine = _state_machine(vendor, {"klearstack": klearstack, "knowledgestack": knowledgestack}[vendor])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        machine.run(
            settings=settings(
                max_examples=STATEFUL_EXAMPLES,
                stateful_step_count=6,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],
            )
        )
    unreached = [
        label
        for v, label in _NEEDS_STATE
        if v == vendor and not any(200 <= s < 300 for s in _SEEN.get((vendor, label), ()))
    ]
    assert not unreached, f"the stateful run never reached a 2xx of {unreached}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_operation_of_the_spec_is_fuzzed(vendor: str) -> None:
    spec = load_openapi(vendor)
    labels = {f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item if m != "parameters"}
    schema = {"klearstack": klearstack, "klavi": klavi, "opsnow": opsnow, "knowledgestack": knowledgestack}[vendor]
    assert {result.ok().label for result in schema.get_all_operations()} == labels


def test_the_harness_reports_a_faulty_mock() -> None:
    """The same calls against a mock with faults must fail, or the clean runs above prove nothing."""
    from hypothesis import given
    from schemathesis.core.failures import FailureGroup

    with MockServer("opsnow", faults=["server-error-on-bad-input", "wrong-content-type"]) as server:
        operation = _schema("opsnow")["/platform/v2/identity/api-keys/token"]["POST"]

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            database=None,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(base_url=server.base_url)

        with pytest.raises(FailureGroup) as info:
            run()
        titles = {type(e).__name__ for e in info.value.exceptions}
        assert "ServerError" in titles, titles
