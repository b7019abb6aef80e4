"""Auth providers: the vendor session's token on protected operations, never on the token endpoints themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.contract import schemas

if TYPE_CHECKING:
    from schemathesis import Case
    from schemathesis.auths import AuthContext
    from schemathesis.schemas import BaseSchema

# Schemathesis applies auth while it generates cases, and it generates the spec's explicit examples while pytest
# collects, before any target exists. The providers therefore set a placeholder that the vendor's runtime replaces
# with its current token just before the request is sent (see VendorContract.authorize).
SUITE_TOKEN = "suite-token-pending"
THROWAWAY_TOKEN = "suite-throwaway-token-pending"
PLACEHOLDERS = (SUITE_TOKEN, THROWAWAY_TOKEN)


def _bearer(case: Case, token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def install(schema: BaseSchema, vendor: str) -> None:
    """Register the vendor's providers on `schema` (its clones share them).

    - Protected operations get the session's token (fetched, cached for 80 % of its lifetime and fetched again
      on an unexpected 401 by the runtime, once per token, see VendorContract.call).
    - Token endpoints (no security requirement) get nothing: they answer 401 to random credentials by design, and
      re-fetching a token on each such 401 is the retry-on-401 storm.
    - Sign-out gets a throwaway token of its own, so it never revokes the token the other operations use.
    Schemathesis's own caching and retry-on-401 are off: the runtime knows the real lifetime, Schemathesis does not.
    """
    roles = schemas.roles(vendor)
    unprotected = sorted(r.operation_id for r in roles.values() if r.token_endpoint and r.operation_id)
    signout = sorted(r.operation_id for r in roles.values() if r.signout and r.operation_id)

    class SuiteToken:
        def get(self, case: Case, context: AuthContext) -> Any:
            return SUITE_TOKEN

        def set(self, case: Case, data: Any, context: AuthContext) -> None:
            _bearer(case, data)

    register = schema.auth(refresh_interval=None, retry_on=[])
    if unprotected or signout:
        register = register.skip_for(operation_id=[*unprotected, *signout])
    register(SuiteToken)

    if signout:

        class ThrowawayToken:
            def get(self, case: Case, context: AuthContext) -> Any:
                return THROWAWAY_TOKEN

            def set(self, case: Case, data: Any, context: AuthContext) -> None:
                _bearer(case, data)

        schema.auth(refresh_interval=None, retry_on=[]).apply_to(operation_id=signout)(ThrowawayToken)
