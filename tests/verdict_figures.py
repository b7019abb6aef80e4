"""Measures the README's verdict figures: the whole suite (contract part on) against every reading and every fault.

Run from the project root:  python tests/verdict_figures.py [--jobs 2]
Prints two Markdown tables (readings x exit code, faults x claims named); the README quotes its output. The runs
are the ones the self-tests make (tests/test_verdicts.py, tests/test_suite_vs_mocks.py): same vendors, same seed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_suite_vs_mocks import CONFORMANCE_FAULTS, one_vendor  # noqa: E402

from conformance import specs  # noqa: E402
from conformance.mock.faults import FAULTS, READINGS  # noqa: E402

CLI = [sys.executable, "-c", "import sys; from conformance.cli import main; sys.exit(main())", "run", "--no-html"]


def run(*args: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([*CLI, "--reports", tmp, "--seed", "7", *args], cwd=ROOT, capture_output=True)
        path = Path(tmp) / "outcomes.json"
        results = json.loads(path.read_text())["results"] if path.exists() else []
    counts = {k: sum(o["outcome"] == k for o in results) for k in ("passed", "warning", "failed", "broken", "error")}
    named = {
        kind: sorted({c for o in results if o["outcome"] == kind for c in o["failed_claims"]})
        for kind in ("failed", "warning")
    }
    return {"code": proc.returncode, **counts, "named": named}


def reading_row(name: str) -> str:
    r = READINGS[name]
    got = run("--mock-reading", name, *[a for v in r.vendors for a in ("--vendor", v)])
    vendors = "all" if len(r.vendors) == 4 else ", ".join(r.vendors)
    return (
        f"| `{name}` | {vendors} | {got['code']} | {got['passed']} | {got['warning']} | "
        f"{got['failed'] + got['broken'] + got['error']} | {r.varies} |"
    )


def fault_row(name: str) -> str:
    vendor = one_vendor(name)
    got = run("--mock-fault", name, "--vendor", vendor)
    index = specs.claim_index()
    expected = sorted(c for c in FAULTS[name].claims if index[c].vendor in (vendor, specs.RFC))
    failed, warned = got["named"]["failed"], got["named"]["warning"]
    shown = [
        f"**{c}**" if c in failed else f"{c} (warning)" if c in warned else f"~~{c}~~ (not named)" for c in expected
    ]
    baseline = sorted({index[c].baseline.id for c in expected if c in failed and index[c].baseline})
    return f"| `{name}` | {vendor} | {got['code']} | {', '.join(shown)} | {', '.join(baseline)} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    args = parser.parse_args()
    with ThreadPoolExecutor(args.jobs) as pool:
        readings = list(pool.map(reading_row, READINGS))
        faults = list(pool.map(fault_row, CONFORMANCE_FAULTS))
    print("| reading | vendors | exit | passed | warning | failed/broken/error | the guess it varies |")
    print("|---|---|---:|---:|---:|---:|---|")
    print("\n".join(readings))
    print()
    print("| fault | vendor | exit | claims it must break (**failed**, warning) | baseline its failed claims cite |")
    print("|---|---|---:|---|---|")
    print("\n".join(faults))
    return 0


if __name__ == "__main__":
    sys.exit(main())
