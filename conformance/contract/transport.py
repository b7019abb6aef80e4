"""The contract part's HTTP session per vendor: the suite's request budget, budgeted retries and Retry-After."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from conformance.failures import InfrastructureError
from conformance.http import OUTAGE_STATUSES, Budget, BudgetedRetry

__all__ = ["OUTAGE_STATUSES", "BudgetedAdapter", "make_session", "as_infrastructure"]


class BudgetedAdapter(HTTPAdapter):
    """Every request (Schemathesis's own probes included) draws on the vendor's request budget before it is sent."""

    def __init__(self, vendor: str, budget: Budget) -> None:
        self.vendor = vendor
        self.budget = budget
        retry = BudgetedRetry(
            total=4,
            connect=3,
            read=1,
            status=3,
            backoff_factor=0.2,
            backoff_max=2.0,
            status_forcelist=sorted(OUTAGE_STATUSES),
            allowed_methods=None,
            respect_retry_after_header=True,
            raise_on_status=False,
            budget=budget,
        )
        super().__init__(max_retries=retry, pool_connections=4, pool_maxsize=4)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.budget.spend_request(self.vendor)
        return super().send(request, *args, **kwargs)


def make_session(vendor: str, budget: Budget) -> requests.Session:
    session = requests.Session()
    # Loopback mocks and configured targets only: no proxies or CA bundles picked up from the environment.
    session.trust_env = False
    adapter = BudgetedAdapter(vendor, budget)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "auth-conformance-suite (contract)"
    return session


def as_infrastructure(vendor: str, base_url: str, exc: BaseException) -> InfrastructureError:
    """A transport-level exception (unreachable, timeout, TLS, retries exhausted) as an infrastructure problem."""
    if isinstance(exc, InfrastructureError):
        return exc
    text = str(exc).strip().splitlines()
    first = (text[0] if text else type(exc).__name__)[:300]
    if isinstance(exc, requests.exceptions.SSLError):
        return InfrastructureError(f"{vendor}: TLS handshake with {base_url} failed: {first}")
    return InfrastructureError(f"{vendor}: cannot reach {base_url}: {first}")
