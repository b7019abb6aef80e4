"""The whole suite, contract part on, against hostile and broken servers with canary credentials: nothing leaks."""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.hostile import (
    HANG,
    HostileServer,
    Reply,
    Request,
    canary,
    find_canaries,
    refused_url,
    run_suite,
    run_texts,
    write_config,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Each run is bounded: few requests, short timeouts, Retry-After never waited on for long.
BOUNDS = {"timeout": 1, "request_budget": 40, "retry_budget": 4, "max_retry_wait": 1}


def _garbage_status(req: Request) -> bytes:
    # The credentials echoed in a status line http.client cannot parse: its exception text quotes the line.
    return b"HTTP/1.1 2x0 " + req.body.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n\r\n"


def _outage(req: Request) -> Reply:
    return Reply(503, body=req.body, headers=[("Retry-After", "0")], reason="Unavailable " + req.body.decode()[:200])


# One vendor per behaviour (the CI budget): Klavi sends its secret in a JSON body, KlearStack in a form body.
OUTAGES: dict[str, tuple[Callable[[Request], object] | None, str, str]] = {
    "connection refused": (None, "http", "klavi"),
    "503": (_outage, "http", "klearstack"),
    "read timeout": (lambda req: HANG, "http", "klavi"),
    "TLS error": (_outage, "https", "klearstack"),
    "garbage status line": (_garbage_status, "http", "klavi"),
}


@pytest.mark.slow
@pytest.mark.parametrize("outage", list(OUTAGES))
def test_token_endpoint_outage_leaks_nothing_and_is_broken(tmp_path: Path, outage: str) -> None:
    """Issue 15: an outage of the token endpoint printed the request frame's credential body in tracebacks."""
    behaviour, scheme, vendor = OUTAGES[outage]
    names = {"klavi": ("access_key", "secret_key"), "klearstack": ("username", "password")}[vendor]
    creds = {names[0]: f"ident-{vendor}", names[1]: canary()}
    with ExitStack() as stack:
        if behaviour is None:
            base = refused_url()
        else:
            server = stack.enter_context(HostileServer(behaviour))
            base = f"{scheme}://127.0.0.1:{server.port}"
        env = write_config(tmp_path / "conformance.toml", vendor, base, creds, **BOUNDS)
        started = time.monotonic()
        run = run_suite(tmp_path, tmp_path / "conformance.toml", env, vendor)
        took = time.monotonic() - started
    hits = find_canaries([creds[names[1]]], run_texts(run.reports, run.console))
    assert not hits, f"{outage}: canary found in {hits[:3]}"
    assert run.code == 3, run.console[-3000:]
    assert run.kinds() <= {"broken", "skipped"}, run.console[-3000:]
    assert took < 240, f"{outage}: the run took {took:.0f} s"


def _echoing(secret: str, issued: list[str]) -> Callable[[Request], Reply]:
    """A token endpoint that issues opaque tokens under media types that are not application/json, and answers
    everything else by echoing the credentials and the token it was sent in every form, header and status line."""
    media = itertools.cycle(["application/vnd.x+json", "text/plain", "application/json; charset=utf-8"])

    def behave(req: Request) -> Reply:
        if req.method == "POST" and req.path.startswith("/monitor/v1/auth"):
            token = f"hst{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"
            issued.append(token)
            body = {"accessToken": token, "expireIn": 1800, "echo": req.body.decode(), "hint": secret[:14]}
            headers = [
                ("Content-Type", next(media)),
                ("X-Echo", quote(secret, safe="")),
                ("Set-Cookie", f"sid={b64(secret)}; HttpOnly"),
            ]
            return Reply(200, json.dumps(body), headers, reason=f"OK {secret}")
        token = req.header("Authorization").partition(" ")[2]
        body = {
            "error": "invalid_token",
            "head": token[: len(token) // 2],
            "tail": token[len(token) // 2 :],
            "basic": b64(f"user:{token}"),
            "secret": secret,
            "query": quote_plus(secret),
        }
        headers = [
            ("WWW-Authenticate", f'Bearer error="invalid_token", error_description="{token}"'),
            ("X-Echo", b64(req.header("Authorization"))),
            ("Set-Cookie", f"last={token}"),
        ]
        return Reply(401, json.dumps(body), headers, reason=f"Unauthorized {token[:20]} {secret}")

    return behave


@pytest.mark.slow
def test_a_server_echoing_credentials_in_every_form_gets_findings_and_no_leak(tmp_path: Path) -> None:
    secret, issued = canary(), []
    creds = {"access_key": "ident-klavi", "secret_key": secret}
    with HostileServer(_echoing(secret, issued)) as server:
        env = write_config(tmp_path / "conformance.toml", "klavi", server.url, creds, **BOUNDS)
        run = run_suite(tmp_path, tmp_path / "conformance.toml", env, "klavi")
    assert issued, run.console[-3000:]
    hits = find_canaries([secret, *issued], run_texts(run.reports, run.console))
    assert not hits, f"canary found in {hits[:3]}"
    assert run.code == 1 and "failed" in run.kinds(), run.console[-3000:]


@pytest.mark.slow
def test_a_redirecting_target_never_sends_the_credentials_to_another_origin(tmp_path: Path) -> None:
    """Issue 15: the contract part and the throwaway-token helper followed a 307 and POSTed the secret elsewhere."""
    secret, restricted = canary(), canary()
    creds = {
        "email": "someone@example.test",
        "password": secret,
        "restricted_email": "other@example.test",
        "restricted_password": restricted,
        "sso_tenant_id": "tenant-1",
        "sso_redirect_uri": "https://app.example.test/cb",
    }
    collector = HostileServer(lambda req: Reply(200, json.dumps({"access_token": "collected"})))
    redirector = HostileServer(lambda req: Reply(307, "", [("Location", collector.url + req.path)]))
    with collector, redirector:
        # Budget enough for the contract part to send its own calls (its token endpoint operation above all).
        bounds = {**BOUNDS, "request_budget": 400}
        env = write_config(tmp_path / "conformance.toml", "knowledgestack", redirector.url, creds, **bounds)
        run = run_suite(tmp_path, tmp_path / "conformance.toml", env, "knowledgestack")
    contract_calls = [r for r in redirector.received if "(contract)" in r.header("User-Agent")]
    assert contract_calls, run.console[-3000:]
    assert collector.received == [], [(r.method, r.path) for r in collector.received[:5]]
    assert not find_canaries([secret, restricted], run_texts(run.reports, run.console))
    assert run.code == 1 and "failed" in run.kinds(), run.console[-3000:]
    results = [p.read_text() for p in (run.reports / "allure-results").glob("*-result.json")]
    assert any("security finding: redirect" in r for r in results)
