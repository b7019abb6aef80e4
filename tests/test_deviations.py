"""Known deviations: an explained failure is expected (not a non-conformance); one that stops happening is reported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import specs

ROOT = Path(__file__).resolve().parents[1]
DEVIATIONS = """deviations:
  - claim: KLAVI-AUTH-008
    check: expired_token_rejected
    targets: [mock]
    reason: The sandbox keeps tokens alive for a grace period (vendor ticket 1234).
    since: 2026-11-01
  - claim: RFC6750-3.1-INVALID-TOKEN
    check: invalid_token_error_code
    targets: [mock]
    reason: Same grace period; the 200 carries no challenge.
    since: 2026-11-01
"""


def run(specs_dir: Path, tmp_path: Path, *faults: str) -> dict[str, str]:
    out = tmp_path / "outcomes.json"
    args = [
        sys.executable,
        "-m",
        "pytest",
        "conformance/scenarios/test_expiry.py",
        "-k",
        "expires_after",
        "-q",
        "-p",
        "no:cacheprovider",
        "--vendor",
        "klavi",
        "--outcomes",
        str(out),
    ]
    for f in faults:
        args += ["--mock-fault", f]
    subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CONFORMANCE_SPECS_DIR": str(specs_dir)},
    )
    return {o["nodeid"].split("::")[-1]: o["outcome"] for o in json.loads(out.read_text())["results"]}


@pytest.fixture
def specs_with_deviation(tmp_path: Path) -> Path:
    copy = tmp_path / "specs"
    shutil.copytree(specs.SPECS_DIR, copy)
    (copy / "klavi" / "deviations.yaml").write_text(DEVIATIONS)
    return copy


def test_explained_failure_is_a_known_deviation(specs_with_deviation: Path, tmp_path: Path) -> None:
    outcomes = run(specs_with_deviation, tmp_path, "never-expire")
    assert outcomes == {"test_token_expires_after_its_lifetime[klavi]": "deviation"}


def test_same_failure_without_deviation_is_a_failure(tmp_path: Path) -> None:
    outcomes = run(specs.SPECS_DIR, tmp_path, "never-expire")
    assert outcomes == {"test_token_expires_after_its_lifetime[klavi]": "failed"}


def test_deviation_that_stopped_happening_is_reported(specs_with_deviation: Path, tmp_path: Path) -> None:
    outcomes = run(specs_with_deviation, tmp_path)
    assert outcomes == {"test_token_expires_after_its_lifetime[klavi]": "warning"}


def test_deviation_file_is_validated(specs_with_deviation: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (specs_with_deviation / "klavi" / "deviations.yaml").write_text("deviations:\n  - claim: X\n")
    monkeypatch.setattr(specs, "SPECS_DIR", specs_with_deviation)
    with pytest.raises(specs.SpecError, match="deviations.yaml"):
        specs.load_deviations("klavi")
