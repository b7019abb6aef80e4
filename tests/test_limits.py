"""Bounded resources against hostile loopback servers: every request path ends at its deadline and size cap."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conformance.contract.transport import as_infrastructure, make_session
from conformance.failures import InfrastructureError
from conformance.http import Budget, HttpClient
from conformance.limits import LimitExceeded, Limits
from tests.hostile import canary, find_canaries, run_suite, run_texts, write_config

MIB = 1024 * 1024
# Long enough to prove a drip is cut by the deadline and not by the per-read timeout, short for the suite's time.
DEADLINE = 1.5
SLACK = 1.5


class Hostile(socketserver.BaseRequestHandler):
    """A server that answers what a hostile or broken target might: by path, see `_answer`."""

    stop = threading.Event()

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(65536)
            if not data:
                return
            head += data
        head, _, body = head.partition(b"\r\n\r\n")
        length = next(
            (int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")) if k.lower() == b"content-length"),
            0,
        )
        while len(body) < length:  # read the whole request: unread bytes at close would reset the connection
            data = sock.recv(65536)
            if not data:
                return
            body += data
        path = head.split(b" ", 2)[1].decode()
        with contextlib.suppress(OSError):  # the client gave up, as it should
            self._answer(sock, path.split("?")[0])

    def _answer(self, sock: socket.socket, path: str) -> None:
        """The first path segment names the behaviour, so a whole API can be served from `<base>/<mode>`."""
        mode = path.split("/")[1]
        json_head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        ends = time.monotonic() + 30  # never outlive a test that went wrong by much
        if mode == "drip":
            sock.sendall(json_head + b"Content-Length: 50000\r\n\r\n")  # under every cap: only the deadline ends it
            while time.monotonic() < ends and not self.stop.is_set():
                sock.sendall(b" ")
                time.sleep(0.05)
        elif mode == "drip-headers":
            sock.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while time.monotonic() < ends and not self.stop.is_set():
                sock.sendall(b"a")
                time.sleep(0.05)
        elif mode == "endless":
            sock.sendall(json_head + b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
            while time.monotonic() < ends and not self.stop.is_set():
                sock.sendall(chunk)
        elif mode == "huge":
            total = 100 * MIB
            sock.sendall(json_head + b"Content-Length: %d\r\n\r\n" % total)
            self._stream(sock, total)
        elif mode == "huge-undeclared":
            sock.sendall(json_head + b"Connection: close\r\n\r\n")
            self._stream(sock, 100 * MIB)
        else:
            body = b'{"ok": true}'
            sock.sendall(json_head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    @staticmethod
    def _stream(sock: socket.socket, total: int) -> None:
        block = b'{"accessToken": "' + b"x" * (MIB - 20) + b'"}'
        sent = 0
        while sent < total:
            sock.sendall(block[: min(len(block), total - sent)])
            sent += len(block)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve_hostile() -> tuple[_Server, str]:
    Hostile.stop.clear()
    srv = _Server(("127.0.0.1", 0), Hostile)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.fixture
def hostile() -> Iterator[str]:
    srv, url = serve_hostile()
    yield url
    Hostile.stop.set()
    srv.shutdown()
    srv.server_close()


def client(url: str, **limits: float) -> HttpClient:
    return HttpClient(
        "acme",
        url,
        timeout=5.0,
        budget=Budget(max_retries=0),
        limits=Limits(**{"deadline": DEADLINE, "max_response_bytes": 4 * MIB, **limits}),
    )


SLOW = ["drip", "drip-headers"]
BIG = ["endless", "huge", "huge-undeclared"]


@pytest.mark.parametrize("path", SLOW)
def test_request_ends_at_its_deadline(hostile: str, path: str) -> None:
    start = time.monotonic()
    with pytest.raises(InfrastructureError, match="deadline of 1.5 s") as exc:
        client(hostile).request("GET", f"/{path}")
    assert DEADLINE <= time.monotonic() - start < DEADLINE + SLACK
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("path", SLOW)
def test_raw_request_ends_at_its_deadline(hostile: str, path: str) -> None:
    c = client(hostile)
    start = time.monotonic()
    with pytest.raises(InfrastructureError, match="deadline of 1.5 s"):
        c.raw_request("GET", f"/{path}", [(b"Authorization", b"Bearer x")])
    assert DEADLINE <= time.monotonic() - start < DEADLINE + SLACK
    assert c.recorder.exchanges[-1].error and "deadline" in c.recorder.exchanges[-1].error


@pytest.mark.parametrize("path", BIG)
def test_request_stops_at_the_size_cap(hostile: str, path: str) -> None:
    c = client(hostile, deadline=20.0)
    start = time.monotonic()
    with pytest.raises(InfrastructureError, match=f"larger than the cap of {4 * MIB} bytes"):
        c.request("POST", f"/{path}/token", json_body={"secretKey": "s"})
    # Stopping at the cap is fast: nowhere near reading 100 MB or the deadline.
    assert time.monotonic() - start < 10
    assert "cap" in (c.recorder.exchanges[-1].error or "")


@pytest.mark.parametrize("path", BIG)
def test_raw_request_stops_at_the_size_cap(hostile: str, path: str) -> None:
    with pytest.raises(InfrastructureError, match="larger than the cap"):
        client(hostile, deadline=20.0).raw_request("GET", f"/{path}/probe", [])


@pytest.mark.parametrize("path", SLOW + BIG)
def test_contract_transport_obeys_the_same_limits(hostile: str, path: str) -> None:
    """Schemathesis's session (and the probe session) read through the same bounded adapter."""
    session = make_session("acme", Budget(max_retries=0), Limits(deadline=DEADLINE, max_response_bytes=4 * MIB))
    start = time.monotonic()
    with pytest.raises(LimitExceeded) as exc:
        # As Schemathesis's transport does: stream=True, then .content.
        session.request("GET", f"{hostile}/{path}", stream=True, timeout=5).content  # noqa: B018
    assert time.monotonic() - start < DEADLINE + SLACK
    infra = as_infrastructure("acme", hostile, exc.value)
    assert isinstance(infra, InfrastructureError) and ("deadline" in str(infra) or "cap" in str(infra))


def test_ordinary_answers_are_untouched(hostile: str) -> None:
    c = client(hostile)
    assert c.request("GET", "/ok").json() == {"ok": True}
    assert c.raw_request("GET", "/ok", []).json() == {"ok": True}
    session = make_session("acme", Budget(), Limits(deadline=DEADLINE, max_response_bytes=1024))
    assert session.get(f"{hostile}/ok", timeout=5).json() == {"ok": True}


def test_a_connection_cut_by_the_deadline_is_not_reused(hostile: str) -> None:
    c = client(hostile)
    with pytest.raises(InfrastructureError):
        c.request("GET", "/drip")
    # The next request gets a fresh connection and a fresh deadline.
    assert c.request("GET", "/ok").status == 200


PEAK_RSS = """
import json, resource, sys
from conformance.http import Budget, HttpClient
from conformance.failures import InfrastructureError
from conformance.limits import Limits

base, path = sys.argv[1], sys.argv[2]
limits = Limits(deadline=30, max_response_bytes=4 << 20)
c = HttpClient("acme", base, budget=Budget(max_retries=0), timeout=5, limits=limits)
c.request("GET", "/ok")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcome = "ok"
for _ in range(3):  # every test of a run re-fetches its token: memory must not add up either
    try:
        c.request("POST", "/" + path + "/token", json_body={"secretKey": "s"})
    except InfrastructureError as exc:
        outcome = str(exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "after_kib": after, "outcome": outcome}))
"""


@pytest.mark.parametrize("path", ["huge", "huge-undeclared", "endless"])
def test_memory_stays_flat_whatever_the_target_sends(hostile: str, path: str) -> None:
    """Peak RSS of a client process (the server runs here, outside it) grows by little more than the cap."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, hostile, path],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    grown_mib = (figures["after_kib"] - figures["before_kib"]) / 1024
    assert "cap" in figures["outcome"]
    # 4 MiB cap: the buffer, one copy as bytes and the chunk in flight; nowhere near the 100 MB sent.
    assert grown_mib < 24, figures


def test_limit_exceptions_are_request_exceptions() -> None:
    # Every caller that already treats transport failures as infrastructure treats these the same way.
    assert issubclass(LimitExceeded, requests.RequestException)


def test_limits_default_to_the_config_schema() -> None:
    schema = json.loads(
        (Path(__file__).resolve().parents[1] / "specs" / "schemas" / "config.schema.json").read_text(encoding="utf-8")
    )
    assert Limits().deadline == schema["$defs"]["deadline"]["default"]
    assert Limits().max_response_bytes == schema["$defs"]["max_response_bytes"]["default"]


def test_real_wait_reports_a_lifetime_longer_than_the_cap_instead_of_sleeping(tmp_path: Path) -> None:
    """A ten-year token on a real clock: the expiry test says why it did not wait, and the run ends at once."""
    ten_years = 10 * 365 * 24 * 3600
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from conformance.cli import main; sys.exit(main())",
            "run",
            "--reports",
            str(tmp_path),
            "--no-html",
            "--no-contract",
            "--real-wait",
            "--mock-lifetime",
            str(ten_years),
            "--max-real-wait",
            "30",
            "--",
            "-k",
            "expires_after_its_lifetime",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    assert time.monotonic() - start < 60
    results = json.loads((tmp_path / "outcomes.json").read_text())["results"]
    waited = [o for o in results if "expires_after_its_lifetime" in o["nodeid"]]
    assert waited and all(o["outcome"] == "skipped" for o in waited), waited
    assert all(
        f"lifetime of {ten_years} s is longer than the longest real wait of 30 s" in o["message"] for o in waited
    )


@pytest.mark.parametrize(
    "option,value", [("--max-real-wait", "nan"), ("--request-deadline", "inf"), ("--max-response-bytes", "0")]
)
def test_limit_options_are_checked_like_the_config(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import main

    assert main(["run", option, value, "--vendor", "klavi"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"conformance: error: {option}: must be") and len(err.splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["drip", "endless", "huge"])
def test_the_suite_against_a_hostile_target_ends_broken_in_bounded_time(tmp_path: Path, mode: str) -> None:
    """The whole path, contract part on: every answer drips, never ends or is huge. The run ends with exit 3
    (infrastructure) in bounded time, every broken test naming the limit that ended it, and no form or fragment of
    the canary secret in the console or any file under the reports folder (Klavi's access key is an identifier,
    not a secret, by its profile)."""
    srv, url = serve_hostile()
    secret = canary()
    cfg = tmp_path / "hostile.toml"
    env = write_config(
        cfg,
        "klavi",
        f"{url}/{mode}",
        {"access_key": "hostile-access-key", "secret_key": secret},
        retry_budget=0,
        deadline=1,
        max_response_bytes=65536,
    )
    start = time.monotonic()
    try:
        run = run_suite(
            tmp_path,
            cfg,
            env,
            "klavi",
            "--",
            "-k",
            "issued_with_documented_shape or valid_bearer_token_accepted or header_variant or test_operation",
            timeout=600,
        )
    finally:
        Hostile.stop.set()
        srv.shutdown()
        srv.server_close()
    elapsed = time.monotonic() - start
    reports = run.reports
    assert run.code == 3, run.console[-3000:]
    assert run.kinds() <= {"broken", "skipped"}, run.console[-3000:]
    limit = "deadline of 1 s" if mode == "drip" else "larger than the cap of 65536 bytes"
    assert all(limit in o["message"] for o in run.outcomes if o["outcome"] == "broken"), run.outcomes
    # Bounded: roughly one deadline per test that reached the target, not a drip's or a stream's length.
    assert elapsed < 240, elapsed
    assert (reports / "junit.xml").exists() and (reports / "summary.md").exists()
    assert find_canaries([secret], run_texts(reports, run.console)) == []
