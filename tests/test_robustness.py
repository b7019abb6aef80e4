"""Robust verdicts: preflight (credentials, probe), circuit breaker, one outage policy, malformed tokens, exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import exitcodes, jwtutil
from conformance.failures import InfrastructureError
from conformance.http import Budget, HttpClient
from conformance.mock.server import MockServer

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from conformance.cli import main; sys.exit(main())", "run"]


def run(reports: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [*CLI, "--reports", str(reports), "--no-html", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def outcomes(reports: Path) -> list[dict[str, Any]]:
    return json.loads((reports / "outcomes.json").read_text())["results"]


def kinds(reports: Path) -> set[str]:
    return {o["outcome"] for o in outcomes(reports)}


# --- exit codes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "found,code",
    [
        ({"passed", "skipped"}, 0),
        ({"passed", "warning"}, 0),
        ({"passed", "broken"}, 3),
        ({"passed", "error"}, 5),
        ({"broken", "error"}, 5),
        ({"failed", "error", "broken"}, 1),
        ({"failed", "config"}, 2),
    ],
)
def test_exit_code_follows_the_documented_precedence(found: set[str], code: int) -> None:
    assert exitcodes.for_outcomes(found) == code


def test_a_suite_error_has_its_own_line_in_the_summary(tmp_path: Path) -> None:
    from conformance.report.results import TestOutcome
    from conformance.report.summary import render_summary

    def outcome(name: str, message: str) -> TestOutcome:
        return TestOutcome(
            history_id=name,
            name=name,
            full_name=name,
            status="broken",
            outcome="broken",
            vendor="klavi",
            vendor_title="Klavi",
            claims=(),
            message=message,
            start=0,
            stop=0,
            path=tmp_path / name,
        )

    text = render_summary(
        [outcome("test_a", "KeyError: 'exp'"), outcome("test_b", "INFRASTRUCTURE: klavi: cannot reach x")]
    )
    assert "## Suite errors" in text
    assert "1 test(s) hit a suite error" in text and "test_a" in text


# --- malformed tokens are read, never crash ------------------------------------------------------------------------


def _jwt(payload_text: str, suffix: str = "") -> str:
    head = jwtutil.b64url(b'{"alg":"HS256","typ":"JWT"}')
    return f"{head}.{jwtutil.b64url(payload_text.encode())}.c2lnbmF0dXJl{suffix}"


MALFORMED = {
    "not-json": _jwt("not json {"),
    "list": _jwt('[{"iat":1,"exp":2}]'),
    "exp-infinite": _jwt('{"iat":1,"exp":1e999}'),
    "exp-nan": _jwt('{"iat":1,"exp":NaN}'),
    "deep": _jwt('{"iat":1,"exp":2,"x":' + "[" * 5000 + "]" * 5000 + "}"),
    "trailing-newline": _jwt('{"iat":1,"exp":2}', "\n"),
}


@pytest.mark.parametrize("variant", list(MALFORMED))
def test_malformed_jwt_payloads_are_reported_not_raised(variant: str) -> None:
    token = MALFORMED[variant]
    assert jwtutil.well_formed_problem(token) is not None
    assert jwtutil.lifetime(token) is None or variant == "trailing-newline"
    jwtutil.safe_claims(token)  # never raises


def test_a_well_formed_jwt_has_no_problem() -> None:
    assert jwtutil.well_formed_problem(_jwt('{"iat":1,"exp":61}')) is None
    assert jwtutil.lifetime(_jwt('{"iat":1,"exp":61}')) == 60


# --- one outage policy, raw-socket requests included ---------------------------------------------------------------


def _client(server: MockServer, **budget: Any) -> HttpClient:
    return HttpClient("klavi", server.base_url, verify=not server.tls, budget=Budget(**budget), timeout=5)


def test_raw_request_retries_a_gateway_503_and_then_answers() -> None:
    with MockServer("klavi", faults=["gateway-503=2"]) as server:
        client = _client(server)
        server.app.mock.state.served = 1  # the next request is the 2nd: it gets the HTML 503 page
        resp = client.raw_request("GET", "/monitor/v1/reports", [(b"Authorization", b"Bearer\tx")])
        assert resp.status == 401
        assert resp.exchange.attempts == 2
        assert client.budget.retries == 1
        assert [e.get("fault") for e in server.log()][-2:] == ["gateway-503", None]


def test_raw_request_outage_beyond_the_retries_is_infrastructure() -> None:
    with MockServer("klavi", faults=["gateway-503=1"]) as server:
        client = _client(server)
        with pytest.raises(InfrastructureError, match="answered 503 after 4 attempt"):
            client.raw_request("GET", "/monitor/v1/reports", [(b"Authorization", b"Bearer\tx")])


def test_raw_request_honours_retry_after_within_the_budget() -> None:
    with MockServer("klavi", faults=["rate-limit-429=1"]) as server:
        # The mock asks for Retry-After: 1; a budget that allows 0.5 s stops at once instead of waiting.
        client = _client(server, max_retry_wait=0.5)
        started = time.monotonic()
        with pytest.raises(InfrastructureError, match="Retry-After 1s exceeds"):
            client.raw_request("GET", "/monitor/v1/reports", [(b"Authorization", b"Bearer\tx")])
        assert time.monotonic() - started < 1


def test_raw_request_to_a_closed_port_opens_the_circuit() -> None:
    port = _closed_port()
    client = HttpClient("opsnow", f"http://127.0.0.1:{port}", budget=Budget(), timeout=2)
    with pytest.raises(InfrastructureError, match="raw request"):
        client.raw_request("GET", "/x", [])
    with pytest.raises(InfrastructureError, match="circuit open"):
        client.request("GET", "/x")
    assert client.budget.requests == 1


@pytest.mark.slow
def test_gateway_503_every_third_request_is_never_a_verdict(tmp_path: Path) -> None:
    """The HTML gateway page on every 3rd request of the run, raw Authorization variants included."""
    code, out, _ = run(tmp_path, "--no-contract", "--mock-fault", "gateway-503")
    found = kinds(tmp_path)
    assert found <= {"passed", "skipped", "broken"}, out[-2500:]
    assert code == (3 if "broken" in found else 0), out[-1500:]
    raw = [o for o in outcomes(tmp_path) if "tab-separator" in o["nodeid"] or "two-headers" in o["nodeid"]]
    assert raw and all(o["outcome"] in ("passed", "broken") for o in raw)
    traffic = json.loads((tmp_path / "outcomes.json").read_text())["traffic"]
    assert sum(t["retries"] for t in traffic.values()) > 0


# --- preflight: configuration, not the vendor ----------------------------------------------------------------------


@pytest.mark.slow
def test_wrong_secret_is_configuration_after_one_token_call(tmp_path: Path) -> None:
    with MockServer("klavi") as server:
        cfg = tmp_path / "c.toml"
        cfg.write_text(f'[targets.local.klavi]\nbase_url = "{server.base_url}"\n')
        env = {"KLAVI_ACCESS_KEY": server.credentials["access_key"], "KLAVI_SECRET_KEY": "rotated-secret-value"}
        reports = tmp_path / "r"
        code, out, _ = run(reports, "--target", "local", "--config", str(cfg), "--vendor", "klavi", env=env)
        token_calls = [e for e in server.log() if e["path"] == "/monitor/v1/auth"]
    assert code == 2, out[-2000:]
    assert len(token_calls) <= 2
    lines = [line for line in out.splitlines() if "refused the configured credentials" in line]
    assert len(lines) == 1, out[-2000:]
    assert "KLAVI_SECRET_KEY" in lines[0] and "if they are right, the vendor refuses valid credentials" in lines[0]
    assert kinds(reports) <= {"config", "skipped"}
    assert "rotated-secret-value" not in out
    assert "## Configuration" in (reports / "summary.md").read_text()
    fingerprint = json.loads((reports / "fingerprint.json").read_text())
    assert fingerprint["vendors"]["klavi"]["status"] == "misconfigured"


@pytest.mark.slow
def test_missing_probe_stops_with_one_line_per_vendor(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "--no-contract", "--mock-fault", "probe-missing")
    assert code == 2, out[-2000:]
    assert kinds(tmp_path) <= {"config", "skipped"}, out[-2000:]
    lines = [line for line in out.splitlines() if "configure `probe`" in line]
    assert len(lines) == 4, out[-2000:]
    traffic = json.loads((tmp_path / "outcomes.json").read_text())["traffic"]
    assert all(t["requests"] <= 2 for t in traffic.values()), traffic


# --- circuit breaker -----------------------------------------------------------------------------------------------


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()
    for conn in held:
        conn.close()


def _down_config(tmp_path: Path, port: int) -> Path:
    cfg = tmp_path / "down.toml"
    cfg.write_text(
        f'[targets.down.opsnow]\nbase_url = "http://127.0.0.1:{port}"\n'
        'credentials = { api_key = { env = "OPS_KEY" } }\n'
    )
    return cfg


def _assert_broken_quickly(reports: Path, code: int, out: str, elapsed: float) -> None:
    assert code == 3, out[-2000:]
    assert elapsed <= 60, elapsed
    results = outcomes(reports)
    assert {o["outcome"] for o in results} <= {"broken", "skipped"}
    broken = [o for o in results if o["outcome"] == "broken"]
    assert len(broken) > 20
    # The first test found it; every other test of the vendor carries the same first cause, without a request.
    assert all("cannot reach" in o["message"] for o in broken)
    assert json.loads((reports / "outcomes.json").read_text())["traffic"]["opsnow"]["requests"] == 1
    lines = out.splitlines()
    assert len(lines) <= 15, out
    assert sum("opsnow: " in line and "broken" in line for line in lines) == 1, out
    assert "Traceback" not in out


@pytest.mark.slow
def test_unreachable_vendor_is_broken_fast_with_one_line(tmp_path: Path) -> None:
    cfg = _down_config(tmp_path, _closed_port())
    reports = tmp_path / "r"
    code, out, elapsed = run(
        reports, "--target", "down", "--config", str(cfg), "--vendor", "opsnow", env={"OPS_KEY": "key-0000"}
    )
    _assert_broken_quickly(reports, code, out, elapsed)


@pytest.mark.slow
def test_hanging_vendor_is_broken_within_a_minute(tmp_path: Path, silent_server: int) -> None:
    """At the default 15 s timeout: one request (and its one read retry) decides it, not one per test."""
    cfg = _down_config(tmp_path, silent_server)
    reports = tmp_path / "r"
    code, out, elapsed = run(
        reports,
        "--target",
        "down",
        "--config",
        str(cfg),
        "--vendor",
        "opsnow",
        env={"OPS_KEY": "key-0000"},
        timeout=180,
    )
    _assert_broken_quickly(reports, code, out, elapsed)


# --- time-aware checks on real-clock targets -----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("fault", [None, "refresh-same-expiry"], ids=["faithful", "refresh-same-expiry"])
def test_refresh_expiry_on_a_real_clock(tmp_path: Path, fault: str | None) -> None:
    """A running mock clock: the refresh waits until a whole second has passed, so a kept exp shows."""
    args = [
        "--no-contract",
        "--real-wait",
        "--mock-lifetime",
        "30",
        "--vendor",
        "klearstack",
        "--vendor",
        "knowledgestack",
    ]
    args += ["--mock-fault", fault] if fault else []
    code, out, _ = run(tmp_path, *args, "--", "-k", "refresh")
    failed = {c for o in outcomes(tmp_path) if o["outcome"] == "failed" for c in o["failed_claims"]}
    if fault is None:
        assert code == 0, out[-2000:]
        assert not failed
    else:
        assert code == 1, out[-2000:]
        assert {"KLEARSTACK-AUTH-005", "KSTACK-UAT-002"} <= failed
