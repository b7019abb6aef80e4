"""The HTTP layer: retries honour Retry-After within a budget, outages become infrastructure, traffic is redacted."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from conformance.failures import InfrastructureError
from conformance.http import Budget, HttpClient
from conformance.redact import MASK, Redactor

SECRET_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"


class Script(http.server.BaseHTTPRequestHandler):
    """Answers from a queue of (status, headers, body); the last entry repeats."""

    queue: list[tuple[int, dict[str, str], bytes]] = []
    seen: list[str] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        Script.seen.append(self.headers.get("Authorization", ""))
        status, headers, body = Script.queue.pop(0) if len(Script.queue) > 1 else Script.queue[0]
        self.send_response(status)
        for k, val in headers.items():
            self.send_header(k, val)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Script)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Script.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


JSON = {"Content-Type": "application/json"}


def test_retry_after_is_honoured_then_succeeds(server: str) -> None:
    Script.queue = [(429, {"Retry-After": "1"}, b"{}"), (200, JSON, b'{"ok": true}')]
    client = HttpClient("acme", server, budget=Budget(max_retries=5))
    start = time.monotonic()
    resp = client.request("GET", "/x")
    assert resp.status == 200 and resp.exchange.attempts == 2
    assert time.monotonic() - start >= 0.9
    assert client.budget.retries == 1


def test_outage_beyond_retries_is_infrastructure(server: str) -> None:
    Script.queue = [(503, {"Retry-After": "0"}, b"down")]
    client = HttpClient("acme", server, budget=Budget(max_retries=50))
    with pytest.raises(InfrastructureError, match="INFRASTRUCTURE: acme: GET /x answered 503"):
        client.request("GET", "/x")


def test_retry_budget_is_shared_and_bounded(server: str) -> None:
    Script.queue = [(503, {"Retry-After": "0"}, b"down")]
    client = HttpClient("acme", server, budget=Budget(max_retries=2))
    for _ in range(3):
        with pytest.raises(InfrastructureError):
            client.request("GET", "/x")
    assert client.budget.retries == 2
    assert len(Script.seen) == 2 + 3


def test_retry_after_longer_than_budget_gives_up(server: str) -> None:
    Script.queue = [(429, {"Retry-After": "3600"}, b"slow down")]
    client = HttpClient("acme", server, budget=Budget(max_retry_wait=2))
    with pytest.raises(InfrastructureError, match="Retry-After 3600s exceeds"):
        client.request("GET", "/x")


def test_request_budget_is_enforced(server: str) -> None:
    Script.queue = [(200, JSON, b"{}")]
    client = HttpClient("acme", server, budget=Budget(max_requests=2))
    client.request("GET", "/a")
    client.request("GET", "/b")
    with pytest.raises(InfrastructureError, match="request budget of 2 exhausted"):
        client.request("GET", "/c")


def test_unreachable_host_is_infrastructure() -> None:
    client = HttpClient("acme", "http://127.0.0.1:9", timeout=2, budget=Budget(max_retries=0))
    with pytest.raises(InfrastructureError, match="cannot reach"):
        client.request("GET", "/x")
    assert client.recorder.exchanges[-1].error


def test_500_is_returned_for_checks_to_judge(server: str) -> None:
    Script.queue = [(500, {"Content-Type": "text/html"}, b"<h1>oops</h1>")]
    resp = HttpClient("acme", server).request("POST", "/token", json_body={"a": 1})
    assert resp.status == 500


def test_recorded_exchange_is_redacted(server: str) -> None:
    Script.queue = [(200, JSON, f'{{"accessToken": "{SECRET_TOKEN}", "expireIn": 1800}}'.encode())]
    redactor = Redactor(["my-secret-key-1"])
    client = HttpClient("acme", server, redactor=redactor)
    client.request(
        "POST",
        "/auth",
        json_body={"accessKey": "ak", "secretKey": "my-secret-key-1"},
        headers={"Authorization": "Bearer " + SECRET_TOKEN},
    )
    ex = client.recorder.exchanges[-1]
    text = ex.render() + ex.curl
    assert SECRET_TOKEN not in text and "my-secret-key-1" not in text
    assert "Bearer " + MASK in text and '"expireIn": 1800' in text
    # A token seen in one response is masked wherever it shows up later, even outside JSON.
    Script.queue = [(401, {"Content-Type": "text/plain"}, f"bad token {SECRET_TOKEN[:40]}!".encode())]
    assert redactor.text("x " + SECRET_TOKEN + " y") == f"x {MASK} y"


def test_raw_request_sends_what_requests_refuses(server: str) -> None:
    Script.queue = [(401, JSON, b'{"error": "invalid_token"}')]
    client = HttpClient("acme", server)
    resp = client.raw_request("GET", "/p", [(b"Authorization", b"Bearer\tabc")])
    assert resp.status == 401 and Script.seen[-1] == "Bearer\tabc"
    assert "\\t" in client.recorder.exchanges[-1].request_headers[0][1]


@pytest.mark.parametrize(
    "value,shown",
    [
        ("Bearer abc.def.ghi", f"Bearer {MASK}(11 chars)"),
        ("bearer   tok", f"bearer   {MASK}(3 chars)"),
        ("tok-only-value", f"{MASK}(14 chars)"),
        ("Basic dXNlcjpwYXNz", f"Basic {MASK}(12 chars)"),
    ],
)
def test_authorization_redaction_keeps_shape(value: str, shown: str) -> None:
    assert Redactor().authorization(value) == shown


def test_form_and_json_bodies_are_masked_by_field_name() -> None:
    r = Redactor()
    assert "hunter2" not in r.body("username=a&password=hunter2", "application/x-www-form-urlencoded")
    out = r.body(
        '{"apiKey": "k-0000000", "token_type": "bearer", "id": "key_1", "nested": {"refresh_token": "zzzzzz"}}',
        "application/json",
    )
    assert "k-0000000" not in out and "zzzzzz" not in out and '"token_type": "bearer"' in out and "key_1" in out


def test_many_secrets_are_all_masked_whole_whatever_order_they_were_learned_in() -> None:
    # Secrets are folded into a compiled pattern in batches; the newest are masked separately. A secret that is
    # part of another must never leave a fragment of the longer one visible, whichever was learned first.
    r = Redactor()
    opaque = [f"opaque-token-{i:04d}-{'x' * (i % 7)}" for i in range(300)]
    for secret in opaque:
        r.add(secret)
    r.add("opaque-token-0005-xxxxx-and-more")  # contains a folded secret: masked whole
    r.add("token-0005")  # inside older (compiled) secrets: everything refolds, longest first
    text = " | ".join([*opaque, "opaque-token-0005-xxxxx-and-more", "plain words"])
    out = r.text(text)
    assert out.count(MASK) == len(opaque) + 1
    assert "opaque" not in out and "token-0" not in out and out.endswith("| plain words")
