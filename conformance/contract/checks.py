"""The Schemathesis check functions the contract part runs, looked up by name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from schemathesis.checks import CHECKS, load_all_checks

from conformance.contract.budgets import RESPONSE_CHECKS

if TYPE_CHECKING:
    from conformance.contract.runtime import VendorContract


def named(names: Iterable[str]) -> list[Callable[..., Any]]:
    load_all_checks()
    return [CHECKS.get_one(name) for name in names]


def response_checks(contract: VendorContract) -> list[Callable[..., Any]]:
    """The response checks, with ignored_auth probing each operation once per run (as `schemathesis run` does).

    Outside Schemathesis's engine, ignored_auth re-sends every successful authorized request twice (without and
    with invalid credentials): three requests instead of one, which a sandbox's request budget cannot afford.
    """
    out = []
    for check in named(RESPONSE_CHECKS):
        out.append(_once_per_operation(check, contract.auth_enforced) if check.__name__ == "ignored_auth" else check)
    return out


def _once_per_operation(builtin: Callable[..., Any], enforced: set[str]) -> Callable[..., Any]:
    def ignored_auth(ctx: Any, response: Any, case: Any) -> bool | None:
        if getattr(ctx, "auth_enforced_operations", None) is None:
            ctx.auth_enforced_operations = enforced
        return builtin(ctx, response, case)

    return ignored_auth
