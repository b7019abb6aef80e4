"""SIGTERM and SIGHUP end a run like Ctrl-C: reports for what ran, mocks and workers stopped, no TLS material left."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conformance.mock.server import MockServer

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from conformance.cli import main; sys.exit(main())", "run"]


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment carries `marker` (the run and every worker it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("sig,workers", [(signal.SIGTERM, "2"), (signal.SIGHUP, None)], ids=["sigterm-n2", "sighup"])
def test_terminated_run_reports_what_ran_and_leaves_nothing_behind(
    tmp_path: Path, sig: signal.Signals, workers: str | None
) -> None:
    reports, tmp = tmp_path / "reports", tmp_path / "tmp"
    tmp.mkdir()
    marker = f"CONFORMANCE_SIGNAL_TEST={uuid.uuid4().hex}"
    args = [*CLI, "--reports", str(reports), "--no-html", "--no-contract"]
    if workers:
        args += ["-n", workers]
    # slow-responses keeps the run busy long enough to be interrupted in the middle.
    args += ["--mock-fault", "slow-responses=0.2"]
    env = {**os.environ, "TMPDIR": str(tmp), marker.split("=")[0]: marker.split("=")[1]}
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results = reports / "allure-results"
    deadline = time.monotonic() + 120
    # Interrupt once some tests have finished and the KlearStack mock's TLS material exists.
    while time.monotonic() < deadline:
        done = len(list(results.glob("*-result.json"))) if results.exists() else 0
        if done >= 8 and list(tmp.glob("mock-klearstack-*")):
            break
        assert proc.poll() is None, proc.communicate()[0][-2000:]
        time.sleep(0.05)
    else:
        pytest.fail("the run never got going")
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 128 + sig, out[-2000:]
    assert "Traceback" not in out
    # Reports for what ran: JUnit, outcomes and the summary.
    outcomes = json.loads((reports / "outcomes.json").read_text())["results"]
    assert len(outcomes) >= 8
    assert (reports / "junit.xml").exists() and "<testcase" in (reports / "junit.xml").read_text()
    assert (reports / "summary.md").exists()
    # Mocks stopped everywhere: no TLS material left, no worker outliving the run.
    deadline = time.monotonic() + 15
    while (processes_with(marker) or list(tmp.glob("mock-*"))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(tmp.glob("mock-*")) == []
    assert processes_with(marker) == []


def test_tls_key_files_are_readable_by_their_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    old = os.umask(0o022)
    try:
        with MockServer("klearstack") as server:
            folder = Path(server.ca_path or "").parent
            assert folder.parent == tmp_path
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
            assert modes["key.pem"] == 0o600 and modes["cert.pem"] == 0o600, modes
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert not folder.exists()
    finally:
        os.umask(old)


def test_signals_become_keyboard_interrupt_and_keep_their_exit_code() -> None:
    code = (
        "import os, signal, sys\n"
        "from conformance import signals\n"
        "signals.install()\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    import time; time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(signals.exit_code())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
