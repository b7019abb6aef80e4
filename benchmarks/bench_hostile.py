"""Time and peak memory of `conformance run` against a target answering every request with a hostile body.

A loopback server (tests/test_limits.py's) answers every request of a Klavi target with one behaviour: `huge`
(100 MB, declared), `huge-undeclared` (100 MB, read to the close), `endless` (a chunked body that never ends) or
`drip` (a body one byte at a time). The run is four tests with the contract part on (token issuance, a Bearer
call, the two contract operations), in a subprocess whose peak RSS is read from the kernel's accounting of
terminated children. Each behaviour runs in its own process of this script, so one peak never hides another.

    python benchmarks/bench_hostile.py [--mode huge ...] [--deadline 60] [--max-response-bytes 4194304]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ["huge", "huge-undeclared", "endless", "drip"]


def measure(mode: str, deadline: float, cap: int) -> dict[str, object]:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_limits import Hostile, serve_hostile

    srv, url = serve_hostile()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cfg = work / "hostile.toml"
        cfg.write_text(
            f"[targets.hostile]\nretry_budget = 0\ndeadline = {deadline}\nmax_response_bytes = {cap}\n"
            f'[targets.hostile.klavi]\nbase_url = "{url}/{mode}"\n'
            'credentials = { access_key = { env = "BENCH_ACCESS" }, secret_key = { env = "BENCH_SECRET" } }\n',
            encoding="utf-8",
        )
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from conformance.cli import main; sys.exit(main())",
                "run",
                "--target",
                "hostile",
                "--config",
                str(cfg),
                "--vendor",
                "klavi",
                "--reports",
                str(work / "reports"),
                "--no-html",
                "--",
                "-k",
                "issued_with_documented_shape or valid_bearer_token_accepted or test_operation",
            ],
            cwd=work,
            capture_output=True,
            text=True,
            env={**os.environ, "BENCH_ACCESS": "bench-access", "BENCH_SECRET": "bench-secret"},
            timeout=3600,
        )
        took = time.monotonic() - started
    Hostile.stop.set()
    srv.shutdown()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    verdict = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
    return {
        "mode": mode,
        "exit": proc.returncode,
        "seconds": round(took, 1),
        "peak_rss_mib": round(peak),
        "run": verdict,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", action="append", choices=MODES)
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--max-response-bytes", type=int, default=4 * 1024 * 1024)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.deadline, args.max_response_bytes)))
        return
    print("| target sends | exit | seconds | peak RSS (MiB) | run |\n|---|---|---|---|---|")
    for mode in args.mode or MODES:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                mode,
                "--deadline",
                str(args.deadline),
                "--max-response-bytes",
                str(args.max_response_bytes),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {r['mode']} | {r['exit']} | {r['seconds']} | {r['peak_rss_mib']} | {r['run']} |")


if __name__ == "__main__":
    main()
