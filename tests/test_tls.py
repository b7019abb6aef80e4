"""TLS: verification on by default, a CA bundle works, verify-off only where documented (and reported)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.mock.server import MockServer

ROOT = Path(__file__).resolve().parents[1]
ENV = {"KS_USER": "mock-user@klearstack.test", "KS_PASS": "mock-klearstack-password"}


@pytest.fixture(scope="module")
def klearstack() -> Iterator[MockServer]:
    with MockServer("klearstack") as server:
        yield server


def run_remote(tmp_path: Path, server: MockServer, verify: str | None) -> tuple[int, list[dict[str, Any]], str]:
    lines = [
        "[targets.local.klearstack]",
        f'base_url = "{server.base_url}"',
        'credentials = { username = { env = "KS_USER" }, password = { env = "KS_PASS" } }',
    ]
    if verify is not None:
        lines.append(f"verify = {verify}")
    cfg = tmp_path / "conformance.toml"
    cfg.write_text("\n".join(lines) + "\n")
    reports = tmp_path / "reports"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from conformance.cli import main; sys.exit(main())",
            "run",
            "--target",
            "local",
            "--config",
            str(cfg),
            "--vendor",
            "klearstack",
            "--no-html",
            "--no-contract",
            "--reports",
            str(reports),
            "--",
            "-k",
            "tls or valid_bearer or token_issued",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **ENV},
    )
    outcomes = (
        json.loads((reports / "outcomes.json").read_text())["results"] if (reports / "outcomes.json").exists() else []
    )
    return proc.returncode, outcomes, proc.stdout + proc.stderr


def test_ca_bundle_path_verifies_the_certificate(klearstack: MockServer, tmp_path: Path) -> None:
    assert klearstack.ca_path
    code, outcomes, out = run_remote(tmp_path, klearstack, f'"{klearstack.ca_path}"')
    assert code == 0, out[-2000:]
    assert {o["outcome"] for o in outcomes} == {"passed"}
    assert not list((tmp_path / "reports" / "allure-results").glob("*security*")), "no finding when verified"


def test_failed_verification_is_infrastructure_with_a_clear_message(klearstack: MockServer, tmp_path: Path) -> None:
    code, outcomes, out = run_remote(tmp_path, klearstack, None)  # verification on by default
    assert code == 3, out[-2000:]
    assert outcomes and {o["outcome"] for o in outcomes} == {"broken"}
    assert all("TLS handshake" in o["message"] and "certificate verify failed" in o["message"] for o in outcomes)
    assert "Traceback" not in out


def test_documented_verify_off_is_allowed_and_reported(klearstack: MockServer, tmp_path: Path) -> None:
    code, outcomes, out = run_remote(tmp_path, klearstack, "false")
    assert code == 0, out[-2000:]
    findings = [json.loads(p.read_text()) for p in (tmp_path / "reports" / "allure-results").glob("*-result.json")]
    tls = [r for r in findings if "tls_verification" in r["name"]]
    assert tls and any(a["name"] == "security finding" for a in tls[0]["attachments"])
    assert any(lb["value"] == "security-finding" for lb in tls[0]["labels"])


@pytest.mark.parametrize("verify", ["mock-ca", False, True])
def test_raw_requests_over_tls_verify_as_configured(klearstack: MockServer, verify: str | bool) -> None:
    from conformance.failures import InfrastructureError
    from conformance.http import HttpClient

    path, header = "/get_access_token", [(b"Authorization", b"Bearer\tx")]
    client = HttpClient("klearstack", klearstack.base_url, verify=klearstack.ca_path if verify == "mock-ca" else verify)
    try:
        if verify is True:  # the system CAs alone do not trust the mock's certificate
            with pytest.raises(InfrastructureError, match="raw request"):
                client.raw_request("GET", path, header)
            return
        first = client.raw_request("GET", path, header)
        context = client._raw_tls
        second = client.raw_request("GET", path, header)
        assert first.status == second.status and first.status < 500
        assert context is not None and client._raw_tls is context  # one context for every raw request
    finally:
        client.close()
