"""Contract tests: each operation of each selected vendor's spec fuzzed (positive and negative), then stateful links."""

from __future__ import annotations

import allure
import hypothesis
import pytest
import schemathesis
from schemathesis import Case
from schemathesis.core.failures import FailureGroup

from conformance.contract import auth, options, runtime, schemas, stateful
from conformance.contract.budgets import STATEFUL_CHECKS
from conformance.contract.failures import Context, attach_context, auth_never_succeeded, verified_claims
from conformance.contract.items import ITEM_KEY, ItemInfo, label_allure
from conformance.contract.runtime import VendorContract
from conformance.plugin import CLAIMS_KEY

OPTIONS = options.current()
SCHEMAS = {
    vendor: schemas.only(schemas.load(vendor, schemas.budget_for(vendor, OPTIONS), OPTIONS.seed), OPTIONS.operation)
    for vendor in OPTIONS.vendors
}
for _vendor, _schema in SCHEMAS.items():
    auth.install(_schema, _vendor)


@schemathesis.pytest.parametrize(**SCHEMAS)
# The fixture holds per-vendor state meant to outlive single examples; generation speed depends on the target.
@hypothesis.settings(
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture, hypothesis.HealthCheck.too_slow]
)
def test_operation(case: Case, contract_operation: VendorContract) -> None:
    """One generated case (Hypothesis calls this once per example): send it, then run the contract checks."""
    response = contract_operation.call(case)
    try:
        case.validate_response(
            response, checks=contract_operation.checks, transport_kwargs=contract_operation.transport_kwargs()
        )
    except FailureGroup as group:
        attach_context(group, Context(contract_operation.vendor, case, response, contract_operation.target.base_url))
        raise


def test_stateful_links(
    vendor_under_test: str, contract_runtime: dict[str, VendorContract], request: pytest.FixtureRequest
) -> None:
    """Scenarios along the spec's OpenAPI links (create -> read/delete, delete -> read, issue -> refresh)."""
    vendor = vendor_under_test
    contract = runtime.get(vendor)
    request.node.stash[ITEM_KEY] = ItemInfo(vendor)
    if not schemas.has_links(vendor):
        label_allure(contract, "stateful links", story="stateful links")
        pytest.skip(f"{vendor}: its spec has no OpenAPI links to follow")
    claims = sorted({c for role in contract.roles.values() for c in verified_claims(role, STATEFUL_CHECKS)})
    request.node.stash[CLAIMS_KEY] = claims
    label_allure(contract, "stateful links", story="stateful links", claims=claims)
    stateful.run(SCHEMAS[vendor], contract)


def test_authorized_calls_reached_the_api(
    vendor_under_test: str, contract_runtime: dict[str, VendorContract], request: pytest.FixtureRequest
) -> None:
    """A contract run whose token never worked tests nothing behind authentication: that must fail loudly."""
    vendor = vendor_under_test
    contract = runtime.get(vendor)
    label_allure(contract, "authorized calls succeeded", story="authentication")
    request.node.stash[ITEM_KEY] = ItemInfo(vendor)
    protected = [label for label, role in contract.roles.items() if role.protected]
    ran = {label: contract.counters[label] for label in protected if label in contract.counters}
    # Successes with the token every operation shares (a sign-out's throwaway token does not count).
    succeeded = sum(c.shared_2xx for c in ran.values())
    if not succeeded:
        # Under pytest-xdist this worker may have run only operations that cannot succeed with generated data, or
        # none; another worker (or the vendor itself, revoking sessions on sign-out) may have retired the token.
        # The verdict is the probe's, with a token fetched now: no race between workers decides it.
        current = contract.current_token()
        response = contract.session.probe(f"Bearer {contract.renew(current) if ran else current}")
        contract.session.recorder.drain()
        if 200 <= response.status < 300:
            return
        if not ran:
            detail = f"the probe refused the token the suite obtained ({response.status}); every protected call is 401"
            raise auth_never_succeeded(contract, "any protected operation", request.node.nodeid, None, detail)
    allure.attach(
        "\n".join(
            f"{label}: {c.authorized_2xx} of {c.authorized} authorized calls succeeded ({c.calls} calls in all)"
            for label, c in ran.items()
        ),
        name="authorized calls per operation",
        attachment_type=allure.attachment_type.TEXT,
    )
    if succeeded == 0:
        detail = (
            f"not one of {sum(c.authorized for c in ran.values())} authorized calls to {len(ran)} protected "
            "operation(s) succeeded"
        )
        sample = next((contract.last_rejected[label] for label in ran if label in contract.last_rejected), None)
        raise auth_never_succeeded(contract, "all protected operations", request.node.nodeid, sample, detail)
