"""`conformance mock`: usage errors are one line and exit 2; a run serves until stopped and exits 0."""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from conformance.mock import cli

ROOT = Path(__file__).resolve().parents[1]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault", "nope"], "unknown fault 'nope'"),
        (["--vendor", "acme"], "unknown vendor 'acme'"),
        (["--lifetime", "0"], "--lifetime must be a whole number"),
        (["--lifetime", "abc"], "--lifetime must be a whole number"),
        (["--port", "70000"], "--port must be a whole number"),
        (["--clock", "paused"], "--clock must be one of frozen, running"),
        (["--vendor", "klavi", "--fault", "multipart-rejected"], "applies to none of klavi"),
        (["--fault", "slow-responses=fast"], "needs a number of seconds"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv: list[str], message: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli.run(parse(*argv), out=out, err=err) == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("conformance mock: ")
    assert out.getvalue() == ""


def test_busy_port_exits_2() -> None:
    sock, port = busy_port()
    with sock:
        err = io.StringIO()
        assert cli.run(parse("--vendor", "opsnow", "--port", str(port)), out=io.StringIO(), err=err) == 2
        assert err.getvalue() == f"conformance mock: port {port} on 127.0.0.1 is busy; choose another with --port\n"


def test_serves_until_stopped_and_counts_ports_up() -> None:
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
    args = parse(
        "--vendor", "klavi", "--vendor", "opsnow", "--port", str(base), "--fault", "never-expire", "--lifetime", "60"
    )
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(cli.run(args, out=out, err=err, stop=stop)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while "Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        text = out.getvalue()
        assert f"klavi: http://127.0.0.1:{base}" in text and f"opsnow: http://127.0.0.1:{base + 1}" in text
        assert "access_key = mock-access-key" in text and "faults: never-expire" in text
        session = requests.Session()
        session.trust_env = False
        info = session.get(f"http://127.0.0.1:{base + 1}/_mock/info", timeout=5).json()
        assert info["clock"]["mode"] == "running" and info["lifetimes"]["access"] == 60
        session.close()
    finally:
        stop.set()
        thread.join(10)
    assert result == [0] and err.getvalue() == ""


def test_module_entry_point_reports_usage_errors_without_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [sys.executable, "-m", "conformance.mock", "--fault", "nope"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "unknown fault 'nope'" in done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_exits_0_cleanly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.mock", "--vendor", "klavi"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        assert lines[0].startswith("klavi: http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "mocks stopped" in out
