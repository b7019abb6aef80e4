"""Measures the suite's speed side by side: main-job wall time, budgets, xdist, request rate vs a raw loop.

Run from the project root:  python benchmarks/bench_suite.py [--runs 3]
Prints a Markdown table (medians of --runs whole-process runs); the README quotes its output.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from conformance.cli import main; sys.exit(main())", "run"]


def run_suite(*args: str) -> dict[str, float]:
    """One whole-process `conformance run`; wall time, test-session time and requests sent."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.run([*CLI, "--reports", tmp, *args], cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"benchmark run failed ({proc.returncode}): {proc.stdout[-500:]}{proc.stderr[-500:]}")
        data = json.loads((Path(tmp) / "outcomes.json").read_text())
        suite = ET.parse(Path(tmp) / "junit.xml").getroot().find("testsuite")
        traffic = data.get("traffic", {})
        return {
            "wall": wall,
            "session": float(suite.get("time")),
            "requests": sum(t["requests"] for t in traffic.values()),
            "token_requests": max((t["token_requests"] for t in traffic.values()), default=0),
            "tests": int(suite.get("tests")),
        }


def _probe_loop(send, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        send()
        n += 1
    return n / (time.perf_counter() - start)


def loop_rates(seconds: float = 3.0) -> tuple[float, float]:
    """Requests per second of the same probe against the same mock: a plain requests.Session loop, then the
    suite's own HTTP layer (budget, retry policy, recording, redaction) as every scenario request goes through it."""
    from conformance.http import HttpClient, Recorder
    from conformance.mock.server import MockServer
    from conformance.redact import Redactor

    with MockServer("opsnow") as server:
        session = requests.Session()
        creds = server.credentials
        token = session.post(
            server.base_url + "/platform/v2/identity/api-keys/token", json={"apiKey": creds["api_key"]}, timeout=5
        ).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        url = server.base_url + "/platform/v2/identity/users/me"
        raw = _probe_loop(lambda: session.get(url, headers=headers, timeout=5), seconds)
        recorder = Recorder()
        client = HttpClient("opsnow", server.base_url, redactor=Redactor([creds["api_key"], token]), recorder=recorder)

        def suite_send() -> None:
            client.request("GET", "/platform/v2/identity/users/me", headers=headers)
            recorder.drain()  # as the plugin drains each test's exchanges into its attachments

        suite = _probe_loop(suite_send, seconds)
        client.close()
        return raw, suite


CEILING_CONFTEST = """
import pytest, requests
from conformance.mock.server import MockServer, stop_mocks

@pytest.fixture(scope="session")
def probe():
    server = MockServer("opsnow").start()
    session = requests.Session()
    token = session.post(server.base_url + "/platform/v2/identity/api-keys/token",
                         json={"apiKey": server.credentials["api_key"]}, timeout=5).json()["accessToken"]
    headers = {"Authorization": "Bearer " + token}
    url = server.base_url + "/platform/v2/identity/users/me"
    yield lambda: session.get(url, headers=headers, timeout=5)
    session.close()
    stop_mocks([server], wait=False)  # as the suite stops its mocks: no shutdown wait inside the session time
"""

CEILING_TEST = """
import pytest

@pytest.mark.parametrize("row", range({n}))
def test_one_request(probe, row):
    assert probe().status_code == 200
"""


def pytest_ceiling(tests: int, report: bool) -> float:
    """Requests per second of pytest session time for `tests` tests that each only send the probe once through a
    plain requests.Session: the most any one-request-per-test pytest suite can reach here (same flags as a run)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "conftest.py").write_text(CEILING_CONFTEST)
        (folder / "test_ceiling.py").write_text(CEILING_TEST.format(n=tests))
        cmd = [sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "--assert=plain", "-q",
               "-p", "no:schemathesis", "-p", "no:hypothesispytest",
               "--junitxml", str(folder / "junit.xml")]  # fmt: skip
        if report:
            cmd += ["--alluredir", str(folder / "allure-results")]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise SystemExit(f"ceiling run failed ({proc.returncode}): {proc.stdout[-500:]}{proc.stderr[-500:]}")
        suite = ET.parse(folder / "junit.xml").getroot().find("testsuite")
        return tests / float(suite.get("time"))


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    cases = [
        ("main job: all vendors, dev budget, report", []),
        ("main job, `-n 2`", ["-n", "2"]),
        ("ci budget, with report", ["--budget", "ci"]),
        ("ci budget, with report, `-n 2`", ["--budget", "ci", "-n", "2"]),
        ("scenarios only, one process (no report)", ["--no-html", "--no-contract"]),
    ]
    results = {}
    for label, extra in cases:
        runs = [run_suite(*extra) for _ in range(args.runs)]
        results[label] = runs
        rows.append(
            (
                label,
                f"{median(runs, 'wall'):.1f} s",
                f"{median(runs, 'session'):.1f} s",
                f"{int(median(runs, 'tests'))}",
                f"{int(median(runs, 'requests'))}",
            )
        )
    rates = [loop_rates() for _ in range(args.runs)]
    raw = statistics.median(r[0] for r in rates)
    layer = statistics.median(r[1] for r in rates)
    scen = results["scenarios only, one process (no report)"]
    scen_rate = median(scen, "requests") / median(scen, "session")
    n_tests = int(median(scen, "tests"))
    ceiling = statistics.median(pytest_ceiling(n_tests, report=True) for _ in range(args.runs))
    ceiling_bare = statistics.median(pytest_ceiling(n_tests, report=False) for _ in range(args.runs))
    print("| case | wall (median) | pytest session | tests | requests |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print(f"- plain requests.Session loop against the same mock and probe: {raw:.0f} req/s")
    print(f"- the same loop through the suite's HTTP layer: {layer:.0f} req/s = {100 * layer / raw:.0f} % of plain")
    print(
        f"- hand-written scenarios, requests / pytest session time: {scen_rate:.0f} req/s"
        f" = {100 * scen_rate / raw:.0f} % of plain ({median(scen, 'session') * 1000 / median(scen, 'tests'):.1f} ms"
        " per test)"
    )
    print(
        f"- ceiling: {n_tests} pytest tests that each only send the probe once through a plain session:"
        f" {ceiling:.0f} req/s = {100 * ceiling / raw:.0f} % of plain with Allure results written,"
        f" {ceiling_bare:.0f} req/s = {100 * ceiling_bare / raw:.0f} % without"
    )
    print(f"- most token-endpoint calls to one vendor in a run: {int(median(scen, 'token_requests'))}")


if __name__ == "__main__":
    main()
