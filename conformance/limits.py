"""Bounds on one HTTP exchange, whatever the target sends: a total deadline and a response-size cap."""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from conformance import specs

CHUNK = 64 * 1024


def _default(name: str) -> Any:
    return specs._schema("config")["$defs"][name]["default"]


@dataclass(frozen=True)
class Limits:
    """The most one request may cost: seconds from sending to the last body byte, and body bytes read."""

    deadline: float = field(default_factory=lambda: float(_default("deadline")))
    max_response_bytes: int = field(default_factory=lambda: int(_default("max_response_bytes")))


class LimitExceeded(requests.exceptions.RequestException):
    """A request stopped by a limit: infrastructure (the target's answer could not be judged), never a verdict."""


class ResponseTooLarge(LimitExceeded):
    pass


class DeadlineExceeded(LimitExceeded):
    pass


def too_large(cap: int, declared: int | None = None) -> ResponseTooLarge:
    said = f" (it declared {declared} bytes)" if declared is not None else ""
    return ResponseTooLarge(
        f"response body larger than the cap of {cap} bytes{said}: not read further "
        "(max_response_bytes in conformance.toml, or --max-response-bytes)"
    )


def overdue(limit: float) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"no complete response within the deadline of {limit:g} s (the body may drip or never end; "
        "deadline in conformance.toml, or --request-deadline)"
    )


def _shutdown(sock: Any) -> None:
    """Wake a thread blocked reading `sock`: the read returns end-of-stream at once (TLS sockets included)."""
    if sock is None:
        return
    # socket.socket's own shutdown: an SSLSocket's would also drop its TLS state under the reading thread.
    with contextlib.suppress(OSError, ValueError, TypeError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Guard:
    """The deadline of one request: when it passes, every socket the request uses is shut down."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.due = time.monotonic() + limit
        self.expired = False
        self.done = False
        self._watched: list[Callable[[], Any]] = []  # each returns the socket to shut down, or None if not yet open
        self._lock = threading.Lock()

    def watch(self, get_socket: Callable[[], Any]) -> None:
        with self._lock:
            self._watched.append(get_socket)
            if not self.expired:
                return
        _shutdown(get_socket())

    def check(self) -> None:
        if self.expired:
            raise overdue(self.limit)

    def remaining(self) -> float:
        return max(0.0, self.due - time.monotonic())

    def fire(self) -> bool:
        """Shut the request's sockets; True when one was still connecting (look again shortly)."""
        with self._lock:
            self.expired = True
            socks = [get() for get in self._watched]
        for sock in socks:
            _shutdown(sock)
        return any(s is None for s in socks)

    def __enter__(self) -> Guard:
        _WATCHDOG.add(self, self.due)
        _CURRENT.guard = self
        return self

    def __exit__(self, *exc: object) -> None:
        self.done = True
        _CURRENT.guard = None


class _Watchdog:
    """One daemon thread for every deadline of the process (a timer thread per request would cost more)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Guard]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, guard: Guard, when: float) -> None:
        with self._cond:
            seq = next(self._seq)
            if seq % 1024 == 0:
                # Finished requests wait in the heap until their deadline comes up: drop them now and then.
                self._heap = [e for e in self._heap if not e[2].done]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (when, seq, guard))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="request-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is guard:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                when, _, guard = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
            if not guard.done and guard.fire():
                self.add(guard, time.monotonic() + 0.05)


_WATCHDOG = _Watchdog()
_CURRENT = threading.local()


def current_guard() -> Guard | None:
    return getattr(_CURRENT, "guard", None)


class _GuardedPool:
    """A connection pool whose connections are watched by the deadline of the request in progress."""

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        guard = current_guard()
        if guard is not None:
            # A retry after the deadline would start the clock again: stop here instead.
            guard.check()
            guard.watch(lambda: getattr(conn, "sock", None))
        return super()._make_request(conn, *args, **kwargs)  # type: ignore[misc]


class GuardedHTTPConnectionPool(_GuardedPool, HTTPConnectionPool):
    pass


class GuardedHTTPSConnectionPool(_GuardedPool, HTTPSConnectionPool):
    pass


POOLS = {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}


class BoundedAdapter(HTTPAdapter):
    """requests' adapter that ends every request at its deadline and never holds more than the size cap.

    The body is read here in chunks (whatever `stream` the caller asked for), so every caller of the session,
    Schemathesis included, gets a response whose content is already bounded.
    """

    def __init__(self, limits: Limits | None = None, **kwargs: Any) -> None:
        self.limits = limits or Limits()
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(POOLS)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(*args, **kwargs)
        manager.pool_classes_by_scheme = dict(POOLS)
        return manager

    def send(self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any) -> requests.Response:
        with Guard(self.limits.deadline) as guard:
            try:
                response = super().send(request, stream=True, **kwargs)
            except LimitExceeded:
                raise
            except requests.RequestException:
                if guard.expired:
                    raise overdue(guard.limit) from None
                raise
            try:
                response._content = read_capped(response, self.limits.max_response_bytes, guard)
            except BaseException:
                response.close()
                raise
            response._content_consumed = True
        return response


def read_capped(response: requests.Response, cap: int, guard: Guard) -> bytes:
    """The (decoded) body, read in chunks: more than `cap` bytes, or the deadline passing, stops the read."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large(cap, int(declared))
    body = bytearray()
    try:
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > cap:
                raise too_large(cap)
            guard.check()
    except LimitExceeded:
        raise
    except requests.RequestException:
        if guard.expired:
            raise overdue(guard.limit) from None
        raise
    guard.check()
    return bytes(body)


def read_http_client(response: Any, cap: int, guard: Guard) -> bytes:
    """The same bound for an http.client response (raw requests over a socket of our own)."""
    declared = response.getheader("Content-Length") or ""
    if declared.isdigit() and int(declared) > cap:
        raise too_large(cap, int(declared))
    body = bytearray()
    while True:
        try:
            chunk = response.read1(CHUNK)
        except (OSError, http.client.HTTPException):
            guard.check()
            raise
        guard.check()
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > cap:
            raise too_large(cap)
