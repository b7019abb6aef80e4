"""The whole suite, contract part on, against hostile and broken servers with canary credentials: nothing leaks."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

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

# Each run is bounded: few requests, short timeouts, Retry-After never waited on for long.
BOUNDS = {"timeout": 1, "request_budget": 40, "retry_budget": 4, "max_retry_wait": 1}


def _garbage_status(req: Request) -> bytes:
    # The credentials echoed in a status line http.client cannot parse: its exception text quotes the line.
    return b"HTTP/1.1 2x0 " + req.body.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n\r\n"


def _outage(req: Request) -> Reply:
    return Reply(503, body=req.body, headers=[("Retry-After", "0")], reason="Unavailable " + req.body.decode()[:200])


OUTAGES: dict[str, tuple[Callable[[Request], object] | None, str]] = {
    "connection refused": (None, "http"),
    "503": (_outage, "http"),
    "read timeout": (lambda req: HANG, "http"),
    "TLS error": (_outage, "https"),
    "garbage status line": (_garbage_status, "http"),
}


@pytest.mark.slow
@pytest.mark.parametrize("outage", list(OUTAGES))
@pytest.mark.parametrize("vendor", ["klavi", "klearstack"])
def test_token_endpoint_outage_leaks_nothing_and_is_broken(tmp_path: Path, outage: str, vendor: str) -> None:
    """Issue 15: an outage of the token endpoint printed the request frame's credential body in tracebacks."""
    behaviour, scheme = OUTAGES[outage]
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
