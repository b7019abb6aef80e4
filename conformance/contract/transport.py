"""The contract part's HTTP session per vendor: the suite's request budget, budgeted retries and Retry-After."""

from __future__ import annotations

from typing import Any

import requests
from schemathesis.transport.requests import REQUESTS_TRANSPORT, RequestsTransport

from conformance.cookies import refuse_cookies
from conformance.failures import InfrastructureError
from conformance.http import OUTAGE_STATUSES, Budget, NoRedirectSession, retry_policy, trip, unreachable
from conformance.limits import BoundedAdapter, LimitExceeded, Limits
from conformance.redact import Redactor

__all__ = ["OUTAGE_STATUSES", "BudgetedAdapter", "ContractTransport", "as_infrastructure", "make_session"]


class BudgetedAdapter(BoundedAdapter):
    """Every request (Schemathesis's own probes included) draws on the vendor's request budget before it is sent,
    and ends at the deadline with at most the size cap read, like the scenarios' requests."""

    def __init__(self, vendor: str, budget: Budget, limits: Limits | None = None) -> None:
        self.vendor = vendor
        self.budget = budget
        retry = retry_policy(budget)
        super().__init__(limits, max_retries=retry, pool_connections=4, pool_maxsize=4)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.budget.spend_request(self.vendor)
        try:
            return super().send(request, *args, **kwargs)
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            if unreachable(exc):
                origin = "/".join((request.url or "").split("/")[:3])
                trip(self.budget, as_infrastructure(self.vendor, origin, exc))
            raise


def make_session(vendor: str, budget: Budget, limits: Limits | None = None) -> requests.Session:
    # Never follows a redirect, keeps no cookie: Schemathesis asks requests to follow redirects unless the spec
    # documents a 3xx, and a request meant to carry no credential must carry none (ignored_auth).
    session = refuse_cookies(NoRedirectSession())
    # Loopback mocks and configured targets only: no proxies or CA bundles picked up from the environment.
    session.trust_env = False
    adapter = BudgetedAdapter(vendor, budget, limits)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "auth-conformance-suite (contract)"
    return session


def as_infrastructure(
    vendor: str, base_url: str, exc: BaseException, redactor: Redactor | None = None
) -> InfrastructureError:
    """A transport-level exception (unreachable, timeout, TLS, retries exhausted) as an infrastructure problem."""
    if isinstance(exc, InfrastructureError):
        return exc
    if isinstance(exc, LimitExceeded):
        return InfrastructureError(f"{vendor}: {base_url}: {exc}")
    text = str(exc).strip().splitlines()
    first = (text[0] if text else type(exc).__name__)[:300]
    # The exception text may quote what the server sent (an echoed status line) or a URL with a query.
    first = (redactor or Redactor()).text(first)
    if isinstance(exc, requests.exceptions.SSLError):
        return InfrastructureError(f"{vendor}: TLS handshake with {base_url} failed: {first}")
    return InfrastructureError(f"{vendor}: cannot reach {base_url}: {first}")


class ContractTransport(RequestsTransport):
    """Schemathesis's requests transport, except that requests sent without a session use the vendor's probe session.

    Schemathesis sends some checks' probes (ignored_auth: the same request without and with invalid credentials)
    without the run's session, so that no session-held credential leaks into them. Those requests would bypass the
    request budget, the retries and Retry-After: the vendor's probe session has all three, holds no credential and
    forgets cookies after each request.
    """

    def send(self, case: Any, *, session: requests.Session | None = None, **kwargs: Any) -> Any:
        if session is not None:
            return super().send(case, session=session, **kwargs)
        from conformance.contract import runtime, schemas

        contract = runtime.ACTIVE.get(schemas.vendor_of(case.operation.schema))
        if contract is None:
            return super().send(case, **kwargs)
        kwargs.setdefault("verify", contract.target.verify)
        kwargs.setdefault("timeout", contract.target.timeout)
        try:
            return super().send(case, session=contract.probe_http, **kwargs)
        finally:
            contract.probe_http.cookies.clear()


CONTRACT_TRANSPORT = ContractTransport()
# The same serializers as Schemathesis's own requests transport (shared, so media types registered later count too).
CONTRACT_TRANSPORT._serializers = REQUESTS_TRANSPORT._serializers
