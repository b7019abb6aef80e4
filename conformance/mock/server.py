"""Serving vendor mocks on real loopback sockets (uvicorn in a daemon thread), with TLS where the vendor needs it."""

from __future__ import annotations

import asyncio
import atexit
import errno
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests
import uvicorn

from conformance.mock import faults as faults_mod
from conformance.mock.app import MockError, build_app
from conformance.mock.middleware import MockApp

START_TIMEOUT = 10.0


# TLS material of the mocks of this process: removed at exit even if a server was never stopped.
_TLS_DIRS: set[str] = set()


@atexit.register
def _remove_tls_material() -> None:
    for folder in list(_TLS_DIRS):
        shutil.rmtree(folder, ignore_errors=True)
    _TLS_DIRS.clear()


def _write_private(path: Path, data: bytes) -> None:
    """A key file readable by its owner only (0600), whatever the umask; never briefly world-readable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


class MockServer:
    """One vendor mock behind a real HTTP(S) server on a loopback port.

    `faults` are fault names (or "name=value" for infrastructure faults); `lifetime` overrides the
    access-token lifetime (for real-wait tests with a running clock); `credentials` override the
    profile's mock credentials by name (the suite's canary credentials).
    """

    def __init__(
        self,
        vendor: str,
        *,
        faults: Iterable[str] = (),
        lifetime: int | None = None,
        clock: str = "frozen",
        credentials: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.vendor = vendor
        self.app: MockApp = build_app(vendor, faults=faults, lifetime=lifetime, clock=clock, credentials=credentials)
        self.host = host
        self.port = port
        self.tls = self.app.mock.tls
        self.ca_path: str | None = None
        self._dir: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._session: requests.Session | None = None

    @property
    def credentials(self) -> dict[str, str]:
        return dict(self.app.mock.state.credentials)

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise MockError(f"the {self.vendor} mock is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> MockServer:
        if self._server is not None:
            return self
        sock = self._bind()
        ssl: dict[str, Any] = {}
        if self.tls:
            ssl = self._certificate()
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_level="error",  # malformed requests are the point of some scenarios: no warning per request,
            access_log=False,
            http="h11",
            ws="none",
            proxy_headers=False,
            server_header=False,
            date_header=True,
            timeout_graceful_shutdown=3,
            **ssl,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"mock-{self.vendor}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                sock.close()
                self._server = None
                self._cleanup()
                raise MockError(f"the {self.vendor} mock did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        return self

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto must be IPPROTO_TCP or asyncio skips TCP_NODELAY, and keep-alive requests stall ~40 ms on
        # Nagle + delayed ACK (uvicorn writes headers and body separately).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise MockError(f"port {self.port} on {self.host} is busy; choose another with --port") from None
            raise MockError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        sock.listen(128)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        return sock

    def _certificate(self) -> dict[str, Any]:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        self._dir = tempfile.mkdtemp(prefix=f"mock-{self.vendor}-")
        _TLS_DIRS.add(self._dir)
        folder = Path(self._dir)
        ca.cert_pem.write_to_path(str(folder / "ca.pem"))
        _write_private(folder / "key.pem", cert.private_key_pem.bytes())
        _write_private(folder / "cert.pem", cert.private_key_and_cert_chain_pem.bytes())
        self.ca_path = str(folder / "ca.pem")
        return {"ssl_certfile": str(folder / "cert.pem"), "ssl_keyfile": str(folder / "key.pem")}

    def stop(self) -> None:
        self.signal_stop()
        if self._server is not None:
            if self._thread is not None:
                # A moment for in-flight requests; then idle keep-alive clients are not waited for.
                self._thread.join(timeout=0.3)
                if self._thread.is_alive():
                    self._server.force_exit = True
                    self._thread.join(timeout=5)
            self._server = None
            self._thread = None
        self._cleanup()

    def detach(self) -> None:
        """Ask the server to stop and forget it without waiting: its daemon thread closes the socket shortly.

        Nothing is in flight when the caller detaches, so idle connections are not waited for. A detached server
        keeps its port number but is not meant to be started again.
        """
        self.signal_stop()
        if self._server is not None:
            self._server.force_exit = True
        self._server = None
        self._thread = None
        self._cleanup()

    def signal_stop(self) -> None:
        """Ask the server to shut down without waiting; stop() then waits (several mocks stop in parallel)."""
        # Our own idle keep-alive connection would otherwise hold up the graceful shutdown (TLS close_notify).
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._server is not None:
            self._server.should_exit = True

    def _cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            _TLS_DIRS.discard(self._dir)
            self._dir = None
            self.ca_path = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Control API helpers: they go over HTTP like any client, so they also work across processes.

    def control(self, method: str, path: str, json: Any = None) -> Any:
        if self._session is None:
            self._session = requests.Session()
            # Loopback control calls: no proxies, and no CA bundle from the environment overriding ours.
            self._session.trust_env = False
        url = f"{self.base_url}/_mock/{path.lstrip('/')}"
        response = self._session.request(method, url, json=json, timeout=10, verify=self.ca_path or True)
        if response.status_code >= 400:
            raise MockError(f"/_mock/{path} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def reset(self, *, faults: bool = False) -> None:
        self.control("POST", "reset", {"faults": True} if faults else None)

    def reset_in_process(self) -> None:
        """What POST /_mock/reset does, without the HTTP round trip: for a client in this process (the suite).

        Runs on the server's event loop, so it never interleaves with a request the mock is still handling.
        """
        if self._server is None or not self._server.servers:
            raise MockError(f"the {self.vendor} mock is not started")
        loop = self._server.servers[0].get_loop()

        async def reset() -> None:
            self.app.mock.reset()

        asyncio.run_coroutine_threadsafe(reset(), loop).result(timeout=START_TIMEOUT)

    def advance(self, seconds: float) -> int:
        return self.control("POST", "clock", {"advance": seconds})["now"]

    def set_clock(self, epoch: float) -> int:
        return self.control("POST", "clock", {"set": epoch})["now"]

    def now(self) -> int:
        return self.control("GET", "clock")["now"]

    def set_faults(self, names: Iterable[str]) -> list[str]:
        return self.control("PUT", "faults", {"faults": list(names)})["faults"]

    def log(self) -> list[dict[str, Any]]:
        return self.control("GET", "log")["entries"]

    def issued(self) -> list[str]:
        return self.control("GET", "issued")["issued"]

    def info(self) -> dict[str, Any]:
        return self.control("GET", "info")


def start_mocks(
    vendors: Iterable[str],
    *,
    faults: Iterable[str] = (),
    port: int = 0,
    credentials: Mapping[str, Mapping[str, str]] | None = None,
    **kw: Any,
) -> dict[str, MockServer]:
    """Start one mock per vendor; each gets the faults that apply to it; a non-zero port counts up per vendor.

    `credentials` maps vendor -> {credential name: value}; `kw` (lifetime, clock, host) goes to every MockServer.
    """
    names = list(dict.fromkeys(vendors))
    wanted = list(faults)
    unknown = set(credentials or {}) - set(names)
    if unknown:
        raise MockError(f"credentials given for vendors not started: {', '.join(sorted(unknown))}")
    try:
        for spec in wanted:
            fault, _ = faults_mod.parse(spec)
            if not any(faults_mod.applies(fault, v) for v in names):
                raise MockError(f"fault {fault.name!r} applies to none of {', '.join(names)}")
    except faults_mod.FaultError as exc:
        raise MockError(str(exc)) from None
    servers: dict[str, MockServer] = {}
    try:
        for i, vendor in enumerate(names):
            mine = [s for s in wanted if faults_mod.applies(faults_mod.parse(s)[0], vendor)]
            servers[vendor] = MockServer(
                vendor, faults=mine, port=port + i if port else 0, credentials=(credentials or {}).get(vendor), **kw
            ).start()
    except BaseException:
        stop_mocks(servers.values())
        raise
    return servers


def stop_mocks(servers: Iterable[MockServer], *, wait: bool = True) -> None:
    """Stop several mocks at once: each takes about one tick of its event loop to notice.

    With wait=False the servers finish shutting down on their own threads (uvicorn takes ~0.15 s: a tick and a
    fixed grace period) while the caller goes on; their TLS material is removed at once, as it is only read at start.
    """
    servers = list(servers)
    for server in servers:
        server.signal_stop()
    for server in servers:
        if wait:
            server.stop()
        else:
            server.detach()
