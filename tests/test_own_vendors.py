"""Vendors of one's own: --specs DIR / CONFORMANCE_SPECS_DIR add or override vendors, validated like built-in data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import cli, specs

ROOT = Path(__file__).resolve().parents[1]


def conformance(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != specs.SPECS_ENV}
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env={**environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture
def own(tmp_path: Path) -> Path:
    """A folder with one vendor of one's own: a copy of opsnow named acme."""
    folder = tmp_path / "my-specs"
    shutil.copytree(specs.SPECS_DIR / "opsnow", folder / "acme")
    for name in ("claims.yaml", "profile.yaml"):
        path = folder / "acme" / name
        path.write_text(path.read_text().replace("vendor: opsnow", "vendor: acme"))
    return folder


def test_specs_adds_a_vendor_and_keeps_the_built_in_ones(own: Path, tmp_path: Path) -> None:
    proc = conformance("claims", "--specs", str(own), "--vendor", "acme,klavi", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    vendors = {line.split()[0] for line in proc.stdout.splitlines()[1:]}
    assert vendors == {"acme", "klavi"}
    by_env = conformance("claims", "--vendor", "acme", cwd=tmp_path, env={specs.SPECS_ENV: str(own)})
    assert by_env.returncode == 0 and "acme " in by_env.stdout


def test_bad_data_of_ones_own_gets_the_same_one_line_error(own: Path, tmp_path: Path) -> None:
    profile = own / "acme" / "profile.yaml"
    profile.write_text(profile.read_text().replace("capabilities: [", "capabilities: [teleport, "))
    proc = conformance("run", "--specs", str(own), "--vendor", "acme", "--no-html", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"{own / 'acme' / 'profile.yaml'} at capabilities/0" in proc.stderr, proc.stderr
    missing = conformance("claims", "--specs", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and "no such folder" in missing.stderr and missing.stderr.count("\n") == 1


def test_a_vendor_folder_overrides_the_built_in_one_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "override"
    shutil.copytree(specs.SPECS_DIR / "klavi", folder / "klavi")
    claims = folder / "klavi" / "claims.yaml"
    claims.write_text(claims.read_text().replace("KLAVI-AUTH-001", "KLAVI-AUTH-901"))
    monkeypatch.setenv(specs.SPECS_ENV, str(folder))
    specs.clear_caches()
    try:
        ids = {c.id for c in specs.load_claims("klavi")}
        assert "KLAVI-AUTH-901" in ids and "KLAVI-AUTH-001" not in ids
        assert specs.vendor_dir("klavi") == folder / "klavi" and specs.vendor_dir("opsnow").parent == specs.SPECS_DIR
        assert specs.vendors() == ["klavi", "klearstack", "knowledgestack", "opsnow"]
    finally:
        monkeypatch.delenv(specs.SPECS_ENV)
        specs.clear_caches()


def test_claims_with_a_missing_outcomes_file_is_an_error(tmp_path: Path) -> None:
    proc = conformance("claims", "--outcomes", "MISSING", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "conformance: error: --outcomes MISSING: no such file (a run writes reports/outcomes.json)\n"


def test_claims_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`conformance claims | head`: the reader is gone before the first line; no BrokenPipeError, no traceback."""
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "claims"],
        cwd=tmp_path, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
    )  # fmt: skip
    os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 0


def test_unknown_fault_points_to_the_catalogue_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--mock-fault", "bogus", "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "`conformance mock --list-faults`" in err
    assert cli.main(["mock", "--list-faults"]) == 0
    listing = capsys.readouterr().out
    assert "never-expire  [conformance; every vendor]" in listing and "breaks: RFC7519-4.1.4-EXP" in listing
    assert "intermittent-503 (=unavailable_every value)" in listing
