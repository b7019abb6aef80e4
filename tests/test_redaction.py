"""The redactor and the run's one redaction point: every form and fragment of a secret, every media type, reports."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests

from conformance.config import VendorTarget
from conformance.contract.transport import make_session
from conformance.http import Budget, HttpClient, NoRedirectSession
from conformance.redact import FRAGMENT_FLOOR, MASK, Redactor, Secret
from tests.hostile import HostileServer, Reply, canary, find_canaries

SECRET = 'cnry-7Hq2"x\\y/+ &=%z-Lm4PzQ9'


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        repr(SECRET)[1:-1],
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
        base64.b64encode(b"user:" + SECRET.encode()).decode(),  # inside a Basic credential, another alignment
        base64.b64encode(b"ab:" + SECRET.encode()).decode(),
    ],
)
def test_every_encoded_form_of_a_secret_is_masked(form: str) -> None:
    out = Redactor([SECRET]).text(f"echo: <{form}> end")
    assert MASK in out and not find_canaries([SECRET], [("out", out)]), out


@pytest.mark.parametrize("piece", [SECRET[:8], SECRET[-8:], SECRET[5:19], SECRET[: len(SECRET) // 2]])
def test_any_fragment_at_the_floor_or_longer_is_masked(piece: str) -> None:
    assert FRAGMENT_FLOOR == 8
    out = Redactor([SECRET]).text(f"a truncated token: {piece}!")
    assert piece not in out and out.startswith("a truncated token: ") and out.endswith("!")


def test_fragments_below_the_floor_and_ordinary_text_stay() -> None:
    r = Redactor([SECRET, "opaque-token-abcdef0123"])
    text = "cnry-7H and opaque- and the error: invalid_token"
    assert r.text(text) == text


def test_short_secrets_are_masked_whole_only() -> None:
    r = Redactor(["pw12345"])
    assert r.text("x pw12345 y pw123") == f"x {MASK} y pw123"


def test_user_info_in_urls_is_masked_even_unregistered() -> None:
    out = Redactor().text("GET https://svc:hunter2-pass@api.example/x")
    assert "hunter2" not in out and "api.example/x" in out


def test_a_secret_credential_shows_redacted_in_reprs_and_works_as_a_value() -> None:
    target = VendorTarget("klavi", "http://h", {"access_key": "ak-visible", "secret_key": "sk-canary-1234"})
    body = {"accessKey": target.credentials["access_key"], "secretKey": target.credentials["secret_key"]}
    assert "sk-canary" not in repr(body) and "ak-visible" in repr(body)
    assert json.loads(json.dumps(body))["secretKey"] == "sk-canary-1234"
    assert isinstance(target.credentials["secret_key"], Secret) and target.secrets == ["sk-canary-1234"]


@pytest.mark.parametrize(
    "content_type,body",
    [
        ("application/vnd.x+json", '{"accessToken": "%s"}'),
        ("text/plain", '{"data": {"access_token": "%s"}}'),
        ("application/x-www-form-urlencoded", "access_token=%s&token_type=bearer"),
        ("text/html", "refresh_token=%s"),
    ],
)
def test_tokens_are_learned_whatever_the_media_type(content_type: str, body: str) -> None:
    token = "opaque" + uuid.uuid4().hex
    with HostileServer(lambda req: Reply(200, body % token, [("Content-Type", content_type)])) as server:
        client = HttpClient("acme", server.url)
        client.request("POST", "/token", json_body={})
    assert client.redactor.text(f"later: {token[:12]} / {token[-10:]}") == f"later: {MASK} / {MASK}"
    assert token not in client.recorder.exchanges[-1].render()


def test_a_token_in_a_secret_named_response_header_is_learned() -> None:
    token = "hdr" + uuid.uuid4().hex
    with HostileServer(lambda req: Reply(200, "{}", [("X-Access-Token", token)])) as server:
        client = HttpClient("acme", server.url)
        client.request("GET", "/")
    assert token not in client.recorder.exchanges[-1].render() and client.redactor.text(token) == MASK


def test_an_echoed_status_line_never_reaches_an_error_text() -> None:
    secret = canary()

    def garbage(req: object) -> bytes:
        return b"HTTP/1.1 2x0 " + secret.encode() + b"\r\n\r\n"

    with HostileServer(garbage) as server:
        client = HttpClient("acme", server.url, budget=Budget(max_retries=0), redactor=Redactor([secret]))
        with pytest.raises(Exception) as info:
            client.request("POST", "/token", json_body={"secretKey": secret})
    texts = [("exception", str(info.value)), ("exchange", client.recorder.exchanges[-1].render())]
    assert "2x0" in str(info.value) or "status" in str(info.value).lower()
    assert not find_canaries([secret], texts), texts


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_no_session_of_the_suite_follows_a_redirect(status: int) -> None:
    collector = HostileServer(lambda req: Reply(200, "{}"))
    redirector = HostileServer(lambda req: Reply(status, "", [("Location", collector.url + req.path)]))
    with collector, redirector:
        answers = [
            HttpClient("acme", redirector.url).request("POST", "/token", json_body={"k": "v"}).status,
            make_session("acme", Budget()).post(redirector.url + "/token", json={"k": "v"}).status_code,
            NoRedirectSession().request("POST", redirector.url + "/t", allow_redirects=True).status_code,
        ]
        # What the suite guards against: a plain session carries the body to the collector.
        requests.post(redirector.url + "/token", json={"k": "v"}, timeout=5)
    assert answers == [status] * 3
    assert len(collector.received) == 1  # the plain session only
    assert all(r.path == "/token" for r in collector.received)


CONFTEST = """
import pytest
from conformance import leakguard

@pytest.fixture
def secret(request):
    value = "%s"
    leakguard.run_redactor(request.config).add(value)
    return value
"""

TESTS = """
import allure

def send(json_body, token):
    raise ConnectionError("cannot reach: " + repr(json_body))

def test_outage(secret):
    print("captured:", secret)
    allure.attach("attachment " + secret, name="exchange")
    send({"secretKey": secret, "half": secret[: len(secret) // 2]}, token=secret)
"""


def test_reports_tracebacks_and_allure_files_pass_through_the_run_redactor(tmp_path: Path) -> None:
    """pytest's long traceback shows each frame's arguments: the report hook masks them before any writer."""
    secret = canary().replace("\\", "").replace('"', "")
    (tmp_path / "conftest.py").write_text(CONFTEST % secret)
    (tmp_path / "test_leak.py").write_text(textwrap.dedent(TESTS))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "conformance.plugin",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-rfE",
            "--tb=long",
            "--showlocals",
            f"--junitxml={tmp_path / 'out' / 'junit.xml'}",
            f"--alluredir={tmp_path / 'out' / 'allure'}",
            str(tmp_path / "test_leak.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    console = proc.stdout + proc.stderr
    assert "1 failed" in console, console[-2000:]
    assert "json_body = {" in console and MASK in console  # the frame's arguments are shown, masked
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert any(p.name.endswith("-attachment.txt") for p in files) and any(p.name == "junit.xml" for p in files)
    places = [("console", console)] + [(p.name, p.read_text(errors="replace")) for p in files]
    assert not find_canaries([secret], places)


def test_words_inside_a_secret_are_not_masked_alone_but_never_left_beside_a_mask() -> None:
    r = Redactor(["mock-klearstack-password"])
    assert r.text("klearstack: wrong password") == "klearstack: wrong password"
    assert r.text("got mock-klearstack-password!") == f"got {MASK}!"
    assert r.text("half: mock-klearst|") == f"half: {MASK}|"
    assert Redactor(["correcthorsebattery"]).text("a correcthorsebattery b") == f"a {MASK} b"
