"""Hostile and broken loopback servers for the canary self-tests, and the search of a run's text for canaries.

A `HostileServer` answers every request with what its `behaviour` returns for it: a `Reply` (any status, reason
phrase, headers, body), raw bytes written as they are (a garbage status line), or `HANG` (read the request,
answer nothing until the server stops: the client's read timeout). Behaviours here cover redirects, outages and
echoes of the credentials in every form; other tests add their own (a slow drip, an endless body) the same way.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

ROOT = Path(__file__).resolve().parents[1]
HANG = object()


@dataclass
class Request:
    """What the hostile server received."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str | None = None


Behaviour = Callable[[Request], Any]


class HostileServer:
    """A threaded HTTP server on a free loopback port; every request is logged, then answered by `behaviour`."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.received: list[Request] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, list(self.headers.items()), body)
                server.received.append(req)
                answer = server.behaviour(req)
                if answer is HANG:
                    server.stopping.wait(60)
                    self.close_connection = True
                    return
                if isinstance(answer, bytes):
                    self.wfile.write(answer)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                reply: Reply = answer
                payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                # Raw status line: the reason phrase may carry anything the behaviour wants echoed.
                reason = reply.reason if reply.reason is not None else self.responses.get(reply.status, ("",))[0]
                self.wfile.write(f"HTTP/1.1 {reply.status} {reason}\r\n".encode("latin-1", "replace"))
                names = {k.lower() for k, _ in reply.headers}
                headers = list(reply.headers)
                if "content-type" not in names:
                    headers.append(("Content-Type", "application/json"))
                headers.append(("Content-Length", str(len(payload))))
                for k, v in headers:
                    self.wfile.write(f"{k}: {v}\r\n".encode("latin-1", "replace"))
                self.wfile.write(b"\r\n" + payload)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle  # noqa: N815

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


def refused_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- canaries ---------------------------------------------------------------------------------------------------


def canary() -> str:
    """A unique secret with the characters that escape differently in JSON, URLs, Python reprs and base64.
    No word in it (a vendor's name, "password"): the search would find them in any report."""
    return f'cnry-{uuid.uuid4().hex[:16]}"\\/+ &=%z'


def forms(secret: str) -> set[str]:
    """Every form a secret may take in text: raw, JSON- and repr-escaped, URL-encoded, base64 (any alignment)."""
    out = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)}
    raw = secret.encode()
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            core = enc(b"\0" * pad + raw).decode().rstrip("=")
            # Drop the characters that depend on what precedes or follows the secret.
            core = core[(pad * 4 + 2) // 3 :]
            out.add(core[: len(core) - 2])
    return {f for f in out if len(f) >= 8}


FLOOR = 8  # the shortest fragment of a secret that must never appear (the suite's documented floor)


def find_canaries(secrets: list[str], places: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(where, fragment) for every FLOOR-long piece of any form of any secret found in the texts."""
    grams: dict[str, str] = {}
    for secret in secrets:
        for form in forms(secret):
            for i in range(len(form) - FLOOR + 1):
                window = form[i : i + FLOOR]
                if not window.isalpha():  # a lone word is not a leak (the suite's documented exception)
                    grams.setdefault(window, secret[:12])
    hits = []
    for where, text in places:
        for i in range(len(text) - FLOOR + 1):
            if text[i : i + FLOOR] in grams:
                hits.append((where, text[max(0, i - 20) : i + FLOOR + 20]))
                break
    return hits


def run_texts(reports: Path, console: str) -> list[tuple[str, str]]:
    """The console and every file under the reports folder (junit.xml, Allure results, summaries) as text."""
    return [("console", console)] + [
        (str(p.relative_to(reports)), p.read_text(encoding="utf-8", errors="replace"))
        for p in sorted(reports.rglob("*"))
        if p.is_file()
    ]


# --- running the suite against a hostile target -------------------------------------------------------------------


def write_config(
    path: Path, vendor: str, base_url: str, credentials: dict[str, str], **settings: Any
) -> dict[str, str]:
    """A conformance.toml with one target `hostile`; returns the environment holding the credentials."""
    env = {}
    lines = ["[targets.hostile]"]
    for key, value in settings.items():
        lines.append(f"{key} = {json.dumps(value)}")
    lines += [f"[targets.hostile.{vendor}]", f'base_url = "{base_url}"', f"[targets.hostile.{vendor}.credentials]"]
    for name, value in credentials.items():
        var = f"HOSTILE_{vendor}_{name}".upper()
        env[var] = value
        lines.append(f'{name} = {{ env = "{var}" }}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env


@dataclass
class Run:
    code: int
    console: str
    outcomes: list[dict[str, Any]]
    reports: Path

    def kinds(self) -> set[str]:
        return {o["outcome"] for o in self.outcomes}


def run_suite(workdir: Path, config: Path, env: dict[str, str], vendor: str, *args: str, timeout: float = 300) -> Run:
    """`conformance run` on the hostile target, contract part on, from `workdir` (console captured)."""
    reports = workdir / "reports"
    cmd = [
        sys.executable,
        "-c",
        "import sys; from conformance.cli import main; sys.exit(main())",
        "run",
        "--target",
        "hostile",
        "--config",
        str(config),
        "--vendor",
        vendor,
        "--reports",
        str(reports),
        "--budget",
        "dev",
        "--no-html",
        *args,
    ]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env={**os.environ, **env})
    out = reports / "outcomes.json"
    outcomes = json.loads(out.read_text())["results"] if out.exists() else []
    return Run(proc.returncode, proc.stdout + proc.stderr, outcomes, reports)


def iter_forms(secret: str) -> Iterator[str]:
    yield from sorted(forms(secret))
