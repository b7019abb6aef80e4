"""`conformance new-vendor NAME`: valid files with TODOs, runnable against the generated mock at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import specs


def conformance(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != specs.SPECS_ENV and not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )


@pytest.mark.slow
def test_new_vendor_scaffolds_files_that_run_against_the_generated_mock(tmp_path: Path) -> None:
    made = conformance("new-vendor", "acme", "--dir", "mine", "--title", "Acme Cloud", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "mine" / "acme"
    assert sorted(p.name for p in folder.iterdir()) == ["claims.yaml", "openapi.yaml", "profile.yaml"]
    for name in ("claims.yaml", "openapi.yaml", "profile.yaml"):
        text = (folder / name).read_text()
        assert "TODO" in text and text.startswith("#"), f"{name} says what to fill in"
    assert "title: Acme Cloud" in (folder / "profile.yaml").read_text()
    assert "conformance run --specs mine --vendor acme" in made.stdout
    ran = conformance("run", "--specs", "mine", "--vendor", "acme", "--no-html", "--seed", "5", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert " passed" in ran.stdout.splitlines()[-1] and "failed" not in ran.stdout.splitlines()[-1]


def test_new_vendor_refuses_bad_names_and_existing_files(tmp_path: Path) -> None:
    bad = conformance("new-vendor", "Acme-1", "--dir", "mine", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "lower-case letters" in bad.stderr
    assert conformance("new-vendor", "acme", "--dir", "mine", cwd=tmp_path).returncode == 0
    profile = tmp_path / "mine" / "acme" / "profile.yaml"
    profile.write_text(profile.read_text() + "# mine\n")
    again = conformance("new-vendor", "acme", "--dir", "mine", cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr and "nothing was written" in again.stderr
    assert profile.read_text().endswith("# mine\n")
