"""Hooks of the contract part: options before collection, per-vendor runtime, Allure labels and outcomes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import allure
import pytest
from _pytest.outcomes import OutcomeException
from schemathesis.generation.hypothesis.builder import ApiOperationMark
from schemathesis.pytest.plugin import SchemathesisFunction

from conformance.contract import failures, options, runtime, schemas
from conformance.contract.budgets import RESPONSE_CHECKS
from conformance.contract.items import ITEM_KEY, ItemInfo, label_allure
from conformance.contract.runtime import VendorContract
from conformance.failures import ConformanceFailure, InfrastructureError, SuiteConfigError
from conformance.plugin import CLAIMS_KEY, FAILED_CLAIMS_KEY, VENDOR_KEY, label_failed_claims, suite_defect


def pytest_configure(config: pytest.Config) -> None:
    try:
        options.configure(config)
    except SuiteConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    # Hypothesis keeps caches (and, unless disabled, example databases) in ./.hypothesis: keep the checkout clean.
    if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        from hypothesis.configuration import set_hypothesis_home_dir

        set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "auth-conformance-hypothesis")


def pytest_report_header(config: pytest.Config) -> str:
    opts = options.current()
    return f"contract: budget {opts.budget}, seed {opts.seed} (--seed {opts.seed} replays this run's cases)"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Operation tests carry their vendor and operation from collection on (the plugin's outcomes need them)."""
    for item in items:
        operation = ApiOperationMark.get(item.obj) if isinstance(item, SchemathesisFunction) else None
        if operation is not None and schemas.VENDOR_KEY in operation.schema.raw_schema:
            item.stash[ITEM_KEY] = ItemInfo(schemas.vendor_of(operation.schema), operation.label)
            item.stash[VENDOR_KEY] = item.stash[ITEM_KEY].vendor


# --- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def contract_runtime(conformance_runtime: Any) -> Iterator[dict[str, VendorContract]]:
    """One VendorContract per selected vendor, on the target the suite's plugin set up."""
    opts = options.current()
    for vendor in conformance_runtime.vendors:
        runtime.ACTIVE[vendor] = VendorContract(conformance_runtime.session(vendor), opts)
    yield runtime.ACTIVE
    problems = [p for c in runtime.ACTIVE.values() for p in c.cleanup()]
    for c in runtime.ACTIVE.values():
        c.http.close()
        c.probe_http.close()
    runtime.ACTIVE.clear()
    if problems:
        import warnings

        warnings.warn("contract clean-up: " + "; ".join(problems), stacklevel=1)


@pytest.fixture
def contract_operation(request: pytest.FixtureRequest, contract_runtime: dict[str, VendorContract]) -> VendorContract:
    """The vendor of one operation's test: Allure labels, claims, and a skip for destructive fuzzing on real targets."""
    info = request.node.stash.get(ITEM_KEY, None)
    if info is None or info.label is None:
        raise RuntimeError("contract_operation is only for the Schemathesis operation tests")
    contract = runtime.get(info.vendor)
    role = contract.roles[info.label]
    request.node.stash[CLAIMS_KEY] = failures.verified_claims(role, RESPONSE_CHECKS)
    reason = role.destructive_on(contract.options.is_mock)
    if reason:
        pytest.skip(f"{info.vendor}: {reason}")
    contract.counters.pop(info.label, None)
    return contract


# --- outcomes --------------------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    """Schemathesis failures -> `failed` (or `warning` on assumed claims), outages -> `broken`, auth guard."""
    # Hidden frames: pytest would print their arguments, and the original exception holds unredacted text.
    __tracebackhide__ = True
    info = pyfuncitem.stash.get(ITEM_KEY, None)
    converted: BaseException | None = None
    if info is not None and info.label is not None and info.vendor in runtime.ACTIVE:
        # allure-pytest names the result again when the call starts: the operation's title is set here.
        claims = pyfuncitem.stash.get(CLAIMS_KEY, [])
        label_allure(runtime.ACTIVE[info.vendor], info.label, story=info.label, claims=claims)
    try:
        result = yield
    except (OutcomeException, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        info = pyfuncitem.stash.get(ITEM_KEY, info)
        contract = runtime.ACTIVE.get(info.vendor) if info is not None else None
        if contract is None or info is None:
            raise
        converted = failures.convert(exc, contract, pyfuncitem.nodeid, info.label or "stateful links")
        if converted is exc and not isinstance(exc, (ConformanceFailure, InfrastructureError)):
            raise
    if converted is not None:
        _report(pyfuncitem, converted, contract)
    if info is not None and info.label is not None and (contract := runtime.ACTIVE.get(info.vendor)):
        _guard(pyfuncitem, contract, info.label)
    return result


def _report(item: pytest.Function, converted: BaseException, contract: VendorContract) -> None:
    """Raise what pytest (and the plugin's outcome classification) should see instead of the original exception."""
    __tracebackhide__ = True
    if isinstance(converted, failures.ContractFailure) and converted.example:
        allure.attach(converted.example, name="minimal failing example", attachment_type=allure.attachment_type.TEXT)
    if isinstance(converted, ConformanceFailure):
        if converted.claimless:
            raise suite_defect(converted) from None
        item.stash[FAILED_CLAIMS_KEY] = converted.claim_ids
        label_failed_claims(converted.claim_ids)
        if converted.assumed_only:
            pytest.xfail(f"ASSUMPTION NOT MET (warning): {converted.render()}")
        raise converted
    if isinstance(converted, InfrastructureError):
        raise failures.broken_message(converted, contract, item.nodeid)
    raise converted


def _guard(item: pytest.Function, contract: VendorContract, label: str) -> None:
    """A protected operation whose every authorized call was refused tested nothing behind authentication."""
    __tracebackhide__ = True
    role = contract.roles.get(label)
    counter = contract.counters.get(label)
    if role is None or counter is None or counter.calls == 0:
        return
    if role.issue and counter.succeeded == 0:
        # The spec's example (with the target's credentials) should have been issued a token.
        _report(item, failures.issuance_never_succeeded(contract, label, item.nodeid), contract)
    if not role.protected:
        return
    if counter.authorized_2xx == 0 and counter.authorized_rejected == counter.authorized:
        failure = failures.auth_never_succeeded(contract, label, item.nodeid, contract.last_rejected.get(label))
        _report(item, failure, contract)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """The plugin finds the vendor in `vendor_under_test`; Schemathesis items carry it in the stash instead."""
    report = yield
    info = item.stash.get(ITEM_KEY, None)
    if info is not None:
        for key, value in report.user_properties:
            if key == "conformance" and isinstance(value, dict) and not value.get("vendor"):
                value["vendor"] = info.vendor
    return report
