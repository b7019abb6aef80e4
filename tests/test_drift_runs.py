"""Drift on real runs of the suite against the mocks: faults and changed shapes give exactly the expected changes.

Every run is a real `conformance run --vendor klavi` in a subprocess; they start together (module fixture) so
the whole file costs about as much as its slowest few runs. Canary credentials replace the mocks' test
credentials in every run, so the tests can prove no credential reaches a fingerprint, a drift file or an alert.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conformance.drift import cli as drift_cli
from conformance.drift.compare import compare
from conformance.drift.fingerprint import load, write_fingerprint
from conformance.mock.faults import FAULTS

ROOT = Path(__file__).resolve().parents[1]
VENDOR = "klavi"
CANARIES = {VENDOR: {"access_key": "canary-access-Qm7x2", "secret_key": "canary-secret-Wz8k5Lp"}}

# Runs `conformance run` with the given arguments, after an optional patch; writes the fingerprint itself when
# the run did not (the CLI writes it once `cmd_run` calls write_fingerprint).
RUNNER = """
import sys
from pathlib import Path
{patch}
from conformance.cli import main
from conformance.drift.fingerprint import write_fingerprint
argv = sys.argv[1:]
code = main(argv)
reports = Path(argv[argv.index("--reports") + 1])
if not (reports / "fingerprint.json").exists():
    write_fingerprint(reports, quiet=True)
sys.exit(code)
"""

# An ASGI layer around the running mock (the mock package itself is untouched) that adds one field to the
# token response, as a vendor silently extending its API would.
ADD_FIELD_PATCH = """
import json
from conformance.mock import server

class AddScopeToTokenResponse:
    def __init__(self, app):
        self.inner = app

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or (scope["method"], scope["path"]) != ("POST", "/monitor/v1/auth"):
            return await self.inner(scope, receive, send)
        start, chunks = {}, []

        async def rewrite(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if start["status"] == 200:
                data = json.loads(body)
                data["scope"] = "monitor"
                body = json.dumps(data).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.inner(scope, receive, rewrite)

_init = server.MockServer.__init__

def _wrapped_init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.app = AddScopeToTokenResponse(self.app)

server.MockServer.__init__ = _wrapped_init
"""

DEVIATION = """\
deviations:
  - claim: KLAVI-AUTH-007
    check: bad_credentials_body_documented
    reason: The sandbox answers wrong credentials with its generic 401 body (self-test data).
    since: "2025-01-01"
    targets: [mock]
"""

RUNS: dict[str, dict[str, Any]] = {
    "faithful": {},
    "wrong-lifetime": {"args": ["--mock-fault", "wrong-lifetime"]},
    "no-www-authenticate": {"args": ["--mock-fault", "no-www-authenticate"]},
    "field-added": {"patch": ADD_FIELD_PATCH},
    "deviation-known": {"args": ["--mock-fault", "wrong-401-body"], "specs": DEVIATION},
    "deviation-gone": {"specs": DEVIATION},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("drift-runs")
    specs_copy = base / "specs-with-deviation"
    shutil.copytree(ROOT / "specs", specs_copy)
    (specs_copy / VENDOR / "deviations.yaml").write_text(DEVIATION, encoding="utf-8")
    env = {**os.environ, "CONFORMANCE_MOCK_CREDENTIALS": json.dumps(CANARIES)}
    env.pop("CONFORMANCE_DRIFT_WEBHOOK", None)
    procs = {}
    for name, spec in RUNS.items():
        reports = base / name
        run_env = {**env, "CONFORMANCE_SPECS_DIR": str(specs_copy)} if spec.get("specs") else env
        cmd = [
            sys.executable,
            "-c",
            RUNNER.format(patch=spec.get("patch", "")),
            "run",
            "--vendor",
            VENDOR,
            "--no-html",
            "--no-contract",
            "--reports",
            str(reports),
            *spec.get("args", []),
        ]
        procs[name] = (
            reports,
            subprocess.Popen(cmd, cwd=ROOT, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
        )
    out = {}
    for name, (reports, proc) in procs.items():
        log, _ = proc.communicate(timeout=300)
        assert (reports / "fingerprint.json").is_file(), (
            f"{name}: no fingerprint (exit {proc.returncode})\n{log[-3000:]}"
        )
        assert proc.returncode in (0, 1), f"{name}: exit {proc.returncode}\n{log[-3000:]}"
        out[name] = reports
    return out


def changes(baseline: Path, current: Path) -> list[tuple[str, str, str, Any, Any]]:
    result = compare(load(baseline / "fingerprint.json"), load(current / "fingerprint.json"))
    return [(c.kind, c.subject, c.field, c.before, c.after) for c in result.changes]


def drift(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="conformance drift")
    drift_cli.add_arguments(parser, "drift")
    args = parser.parse_args(list(argv))
    args.command = "drift"
    return drift_cli.run(args)


# --- determinism --------------------------------------------------------------------------------------------


def test_the_faithful_fingerprint_records_claims_shapes_lifetimes_and_headers(runs: dict[str, Path]) -> None:
    fp = load(runs["faithful"] / "fingerprint.json")
    assert fp["target"] == "mock" and fp["suite_version"]
    klavi = fp["vendors"][VENDOR]
    assert klavi["status"] == "ok" and klavi["spec_hash"]
    assert set(klavi["claims"].values()) == {"passed"} and "KLAVI-AUTH-005" in klavi["claims"]
    assert klavi["lifetimes"] == {"access": {"advertised": [1800], "jwt_exp_minus_iat": [1800]}}
    token = klavi["responses"]["POST /monitor/v1/auth 200"]
    assert token["schema"] == {
        "type": "object",
        "properties": {"accessToken": {"type": "string"}, "expireIn": {"type": "integer"}},
        "required": ["accessToken", "expireIn"],
    }
    assert klavi["responses"]["POST /monitor/v1/auth 401"]["headers"]["www-authenticate"] == ["bearer (realm)"]


# --- faults against a faithful baseline ---------------------------------------------------------------------

EXPECTED = {
    # The catalogue names KLAVI-AUTH-005; a token living half as long is also rejected one second before its
    # documented lifetime, which breaks the expiry claim KLAVI-AUTH-008.
    "wrong-lifetime": [
        ("new-failure", "KLAVI-AUTH-005", "", "passed", "failed"),
        ("new-failure", "KLAVI-AUTH-008", "", "passed", "failed"),
        ("lifetime-changed", "access token", "advertised", "1800", "900"),
        ("lifetime-changed", "access token", "jwt_exp_minus_iat", "1800", "900"),
    ],
    # The catalogue names the two challenge claims; with no challenge there is no error="invalid_token" either.
    "no-www-authenticate": [
        ("new-failure", "RFC6750-3-WWW-AUTHENTICATE", "", "passed", "failed"),
        ("new-failure", "RFC6750-3.1-INVALID-TOKEN", "", "passed", "failed"),
        ("new-failure", "RFC9110-11.6.1-CHALLENGE", "", "passed", "failed"),
        (
            "header-changed",
            "GET /monitor/v1/reports 401",
            "www-authenticate",
            "bearer (error=invalid_token; error_description, realm) | bearer (realm)",
            "(absent)",
        ),
        ("header-changed", "POST /monitor/v1/auth 401", "www-authenticate", "bearer (realm)", "(absent)"),
    ],
}


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_a_fault_against_the_faithful_baseline_gives_exactly_the_expected_drift(
    runs: dict[str, Path], fault: str
) -> None:
    got = changes(runs["faithful"], runs[fault])
    assert got == EXPECTED[fault]
    vendor_claims = set(load(runs["faithful"] / "fingerprint.json")["vendors"][VENDOR]["claims"])
    catalogued = set(FAULTS[fault].claims) & vendor_claims
    assert catalogued <= {c[1] for c in got if c[0] == "new-failure"}


def test_drift_command_writes_both_reports_and_exits_4(runs: dict[str, Path], tmp_path: Path) -> None:
    current = tmp_path / "reports"
    shutil.copytree(runs["wrong-lifetime"], current)
    code = drift("--baseline", str(runs["faithful"] / "fingerprint.json"), "--reports", str(current), "--no-alert")
    assert code == 4
    data = json.loads((current / "drift.json").read_text(encoding="utf-8"))
    assert data["drift"] is True
    assert data["counts"] == {"new-failure": 2, "lifetime-changed": 2}
    assert [(c["kind"], c["subject"]) for c in data["changes"]] == [(e[0], e[1]) for e in EXPECTED["wrong-lifetime"]]
    md = (current / "drift.md").read_text(encoding="utf-8")
    assert md.startswith("# Vendor drift: 4 change(s) in klavi")
    assert "| ⏱️ lifetime changed | access token | advertised | 1800 | 900 (seconds) |" in md


# --- shape drift ---------------------------------------------------------------------------------------------


def test_a_mock_wrapped_to_add_a_response_field_gives_a_shape_drift(runs: dict[str, Path]) -> None:
    assert changes(runs["faithful"], runs["field-added"]) == [
        ("field-added", "POST /monitor/v1/auth 200", "$.scope", None, "string"),
    ]
    # Apart from that field the two runs' fingerprints are identical: fingerprints are deterministic.
    faithful = load(runs["faithful"] / "fingerprint.json")
    wrapped = load(runs["field-added"] / "fingerprint.json")
    schema = wrapped["vendors"][VENDOR]["responses"]["POST /monitor/v1/auth 200"]["schema"]
    del schema["properties"]["scope"]
    schema["required"].remove("scope")
    assert wrapped == faithful


def test_observations_with_a_field_added_and_one_dropped_give_shape_drift(runs: dict[str, Path], tmp_path) -> None:
    """The same comparison on a faithful run's observations edited the way a changed vendor would answer."""
    edited = tmp_path / "edited"
    shutil.copytree(runs["faithful"], edited)
    (edited / "fingerprint.json").unlink()
    for path in (edited / "observations").glob("*.jsonl"):
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            key = (rec.get("method"), rec.get("path"), rec.get("status"))
            if key == ("GET", "/monitor/v1/reports", 401):
                rec["json"].pop("error_description", None)
            if key == ("POST", "/monitor/v1/auth", 400):
                rec["json"]["trace_id"] = 12345
            lines.append(json.dumps(rec))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_fingerprint(edited, quiet=True)
    assert changes(runs["faithful"], edited) == [
        ("field-added", "POST /monitor/v1/auth 400", "$.trace_id", None, "integer"),
        ("field-removed", "GET /monitor/v1/reports 401", "$.error_description", "string", None),
    ]


# --- known deviations ----------------------------------------------------------------------------------------


def test_a_known_deviation_that_stops_happening_is_drift(runs: dict[str, Path]) -> None:
    known = load(runs["deviation-known"] / "fingerprint.json")["vendors"][VENDOR]
    assert known["claims"]["KLAVI-AUTH-007"] == "deviation"
    assert changes(runs["deviation-known"], runs["deviation-gone"]) == [
        ("deviation-gone", "KLAVI-AUTH-007", "", "deviation", "deviation-gone"),
    ]


# --- the alert ----------------------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append({"path": self.path, "headers": dict(self.headers), "body": body.decode()})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, _Receiver.received
    server.shutdown()
    server.server_close()


def test_the_alert_reaches_a_local_receiver_with_no_secret(
    runs: dict[str, Path], tmp_path: Path, receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, received = receiver
    hook_path = "/services/T0CANARY/B0CANARY/hookSecretPart9f8e7d"
    monkeypatch.setenv("CONFORMANCE_DRIFT_WEBHOOK", f"http://127.0.0.1:{server.server_port}{hook_path}")
    current = tmp_path / "reports"
    shutil.copytree(runs["no-www-authenticate"], current)
    assert drift("--baseline", str(runs["faithful"] / "fingerprint.json"), "--reports", str(current)) == 4
    assert len(received) == 1
    assert received[0]["path"] == hook_path
    assert received[0]["headers"]["Content-Type"] == "application/json"
    message = json.loads(received[0]["body"])
    assert message["text"].startswith("Vendor drift on mock: 5 changes in klavi")
    assert (
        "3 new failures (RFC6750-3-WWW-AUTHENTICATE, RFC6750-3.1-INVALID-TOKEN, RFC9110-11.6.1-CHALLENGE)"
        in (message["text"])
    )
    assert message["event"] == "drift" and len(message["changes"]) == 5
    # No credential, token or webhook secret anywhere: not in the message, nor in the files the run wrote.
    written = [received[0]["body"]] + [
        (current / name).read_text(encoding="utf-8") for name in ("fingerprint.json", "drift.md", "drift.json")
    ]
    for text in written:
        for secret in [*CANARIES[VENDOR].values(), "hookSecretPart9f8e7d", "T0CANARY", "eyJ"]:
            assert secret not in text
        assert "[withheld" not in text  # nothing needed the last-resort scrub: the inputs were clean
