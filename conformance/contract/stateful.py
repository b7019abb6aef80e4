"""The stateful run over a spec's OpenAPI links: mock reset per scenario, deleted-key probes, own keys only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import hypothesis
import requests
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import UseAfterFree

from conformance.contract import checks as contract_checks
from conformance.contract import schemas
from conformance.contract.budgets import STATEFUL_CHECKS, stateful_settings
from conformance.contract.failures import DELETED_KEY_TITLE, Context, attach_context
from conformance.contract.transport import as_infrastructure

if TYPE_CHECKING:
    from schemathesis import Case
    from schemathesis.core.transport import Response
    from schemathesis.schemas import BaseSchema

    from conformance.contract.runtime import VendorContract


def machine_for(schema: BaseSchema, contract: VendorContract) -> type:
    """A state machine over the spec's links that talks to the contract runtime of one vendor."""
    roles = contract.roles
    if not contract.options.is_mock:
        # Sign-out would revoke the suite's token on a real target; everything else is linked or harmless.
        signout = [r.operation_id for r in roles.values() if r.signout and r.operation_id]
        if signout:
            schema = schema.exclude(operation_id=signout)
    base = schema.as_state_machine()
    checks = [*contract.checks, *contract_checks.named(STATEFUL_CHECKS), deleted_key_probe(contract)]

    class ContractStateMachine(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            super().setup()
            self.steps: list[str] = []
            # Scenarios must not see each other's keys and tokens ("bundle unexpectedly empty" otherwise).
            if contract.options.is_mock and contract.session.control is not None:
                contract.session.control.request("POST", "/reset", json_body={})

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return contract.transport_kwargs()

        def call(self, case: Case, **kwargs: Any) -> Response:
            role = roles.get(case.operation.label)
            if role is not None and role.key_delete and not contract.options.is_mock:
                key_id = next(iter((case.path_parameters or {}).values()), None)
                # On real targets only keys this run created are ever deleted.
                hypothesis.assume(key_id in contract.created_keys)
            response = contract.call(case)
            self.steps.append(f"{case.operation.method.upper()} {case.formatted_path} -> {response.status_code}")
            return response

        def after_call(self, response: Response, case: Case) -> None:
            # The recording base class stores the response: use_after_free and ensure_resource_availability
            # look earlier responses up there, and silently never fire without it.
            super().after_call(response, case)

        def validate_response(
            self, response: Response, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                case.validate_response(
                    response,
                    checks=checks,
                    transport_kwargs=kwargs or contract.transport_kwargs(),
                    recorder=self.recorder,
                )
            except FailureGroup as group:
                context = Context(contract.vendor, case, response, contract.target.base_url, list(self.steps))
                attach_context(group, context)
                raise

    ContractStateMachine.__name__ = ContractStateMachine.__qualname__ = f"{contract.vendor.title()}Links"
    return ContractStateMachine


def run(schema: BaseSchema, contract: VendorContract) -> None:
    """Run the vendor's scenarios with the run's budget and seed (the same seed replays the same scenarios)."""
    opts = contract.options
    machine = machine_for(schema, contract)
    machine = hypothesis.seed(opts.seed)(machine)
    machine.rule_order_seed = opts.seed
    machine.run(settings=stateful_settings(schemas.budget_for(contract.vendor, opts)))


def deleted_key_probe(contract: VendorContract) -> Any:
    """A check on successful key deletions: the deleted key, sent as a Bearer token, must be refused.

    Reading the deleted key (the spec's delete -> get link) shows whether the resource is gone; this shows whether
    the credential is gone, which is what a revoked key that still works breaks.
    """

    def deleted_key_rejected(ctx: Any, response: Response, case: Case) -> bool | None:
        role = contract.roles.get(case.operation.label)
        if role is None or not role.key_delete or not 200 <= response.status_code < 300:
            return None
        key_id = next(iter((case.path_parameters or {}).values()), None)
        secret = contract.created_keys.get(key_id) if isinstance(key_id, str) else None
        if not secret:
            return None
        probe = contract.target.probe or contract.profile["probe"]
        url = contract.target.base_url + probe["path"]
        try:
            answer = contract.probe_http.request(
                probe["method"],
                url,
                headers={"Authorization": f"Bearer {secret}"},
                verify=contract.target.verify,
                timeout=contract.target.timeout,
            )
        except requests.RequestException as exc:
            raise as_infrastructure(contract.vendor, contract.target.base_url, exc, contract.session.redactor) from None
        finally:
            contract.probe_http.cookies.clear()
        if 200 <= answer.status_code < 300:
            free = f"{case.operation.method.upper()} {case.formatted_path}"
            usage = f"{probe['method']} {probe['path']} with the deleted key as the Bearer token"
            raise UseAfterFree(
                operation=case.operation.label,
                title=DELETED_KEY_TITLE,
                message=(
                    f"The key was deleted with `{free}` ({response.status_code}), yet `{usage}` answered "
                    f"{answer.status_code} instead of 401: a deleted key must no longer authenticate."
                ),
                free=free,
                usage=usage,
                deleted_case_id=case.id,
            )
        return None

    return deleted_key_rejected
