"""Throughput of the contract part: the suite's pytest contract tests beside `schemathesis run` on the same mock.

For each vendor, both sides fuzz the same spec (specs/<vendor>/openapi.yaml) against the same faithful mock with the
same example budget, seed, generation modes (positive and negative), phases and checks:

- pytest: `pytest conformance/contract --assert=plain --vendor V --budget B --seed S` in a subprocess (the suite
  starts the mock; `--assert=plain` as `conformance run` passes it);
- CLI: `schemathesis run specs/V/openapi.yaml --url <mock>` in a subprocess, against a MockServer started here, with
  a bearer token obtained beforehand (the CLI has no notion of the vendor's token endpoint).

Both are measured in generated cases over the wall time of the subprocess, start-up included, and over their test
time alone (pytest: from the first test on; CLI: the time it reports itself). What the mock served (every case,
probe and token call) is printed too.
The median of several runs is printed as a Markdown table.

    python benchmarks/bench_contract.py [--budget dev|ci|nightly] [--runs 3] [--vendor NAME ...] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUT_ENV = "BENCH_CONTRACT_OUT"


# --- plugin side: loaded into the pytest subprocess with `-p bench_contract` -----------------------------------


@pytest.fixture(scope="session", autouse=True)
def _bench_contract_counts(request: pytest.FixtureRequest) -> Any:
    """Write what the mocks served and how long the tests ran (torn down while the mocks still run)."""
    out = os.environ.get(OUT_ENV)
    if not out:
        yield
        return
    runtime = request.getfixturevalue("conformance_runtime")
    contracts = dict(request.getfixturevalue("contract_runtime"))  # mocks started: the clock covers only the tests
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    served = {v: s.app.mock.state.log_seq for v, s in runtime.servers.items()}
    cases = {v: sum(c.calls for c in contract.counters.values()) for v, contract in contracts.items()}
    Path(out).write_text(json.dumps({"served": served, "cases": cases, "elapsed": elapsed}), encoding="utf-8")


# --- benchmark side ----------------------------------------------------------------------------------------------


def run_pytest(vendor: str, budget: str, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "counts.json"
        env = {**os.environ, OUT_ENV: str(out), "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT)])}
        cmd = [sys.executable, "-m", "pytest", str(ROOT / "conformance" / "contract"), "-p", "bench_contract",
               "-p", "no:cacheprovider", "--assert=plain", "-q",
               "--vendor", vendor, "--budget", budget, "--seed", str(seed)]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - started
        if not out.exists():
            raise SystemExit(f"pytest run for {vendor} wrote no counts:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        data = json.loads(out.read_text(encoding="utf-8"))
    return {"cases": data["cases"][vendor], "requests": data["served"][vendor], "wall": wall, "inner": data["elapsed"]}


def _token(server: Any, vendor: str) -> str:
    import requests

    from conformance import specs

    spec = specs.load_profile(vendor)["issue"]
    creds = server.credentials
    body = {field: creds[name] for field, name in spec["fields"].items()}
    kwargs: dict[str, Any] = {"json": body} if spec["encoding"] == "json" else {"data": body}
    resp = requests.request(spec["method"], server.base_url + spec["path"], verify=False, timeout=10, **kwargs)
    resp.raise_for_status()
    return resp.json()[spec["token_field"]]


def run_cli(vendor: str, budget: str, seed: int) -> dict[str, float]:
    import warnings

    import urllib3

    from conformance.contract.budgets import BUDGETS, RESPONSE_CHECKS, STATEFUL_CHECKS
    from conformance.mock.server import MockServer

    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    plan = BUDGETS[budget]
    phases = ["examples", "fuzzing", *(["coverage"] if plan.coverage else []), "stateful"]
    with MockServer(vendor) as server, tempfile.TemporaryDirectory() as tmp:
        token = _token(server, vendor)
        before = server.app.mock.state.log_seq
        checks = ",".join((*RESPONSE_CHECKS, *STATEFUL_CHECKS))
        cmd = [sys.executable, "-m", "schemathesis.cli", "run", str(ROOT / "specs" / vendor / "openapi.yaml"),
               "--url", server.base_url, "--max-examples", str(plan.max_examples), "--seed", str(seed),
               "--mode", "all", "--phases", ",".join(phases), "--checks", checks,
               "-H", f"Authorization: Bearer {token}", "--tls-verify", "false", "--generation-database", "none",
               "--no-color"]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - started
        served = server.app.mock.state.log_seq - before
    if proc.returncode not in (0, 1):  # 1: it found something (the CLI fuzzes sign-out with the shared token)
        raise SystemExit(f"schemathesis run for {vendor} failed to run:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    match = re.search(r"(\d+) generated", proc.stdout)
    # The CLI's closing line gives its own test time ("No issues found in 2.61s"): start-up excluded.
    took = re.findall(r" in (\d+(?:\.\d+)?)s\b", proc.stdout)
    return {
        "cases": int(match.group(1)) if match else 0,
        "requests": served,
        "wall": wall,
        "inner": float(took[-1]) if took else float("nan"),
    }


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(argv: list[str] | None = None) -> int:
    from conformance import specs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="dev", choices=["dev", "ci", "nightly"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vendor", action="append", default=[])
    args = parser.parse_args(argv)
    vendors = args.vendor or specs.vendors()
    rows = []
    for vendor in vendors:
        ours = [run_pytest(vendor, args.budget, args.seed) for _ in range(args.runs)]
        cli = [run_cli(vendor, args.budget, args.seed) for _ in range(args.runs)]
        rows.append((vendor, ours, cli))
        print(f"{vendor}: done", file=sys.stderr)
    print(f"Budget `{args.budget}`, seed {args.seed}, median of {args.runs} runs. Cases: generated test cases sent;")
    print("requests: everything the mock served (cases, auth probes, token calls); wall: the whole subprocess;")
    print("in-run: the tests only (pytest: collection and start-up excluded; CLI: the time it reports itself).\n")
    print(
        "| vendor | pytest cases | pytest requests | pytest wall s | pytest cases/s (wall) | pytest in-run s "
        "| pytest cases/s (in-run) | CLI cases | CLI requests | CLI wall s | CLI cases/s (wall) | CLI in-run s "
        "| CLI cases/s (in-run) | ratio (wall) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for vendor, ours, cli in rows:
        cases, req, wall, inner = (median(ours, k) for k in ("cases", "requests", "wall", "inner"))
        ccases, creq, cwall, cinner = (median(cli, k) for k in ("cases", "requests", "wall", "inner"))
        print(f"| {vendor} | {cases:.0f} | {req:.0f} | {wall:.1f} | {cases / wall:.0f} | {inner:.1f} "
              f"| {cases / inner:.0f} | {ccases:.0f} | {creq:.0f} | {cwall:.1f} | {ccases / cwall:.0f} "
              f"| {cinner:.1f} | {ccases / cinner:.0f} | {(cases / wall) / (ccases / cwall):.1f}x |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
