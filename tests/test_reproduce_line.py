"""A contract failure's "Reproduce this test" line runs as printed, from another folder, and fails the same way."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import specs


@pytest.mark.slow
def test_reproduce_line_runs_as_printed(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if k != specs.SPECS_ENV and not k.startswith("PYTEST_")}
    cmd = [sys.executable, "-m", "conformance.cli", "run", "--vendor", "opsnow", "--mock-fault", "wrong-content-type"]
    cmd += ["--no-html", "--reports", str(reports)]
    subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    texts = [r["statusDetails"].get("message", "") for r in results if r.get("statusDetails")]
    lines = [m.group(1) for t in texts for m in re.finditer(r"Reproduce this test:\n\s+(.+)", t)]
    assert lines, "no contract failure printed a reproduce line"
    line = next(line for line in lines if "POST /platform/v2/identity/api-keys/token" in line)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = subprocess.run(
        shlex.split(line),
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=600,
        env={**env, "PATH": os.environ["PATH"]},
    )
    assert again.returncode == 1, again.stdout[-2000:] + again.stderr[-2000:]
    assert "1 failed" in again.stdout and "content_type_conformance" in again.stdout, again.stdout[-2000:]
    assert "test_operation[opsnow][POST /platform/v2/identity/api-keys/token]" in again.stdout
