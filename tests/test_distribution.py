"""The product as a user gets it: sdist and wheel built, the wheel installed in a fresh venv, run elsewhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="the HTML report needs Node.js (CI has Node 20)")


def _clean_env(**extra: str) -> dict[str, str]:
    # Nothing of this checkout may leak into the installed product's run.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CONFORMANCE_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    return {**env, **extra}


def _outcomes(reports: Path) -> dict[str, str]:
    return {
        o["nodeid"].split("::", 1)[-1]: o["outcome"]
        for o in json.loads((reports / "outcomes.json").read_text())["results"]
    }


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist, and a wheel built from that sdist (so the sdist is proven to carry everything too)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, text=True, timeout=600, env=_clean_env(),
    )  # fmt: skip
    return {"sdist": next(out.glob("*.tar.gz")), "wheel": next(out.glob("*.whl"))}


def test_the_wheel_carries_every_file_read_at_run_time(dists: dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(dists["wheel"]).namelist())
    expected = {
        f"conformance/_specs/{p.relative_to(ROOT / 'specs').as_posix()}"
        for p in (ROOT / "specs").rglob("*")
        if p.suffix in (".yaml", ".json")
    }
    assert {
        "conformance/_specs/_rfc/authorization-matrix.yaml",
        "conformance/_specs/schemas/profile.schema.json",
    } <= expected
    assert not expected - names, sorted(expected - names)[:5]
    assert {"conformance/report/tool/package.json", "conformance/report/tool/package-lock.json"} <= names
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "conformance").rglob("*.py")}
    assert not {f"{p}/__init__.py" for p in packages} - names, "a subpackage is missing from the wheel"


@pytest.mark.slow
@needs_node
def test_the_installed_wheel_runs_the_main_job_from_any_folder(dists: dict[str, Path], tmp_path: Path) -> None:
    """pip install of the wheel (real dependencies) into a fresh venv, then `conformance run` with its HTML report."""
    started = time.monotonic()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(dists["wheel"])],
        check=True, capture_output=True, text=True, timeout=900, env=_clean_env(),
    )  # fmt: skip
    installed = time.monotonic()
    work = tmp_path / "somewhere" / "else"
    work.mkdir(parents=True)
    run = subprocess.run(
        [str(venv / "bin" / "conformance"), "run", "--seed", "7"],
        cwd=work, capture_output=True, text=True, timeout=900, env=_clean_env(),
    )  # fmt: skip
    ran = time.monotonic()
    output = run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 0, output
    assert "Traceback" not in output
    assert (work / "reports" / "allure-report" / "index.html").is_file(), output
    assert (work / "reports" / "junit.xml").is_file() and (work / "reports" / "summary.md").is_file()
    assert sorted(p.name for p in work.iterdir()) == ["reports"]  # no node_modules, no caches in the user's folder
    assert not list((venv / "lib").rglob("node_modules"))  # nor in site-packages
    probe = subprocess.run(
        [str(py), "-c", "import conformance.specs as s; print(s.SPECS_DIR)"],
        cwd=work, capture_output=True, text=True, timeout=60, env=_clean_env(),
    )  # fmt: skip
    assert probe.stdout.startswith(str(venv)), probe.stdout + probe.stderr  # the installed data, not this checkout's
    installed_outcomes = _outcomes(work / "reports")
    assert set(installed_outcomes.values()) <= {"passed", "skipped"} and len(installed_outcomes) > 200
    # The same results as the checkout with the same seed (the checkout's run without HTML, which does not judge).
    checkout = tmp_path / "checkout-reports"
    subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--seed", "7", "--no-html", "--reports", str(checkout)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=_clean_env(),
    )  # fmt: skip
    assert installed_outcomes == _outcomes(checkout)
    print(f"install {installed - started:.1f} s, installed run with HTML {ran - installed:.1f} s")
