"""The drift alert: a Slack-compatible JSON message POSTed to a webhook named by an environment variable."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from conformance.drift.compare import RUN, DriftResult
from conformance.drift.scrub import scrub
from conformance.report.environment import sanitize_url

DEFAULT_ENV = "CONFORMANCE_DRIFT_WEBHOOK"
MAX_CHANGES = 30
# Statuses worth another try: the receiver is overloaded or restarting, the message itself is fine.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0


@dataclass
class Delivery:
    """How posting went; `error` never holds the webhook URL (the URL is itself a credential)."""

    ok: bool
    attempts: int
    status: int | None = None
    error: str = ""


def _run_url() -> str | None:
    server, repo, run_id = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return sanitize_url(f"{server}/{repo}/actions/runs/{run_id}") if server and repo and run_id else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


_PHRASES = {
    "new-failure": "new failure",
    "fixed": "fixed claim",
    "deviation-gone": "known deviation no longer happening",
    "failure-changed": "changed failure",
    "field-added": "field added",
    "field-removed": "field removed",
    "field-type-changed": "field type change",
    "field-presence-changed": "field presence change",
    "response-added": "new response",
    "response-gone": "response no longer seen",
    "header-changed": "header change",
    "lifetime-changed": "lifetime change",
}


def _vendor_line(vendor: str, result: DriftResult) -> str:
    mine = [c for c in result.drift if c.vendor == vendor]
    tally = Counter(c.kind for c in mine)
    parts = []
    for kind, phrase in _PHRASES.items():
        if tally[kind]:
            part = _plural(tally[kind], phrase)
            if kind in ("new-failure", "fixed", "deviation-gone"):
                ids = sorted({c.subject for c in mine if c.kind == kind})
                part += " (" + ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "") + ")"
            parts.append(part)
    return f"• {vendor}: " + "; ".join(parts)


def build_message(
    result: DriftResult, unreachable: list[tuple[str, int]] | None = None, *, run_url: str | None = None
) -> dict[str, Any] | None:
    """The alert for this comparison, or None when there is nothing to alert on.

    Infrastructure never raises a drift alert: only drift changes do, plus one "vendor unreachable" message
    per outage that lasted `threshold` consecutive runs (see state.record_run).
    """
    unreachable = unreachable or []
    if not result.has_drift and not unreachable:
        return None
    target = result.current.get("target") or "unknown target"
    run_url = run_url if run_url is not None else _run_url()
    lines = []
    if result.has_drift:
        vendors = result.drift_vendors()
        lines.append(f"Vendor drift on {target}: {_plural(len(result.drift), 'change')} in {', '.join(vendors)}")
        lines += [_vendor_line(v, result) for v in vendors if v != RUN]
    for vendor, runs in unreachable:
        lines.append(
            f"Vendor unreachable: {vendor} on {target} for {runs} consecutive runs "
            "(infrastructure, not a conformance verdict)"
        )
    lines.append(f"Details: drift.md in the run's reports{f' ({run_url})' if run_url else ''}")
    event = "drift" if result.has_drift else "vendor-unreachable"
    if result.has_drift and unreachable:
        event = "drift+vendor-unreachable"
    changes = [c.to_json() for c in result.drift]
    payload = {
        "text": "\n".join(lines),
        "event": event,
        "target": result.current.get("target"),
        "suite_version": result.current.get("suite_version"),
        "run_url": run_url,
        "vendors": {
            v: {
                "status": result.status.get(v, "not run"),
                "changes": dict(Counter(c.kind for c in result.drift if c.vendor == v)),
            }
            for v in sorted(set(result.status) | set(result.drift_vendors()))
        },
        "unreachable": [{"vendor": v, "consecutive_runs": n} for v, n in unreachable],
        "changes": changes[:MAX_CHANGES],
        "changes_not_shown": max(0, len(changes) - MAX_CHANGES),
    }
    return scrub(payload)


def post(
    url: str,
    payload: dict[str, Any],
    *,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 10.0,
    session: requests.Session | None = None,
) -> Delivery:
    """POST the payload with a timeout per attempt, retrying network errors, 429 and 5xx with exponential backoff."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Delivery(False, 0, error="the webhook URL is not an http(s) URL")
    http = session or requests.Session()
    attempts, status, error = 0, None, ""
    try:
        for attempt in range(retries + 1):
            attempts = attempt + 1
            wait = backoff * (2**attempt)
            try:
                response = http.post(url, json=payload, timeout=timeout, allow_redirects=False)
            except requests.RequestException as exc:
                # The exception text embeds the URL; the type alone says what happened.
                status, error = None, type(exc).__name__
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return Delivery(True, attempts, status)
                error = f"the webhook answered {status}"
                if status not in RETRY_STATUSES:
                    break
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    wait = min(float(retry_after), MAX_RETRY_AFTER)
            if attempt < retries:
                time.sleep(wait)
    finally:
        if session is None:
            http.close()
    return Delivery(False, attempts, status, error)


def send(payload: dict[str, Any] | None, env_name: str = DEFAULT_ENV, **kwargs: Any) -> Delivery | None:
    """Post to the webhook named by `env_name`; None when there is nothing to send or no webhook configured."""
    url = os.environ.get(env_name, "").strip()
    if payload is None or not url:
        return None
    return post(url, payload, **kwargs)
