"""The webhook alert against a local receiver: retries, timeouts, no secrets, and outages alerting once."""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conformance.drift import alert, compare, state
from conformance.drift import cli as drift_cli

SECRET_HOOK = "/services/T0CANARY/B0CANARY/hookSecretPart9f8e7d"


class Receiver:
    """A local HTTP server whose answers are scripted: a list of (status, delay seconds), then 200."""

    def __init__(self, script: list[tuple[int, float]] | None = None) -> None:
        self.script = list(script or [])
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append({"path": self.path, "body": body.decode()})
                status, delay = outer.script.pop(0) if outer.script else (200, 0.0)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{SECRET_HOOK}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _fingerprint(status: str = "ok", claims: dict[str, str] | None = None, tests: dict | None = None) -> dict:
    return {
        "format": "conformance-fingerprint/1",
        "suite_version": "0.1.0",
        "target": "sandbox",
        "vendors": {
            "opsnow": {
                "spec_hash": "abc",
                "status": status,
                "tests": tests or {"passed": 2},
                "claims": claims if claims is not None else {"OPSNOW-AUTH-005": "passed"},
                "responses": {},
                "lifetimes": {},
            }
        },
    }


def _drift_result() -> compare.DriftResult:
    return compare.compare(_fingerprint(), _fingerprint(claims={"OPSNOW-AUTH-005": "failed"}))


def test_message_is_slack_compatible_text_plus_structured_fields() -> None:
    message = alert.build_message(_drift_result(), run_url="https://ci.example/run/1")
    assert message is not None
    assert message["text"].splitlines() == [
        "Vendor drift on sandbox: 1 change in opsnow",
        "• opsnow: 1 new failure (OPSNOW-AUTH-005)",
        "Details: drift.md in the run's reports (https://ci.example/run/1)",
    ]
    assert message["event"] == "drift"
    assert message["vendors"] == {"opsnow": {"status": "ok", "changes": {"new-failure": 1}}}
    assert message["changes"][0]["kind"] == "new-failure" and message["changes"][0]["drift"] is True
    json.dumps(message)


def test_no_message_without_drift_or_outage() -> None:
    assert alert.build_message(compare.compare(_fingerprint(), _fingerprint())) is None


def test_post_retries_server_errors_then_succeeds() -> None:
    with Receiver([(503, 0), (500, 0)]) as rx:
        delivery = alert.post(rx.url, {"text": "x"}, retries=3, backoff=0)
    assert (delivery.ok, delivery.attempts, delivery.status) == (True, 3, 200)
    assert [json.loads(r["body"]) for r in rx.received] == [{"text": "x"}] * 3


def test_post_does_not_retry_a_rejected_message() -> None:
    with Receiver([(400, 0)]) as rx:
        delivery = alert.post(rx.url, {"text": "x"}, retries=3, backoff=0)
    assert (delivery.ok, delivery.attempts, delivery.status) == (False, 1, 400)
    assert len(rx.received) == 1


def test_post_times_out_each_attempt_and_never_names_the_url() -> None:
    with Receiver([(200, 1.0), (200, 1.0)]) as rx:
        start = time.monotonic()
        delivery = alert.post(rx.url, {"text": "x"}, retries=1, backoff=0, timeout=0.2)
        elapsed = time.monotonic() - start
    assert not delivery.ok and delivery.attempts == 2
    assert delivery.error == "ReadTimeout"
    assert elapsed < 1.5
    assert "hookSecret" not in delivery.error


def test_unreachable_webhook_is_a_network_error_without_the_url() -> None:
    with Receiver() as rx:
        url = rx.url
    delivery = alert.post(url, {"text": "x"}, retries=1, backoff=0, timeout=1)
    assert not delivery.ok and delivery.attempts == 2 and delivery.error == "ConnectionError"


def test_webhook_url_must_be_http() -> None:
    delivery = alert.post("file:///etc/passwd", {"text": "x"})
    assert not delivery.ok and delivery.attempts == 0 and "passwd" not in delivery.error


# --- through the CLI -----------------------------------------------------------------------------------------


def _drift(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="conformance drift")
    drift_cli.add_arguments(parser, "drift")
    args = parser.parse_args(list(argv))
    args.command = "drift"
    return drift_cli.run(args)


def _write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_outages_never_alert_as_drift_and_three_in_a_row_alert_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = _write(tmp_path / "baseline" / "fingerprint.json", _fingerprint())
    down = _write(tmp_path / "down" / "fingerprint.json", _fingerprint("unreachable", {}, {"broken": 7}))
    up = _write(tmp_path / "up" / "fingerprint.json", _fingerprint())
    with Receiver() as rx:
        monkeypatch.setenv("CONFORMANCE_DRIFT_WEBHOOK", rx.url)
        codes = [
            _drift("--baseline", str(baseline), "--reports", str(run.parent), "--alert-retries", "0")
            for run in [down, down, down, down, up, down]
        ]
    assert codes == [0] * 6  # an outage is never drift
    assert len(rx.received) == 1, [r["body"] for r in rx.received]
    message = json.loads(rx.received[0]["body"])
    assert message["event"] == "vendor-unreachable"
    assert message["text"].startswith("Vendor unreachable: opsnow on sandbox for 3 consecutive runs")
    assert message["changes"] == []
    saved = state.load(state.path_for(baseline))
    assert saved["vendors"]["opsnow"] == {"alerted": False, "consecutive_unreachable": 1}
    notes = json.loads((down.parent / "drift.json").read_text(encoding="utf-8"))
    assert notes["drift"] is False and notes["changes"][0]["kind"] == "vendor-unreachable"
    assert "hookSecret" not in capsys.readouterr().out


def test_an_undeliverable_alert_warns_but_keeps_exit_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = _write(tmp_path / "b" / "fingerprint.json", _fingerprint())
    current = _write(tmp_path / "c" / "fingerprint.json", _fingerprint(claims={"OPSNOW-AUTH-005": "failed"}))
    with Receiver([(503, 0)] * 5) as rx:
        monkeypatch.setenv("CONFORMANCE_DRIFT_WEBHOOK", rx.url)
        monkeypatch.setattr(time, "sleep", lambda s: None)
        code = _drift("--baseline", str(baseline), "--reports", str(current.parent), "--alert-retries", "2")
    assert code == 4 and len(rx.received) == 3
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "conformance drift: warning: alert not delivered after 3 attempt(s): the webhook answered 503"
    ]
