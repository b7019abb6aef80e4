"""Reliability, proven: infrastructure faults, unreachable hosts, interruption, overlapping real waits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests

from conformance.mock.server import MockServer

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from conformance.cli import main; sys.exit(main())", "run"]


def outcomes_of(reports: Path) -> dict[str, Any]:
    return json.loads((reports / "outcomes.json").read_text())


def run(reports: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = subprocess.run(
        [*CLI, "--reports", str(reports), "--no-html", "--no-contract", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "fault,vendors",
    [
        ("intermittent-503", []),
        ("drop-connection", []),
        ("slow-responses", []),
        ("rate-limit-429", []),
    ],
)
def test_infrastructure_faults_end_passed_after_retry_or_broken(tmp_path: Path, fault: str, vendors: list[str]) -> None:
    code, out = run(tmp_path, "--mock-fault", fault, *[a for v in vendors for a in ("--vendor", v)])
    data = outcomes_of(tmp_path)
    kinds = {o["outcome"] for o in data["results"]}
    assert kinds <= {"passed", "skipped", "broken", "deviation"}, out[-2500:]
    assert code == (3 if "broken" in kinds else 0), out[-1500:]
    assert "passed" in kinds
    for vendor, traffic in data["traffic"].items():
        assert traffic["retries"] <= 200, vendor  # the mock target's retry budget
    if fault != "slow-responses":
        assert sum(t["retries"] for t in data["traffic"].values()) > 0, "the fault should have forced retries"


def test_unreachable_host_is_broken_with_exit_3(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[targets.down]\nretry_budget = 2\n[targets.down.opsnow]\nbase_url = "http://127.0.0.1:9"\n'
        'credentials = { api_key = { env = "OPS_KEY" } }\n'
    )
    code, out = run(
        tmp_path / "r", "--target", "down", "--config", str(cfg), "--vendor", "opsnow", env={"OPS_KEY": "key-0000"}
    )
    results = outcomes_of(tmp_path / "r")["results"]
    assert code == 3, out[-1500:]
    assert {o["outcome"] for o in results} <= {"broken", "skipped"} and any(o["outcome"] == "broken" for o in results)
    assert all("cannot reach" in o["message"] for o in results if o["outcome"] == "broken")
    assert "Traceback" not in out


def _ks_config(tmp_path: Path, server: MockServer) -> tuple[Path, dict[str, str]]:
    creds = server.credentials
    cfg = tmp_path / "ks.toml"
    cfg.write_text(
        "[targets.local.knowledgestack]\n"
        f'base_url = "{server.base_url}"\n'
        f'credentials = {{ email = "{creds["email"]}", password = {{ env = "KS_PW" }}, '
        f'restricted_email = "{creds["restricted_email"]}", restricted_password = {{ env = "KS_RPW" }}, '
        f'sso_tenant_id = "{creds["sso_tenant_id"]}", sso_redirect_uri = "{creds["sso_redirect_uri"]}" }}\n'
    )
    return cfg, {"KS_PW": creds["password"], "KS_RPW": creds["restricted_password"]}


def _suite_keys(server: MockServer) -> list[str]:
    """Live keys named by the suite, read from the in-process mock's state (no request, no race with faults)."""
    keys = list(server.app.mock.state.api_keys.values())
    return [k.id for k in keys if k.name.startswith("auth-conformance-") and not getattr(k, "deleted", False)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL],
    ids=["sigint", "sigterm", "sighup", "sigkill"],
)
def test_interrupted_run_leaves_no_keys_after_the_next_run(tmp_path: Path, sig: signal.Signals) -> None:
    with MockServer("knowledgestack", faults=["slow-responses=0.5"], clock="running") as server:
        cfg, env = _ks_config(tmp_path, server)
        args = [
            *CLI,
            "--reports",
            str(tmp_path / "r1"),
            "--no-html",
            "--no-contract",
            "--target",
            "local",
            "--config",
            str(cfg),
            "--vendor",
            "knowledgestack",
            "--",
            "-k",
            "key",
        ]
        proc = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while not _suite_keys(server) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _suite_keys(server), "the run never created a key"
        proc.send_signal(sig)
        proc.wait(timeout=60)
        if sig == signal.SIGKILL:
            assert _suite_keys(server), "a killed run cannot clean up: the leftover is what the sweep must find"
        else:
            # Interrupted like Ctrl-C: the run ends with the signal's exit code and reports for what ran.
            assert proc.returncode == 128 + sig
            assert (tmp_path / "r1" / "junit.xml").exists()
        server.set_faults([])
        issued_before = set(server.issued())
        code, out = run(
            tmp_path / "r2", "--target", "local", "--config", str(cfg), "--vendor", "knowledgestack", env=env
        )
        assert code == 0, out[-2000:]
        assert _suite_keys(server) == []
        # Sessions are cleaned up too: every user token the second run obtained was signed out at its end.
        uats = [t for t in server.issued() if t not in issued_before and t.startswith("eyJ")]
        assert uats
        still_valid = [
            t
            for t in uats
            if requests.get(
                server.base_url + "/v1/users/me", timeout=5, headers={"Authorization": f"Bearer {t}"}
            ).status_code
            != 401
        ]
        assert still_valid == []
        junit = ET.parse(tmp_path / "r2" / "junit.xml").getroot()
        assert int(junit.find("testsuite").get("tests")) > 0
        assert outcomes_of(tmp_path / "r2")["results"]


@pytest.mark.slow
def test_real_waits_overlap(tmp_path: Path) -> None:
    lifetime = 4
    code, out = run(tmp_path, "--real-wait", "--mock-lifetime", str(lifetime), "--", "-k", "expires_after_its_lifetime")
    assert code == 0, out[-2000:]
    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    durations = {c.get("name"): float(c.get("time")) for c in cases}
    assert len(durations) == 4, durations
    total = sum(durations.values())
    # Run one after another, the waits would cost 4 x lifetime; overlapping, about one lifetime plus margins.
    assert lifetime <= total < 2.5 * lifetime, durations
