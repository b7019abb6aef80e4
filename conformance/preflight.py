"""Before any verdict on a vendor: its configured credentials are accepted and its probe endpoint exists."""

from __future__ import annotations

import threading
import time

from conformance.failures import VendorConfigError
from conformance.session import VendorSession

_LOCK = threading.Lock()
# The probe path does not exist (or not for this method): every verdict on it would be about the wrong URL.
PROBE_MISSING = frozenset({404, 405})


def ensure_ready(v: VendorSession) -> None:
    """Raise the vendor's stop cause if its circuit is open; otherwise run the preflight once per process.

    One call to the token endpoint with the configured credentials (its token is then reused by the scenarios), and
    one probe with that token. Refused credentials or a probe that does not exist stop the vendor: every later
    request of it raises the same one-line VendorConfigError, so a wrong secret costs one token call, not dozens
    (which would lock a real account). Outages raise InfrastructureError and the preflight runs again next time.
    """
    v.budget.raise_if_stopped()
    if v.ready:
        return
    with _LOCK:
        if v.ready:
            return
        _preflight(v)
        v.ready = True


def _preflight(v: VendorSession) -> None:
    spec = v.profile["issue"]
    started = time.time()
    resp = v.issue_raw()
    v.recorder.drain()
    refused = {401, 403} | set(spec.get("bad_credentials_status", []))
    if resp.status in refused:
        _stop(v, f"{v.vendor}: the token endpoint refused the configured credentials ({resp.status}): {_check(v)}")
    body = resp.json_or_none()
    token = body.get(spec["token_field"]) if 200 <= resp.status < 300 and isinstance(body, dict) else None
    if not isinstance(token, str) or not token.strip():
        # Not a refusal: the scenarios judge this answer (issuance_succeeds names its claim).
        return
    tok = v.issued(resp, started)
    v.keep_token(tok)
    probe = v.target.probe or v.profile["probe"]
    answer = v.probe(f"Bearer {tok.value}")
    v.recorder.drain()
    if answer.status in PROBE_MISSING:
        _stop(
            v,
            f"{v.vendor}: the probe {probe['method']} {probe['path']} answered {answer.status} to a fresh valid "
            f"token: configure `probe` for {v.vendor} in conformance.toml (a protected endpoint that answers 2xx "
            "to a valid token)",
        )


def _check(v: VendorSession) -> str:
    sources = v.target.credential_sources
    if not sources:
        names = ", ".join(v.target.credentials)
        return f"check the credentials ({names}); if they are right, the vendor refuses valid credentials"
    return (
        f"check {', '.join(dict.fromkeys(sources.values()))}; if they are right, the vendor refuses valid credentials"
    )


def _stop(v: VendorSession, message: str) -> None:
    error = VendorConfigError(message)
    v.budget.stop(error)
    v.budget.raise_if_stopped()
