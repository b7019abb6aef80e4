"""The one HTTP layer under every scenario: timeouts, budgeted retries honouring Retry-After, redaction, recording."""

from __future__ import annotations

import copy
import http.client
import json
import shlex
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from conformance.cookies import refuse_cookies
from conformance.failures import InfrastructureError
from conformance.limits import BoundedAdapter, Guard, LimitExceeded, Limits, read_http_client
from conformance.redact import Redactor

# Statuses that mean "the vendor is not able to answer now": retried, then reported as infrastructure.
OUTAGE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass
class Budget:
    """Per-vendor limits for one run: requests sent, retries spent, and the longest Retry-After honoured."""

    max_requests: int = 100_000
    max_retries: int = 40
    max_retry_wait: float = 10.0
    requests: int = 0
    retries: int = 0
    # The circuit breaker: once set, every later request of the vendor raises this instead of being sent.
    stopped: Exception | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stop(self, cause: Exception) -> None:
        """Open the circuit: the vendor gets no more requests in this process; the first cause is kept."""
        with self._lock:
            if self.stopped is None:
                self.stopped = cause

    def raise_if_stopped(self) -> None:
        if self.stopped is not None:
            # A copy without the first raise's traceback: each test reports the cause, not the stack that found it.
            raise copy.copy(self.stopped).with_traceback(None)

    def spend_request(self, vendor: str) -> None:
        self.raise_if_stopped()
        with self._lock:
            if self.requests >= self.max_requests:
                raise InfrastructureError(
                    f"{vendor}: request budget of {self.max_requests} exhausted "
                    "(raise request_budget in conformance.toml)"
                )
            self.requests += 1

    def spend_retry(self) -> bool:
        with self._lock:
            if self.retries >= self.max_retries:
                return False
            self.retries += 1
            return True


class BudgetedRetry(Retry):
    """urllib3's Retry (backoff, Retry-After) that also draws on a shared per-vendor budget and caps waits."""

    def __init__(self, *args: Any, budget: Budget | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget or Budget()

    def new(self, **kw: Any) -> BudgetedRetry:
        new = super().new(**kw)
        new.budget = self.budget
        return new

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
        if not self.budget.spend_retry():
            # Out of retry budget: behave as if the retries were exhausted.
            return super().new(total=-1).increment(*args, **kwargs)
        return super().increment(*args, **kwargs)

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        if wait is not None and wait > self.budget.max_retry_wait:
            raise InfrastructureError(
                f"rate limited: Retry-After {wait:.0f}s exceeds the budget's {self.budget.max_retry_wait:.0f}s"
            )
        return wait


def retry_policy(budget: Budget) -> BudgetedRetry:
    """The one retry policy: outages and rate limits retried with backoff, Retry-After honoured, within `budget`."""
    return BudgetedRetry(
        total=4,
        connect=3,
        read=1,
        status=3,
        backoff_factor=0.2,
        backoff_max=2.0,
        status_forcelist=sorted(OUTAGE_STATUSES),
        # Outage statuses mean the request was not processed, so even POSTs are safe to repeat.
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
        budget=budget,
    )


class NoRedirectSession(requests.Session):
    """A requests session that never follows a redirect, whatever its caller asks: a 3xx is the answer under test,
    and a request's credentials (body, Authorization, cookies) never leave the configured origin."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)


def is_redirect(status: int | None) -> bool:
    return status is not None and 300 <= status < 400


def redirect_note(exchange: Exchange) -> str | None:
    """The security note for a redirect the suite did not follow (None when the exchange is not one)."""
    if not is_redirect(exchange.status):
        return None
    location = next((v for k, v in exchange.response_headers if k.lower() == "location"), "(no Location)")
    return (
        f"{exchange.method} {exchange.path} answered {exchange.status} to a request the suite sent with its "
        f"credentials, redirecting to {location}. Not followed: a client that follows it sends the credentials "
        "to wherever the Location points (RFC 9110 §15.4: a client must not blindly follow redirects with "
        "credentials)."
    )


@dataclass
class Exchange:
    """One redacted request/response pair, ready to attach to a report."""

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str
    status: int | None
    response_headers: list[tuple[str, str]]
    response_body: str
    elapsed_ms: float
    attempts: int = 1
    error: str | None = None
    curl: str = ""

    @property
    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def title(self) -> str:
        return f"{self.method} {self.path} -> {self.status if self.status is not None else self.error}"

    def render(self) -> str:
        lines = [f"{self.method} {self.url}"]
        lines += [f"{k}: {v}" for k, v in self.request_headers]
        if self.request_body:
            lines += ["", self.request_body]
        lines += [
            "",
            f"--> {self.status if self.status is not None else 'no response'}"
            f" in {self.elapsed_ms:.0f} ms" + (f" after {self.attempts} attempts" if self.attempts > 1 else ""),
        ]
        if self.error:
            lines.append(f"error: {self.error}")
        lines += [f"{k}: {v}" for k, v in self.response_headers]
        if self.response_body:
            lines += ["", self.response_body[:4000] + (" …(truncated)" if len(self.response_body) > 4000 else "")]
        return "\n".join(lines)


class Recorder:
    """Collects the exchanges of the current test; the plugin drains it into report attachments."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def add(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def drain(self) -> list[Exchange]:
        out, self.exchanges = self.exchanges, []
        return out


@dataclass
class Response:
    """What a check sees: status, headers, body, and the redacted exchange for its failure message."""

    status: int
    headers: requests.structures.CaseInsensitiveDict
    content: bytes
    exchange: Exchange
    header_list: list[tuple[str, str]]

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except (ValueError, RecursionError):
            return None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.header_list if k.lower() == name.lower()]


def curl_line(method: str, url: str, headers: list[tuple[str, str]], body: str) -> str:
    parts = ["curl", "-sS", "-X", method, shlex.quote(url)]
    for k, v in headers:
        if k.lower() in ("user-agent", "accept-encoding", "connection", "content-length", "accept"):
            continue
        parts += ["-H", shlex.quote(f"{k}: {v}")]
    if body:
        parts += ["--data-binary", shlex.quote(body)]
    return " ".join(parts)


class HttpClient:
    """A requests.Session per vendor target with retries, a budget, redaction and a recorder."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        verify: bool | str = True,
        timeout: float = 15.0,
        budget: Budget | None = None,
        redactor: Redactor | None = None,
        recorder: Recorder | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.verify = verify
        self.timeout = timeout
        self.budget = budget or Budget()
        self.redactor = redactor or Redactor()
        self.recorder = recorder or Recorder()
        # Never follows a redirect, never sends back a cookie a vendor set: each request carries exactly the
        # credential it was given, and only to the configured origin.
        self.session = refuse_cookies(NoRedirectSession())
        self.limits = limits or Limits()
        retry = retry_policy(self.budget)
        adapter = BoundedAdapter(self.limits, max_retries=retry, pool_connections=4, pool_maxsize=4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = "auth-conformance-suite"
        # The environment (proxies, CA bundle) is read once here, not on every request; .netrc is never read:
        # it would add an Authorization header to the requests that must go without one.
        env = self.session.merge_environment_settings(self.base_url, {}, None, verify, None)
        self.session.trust_env = False
        self.session.proxies.update(env["proxies"])
        self.verify = env["verify"]
        self._raw_tls: ssl.SSLContext | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        data: Any = None,
        files: Any = None,
        content: bytes | str | None = None,
        outage_is_infrastructure: bool = True,
    ) -> Response:
        """Send one request; unreachable hosts, timeouts and outages after retries raise InfrastructureError."""
        self.budget.spend_request(self.vendor)
        url = self.url(path)
        req = requests.Request(
            method, url, headers=headers or {}, json=json_body, data=data if content is None else content, files=files
        )
        try:
            prepared = self.session.prepare_request(req)
        except requests.exceptions.InvalidHeader:
            # The library's message quotes the header value, which may be a token: never let it reach a report.
            raise ValueError(
                f"{method} {path}: a header value the HTTP library refuses to send (CR, LF or leading whitespace)"
            ) from None
        start = time.perf_counter()
        try:
            raw = self._send_reading_body(prepared)
        except LimitExceeded as exc:
            self._record_error(prepared, start, str(exc))
            raise InfrastructureError(f"{self.vendor}: {method} {path}: {exc}") from None
        except requests.exceptions.SSLError as exc:
            cause = self.redactor.text(_first_line(exc))
            self._record_error(prepared, start, f"TLS: {cause}")
            raise self._trip(
                InfrastructureError(
                    f"{self.vendor}: TLS handshake with {self.redactor.text(self.base_url)} failed: {cause}"
                )
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            # Exception texts quote what the server sent (a garbage status line echoing the request) and URLs.
            cause = self.redactor.text(_first_line(exc))
            self._record_error(prepared, start, cause)
            error = InfrastructureError(f"{self.vendor}: cannot reach {self.redactor.text(self.base_url)}: {cause}")
            raise (self._trip(error) if unreachable(exc) else error) from None
        except _BODY_ERRORS as exc:
            # A body cut short or that cannot be decoded (broken gzip) is a transport failure, not a verdict.
            cause = self.redactor.text(_first_line(exc))
            self._record_error(prepared, start, cause)
            raise InfrastructureError(
                f"{self.vendor}: {method} {path}: the response body broke off or could not be decoded: {cause}"
            ) from None
        except InfrastructureError:
            self._record_error(prepared, start, "Retry-After beyond budget")
            raise
        attempts = 1 + len(getattr(getattr(raw.raw, "retries", None), "history", ()) or ())
        response = self._record(prepared, raw, start, attempts)
        if outage_is_infrastructure and response.status in OUTAGE_STATUSES:
            raise InfrastructureError(
                f"{self.vendor}: {method} {path} answered {response.status} after {attempts} attempt(s) "
                "(outage or rate limit, not a conformance verdict)"
            )
        return response

    def _send_reading_body(self, prepared: requests.PreparedRequest) -> requests.Response:
        """session.send; a body that breaks off or cannot be decoded is sent again once, within the retry budget."""
        for attempt in (1, 2):
            try:
                return self.session.send(prepared, timeout=self.timeout, verify=self.verify, allow_redirects=False)
            except _BODY_ERRORS:
                # urllib3's retries end when the headers arrive; the body is read after them.
                if attempt == 2 or not self.budget.spend_retry():
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def raw_request(
        self, method: str, path: str, header_lines: list[tuple[bytes, bytes]], body: bytes = b""
    ) -> Response:
        """Send bytes requests would refuse to (CR/LF, tabs, non-ASCII, repeated headers) over a fresh connection.

        The same outage policy as request(): unreachable hosts and outage statuses are retried within the vendor's
        budget (Retry-After honoured), then raise InfrastructureError; never a verdict on the bytes sent.
        """
        self.budget.spend_request(self.vendor)
        parts = urlsplit(self.url(path))
        head = [
            f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1".encode(),
            b"Host: " + parts.netloc.encode(),
            b"Connection: close",
            b"User-Agent: auth-conformance-suite",
            b"Content-Length: " + str(len(body)).encode(),
        ]
        head += [k + b": " + v for k, v in header_lines]
        payload = b"\r\n".join(head) + b"\r\n\r\n" + body
        start = time.perf_counter()
        shown_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in header_lines]
        policy = retry_policy(self.budget)
        left = {"connect": policy.connect or 0, "read": policy.read or 0, "status": policy.status or 0}
        attempts = 0
        while True:
            attempts += 1
            try:
                status, header_list, content = self._raw_exchange(parts, method, payload)
            except LimitExceeded as exc:
                exchange = self._exchange(
                    method, self.url(path), shown_headers, body.decode("latin-1"), None, [], "", start, attempts
                )
                exchange.error = str(exc)
                self.recorder.add(exchange)
                raise InfrastructureError(f"{self.vendor}: raw {method} {path}: {exc}") from None
            except (OSError, http.client.HTTPException) as exc:
                kind = "connect" if isinstance(exc, ConnectionRefusedError | _RawConnectError) else "read"
                if left[kind] > 0 and self.budget.spend_retry():
                    left[kind] -= 1
                    time.sleep(_backoff(policy, attempts))
                    continue
                exchange = self._exchange(
                    method, self.url(path), shown_headers, body.decode("latin-1"), None, [], "", start, attempts
                )
                # The exception text may quote what the server sent (an echoed status line).
                cause = self.redactor.text(f"{type(exc).__name__}: {exc}")
                exchange.error = cause
                self.recorder.add(exchange)
                error = InfrastructureError(
                    f"{self.vendor}: raw request to {self.redactor.text(self.base_url)} failed: {cause}"
                )
                hung = isinstance(exc, TimeoutError | _RawConnectError | ConnectionRefusedError)
                raise (self._trip(error) if hung else error) from None
            if status in OUTAGE_STATUSES and left["status"] > 0:
                wait = _retry_after(policy, header_list)
                if wait is not None and wait > self.budget.max_retry_wait:
                    self._raw_record(method, path, shown_headers, body, status, header_list, content, start, attempts)
                    raise InfrastructureError(
                        f"rate limited: Retry-After {wait:.0f}s exceeds the budget's {self.budget.max_retry_wait:.0f}s"
                    )
                if self.budget.spend_retry():
                    left["status"] -= 1
                    time.sleep(wait if wait is not None else _backoff(policy, attempts))
                    continue
            response = self._raw_record(
                method, path, shown_headers, body, status, header_list, content, start, attempts
            )
            if status in OUTAGE_STATUSES:
                raise InfrastructureError(
                    f"{self.vendor}: {method} {path} (raw request) answered {status} after {attempts} attempt(s) "
                    "(outage or rate limit, not a conformance verdict)"
                )
            return response

    def _raw_exchange(self, parts: Any, method: str, payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        with Guard(self.limits.deadline) as guard:
            try:
                sock = socket.create_connection((host, port), timeout=self.timeout)
            except TimeoutError as exc:
                raise _RawConnectError(f"connect timed out: {exc}") from None
            except socket.gaierror as exc:
                raise _RawConnectError(f"name resolution failed: {exc}") from None
            guard.watch(lambda: sock)
            if parts.scheme == "https":
                sock = self._tls_context().wrap_socket(sock, server_hostname=host)
            with sock:
                sock.sendall(payload)
                resp = http.client.HTTPResponse(sock, method=method)
                try:
                    resp.begin()
                except (OSError, http.client.HTTPException):
                    guard.check()
                    raise
                content = read_http_client(resp, self.limits.max_response_bytes, guard)
                return resp.status, list(resp.getheaders()), content

    def _raw_record(
        self,
        method: str,
        path: str,
        shown_headers: list[tuple[str, str]],
        body: bytes,
        status: int,
        header_list: list[tuple[str, str]],
        content: bytes,
        start: float,
        attempts: int,
    ) -> Response:
        self.redactor.learn(content.decode("utf-8", "replace"), _content_type(header_list), header_list)
        exchange = self._exchange(
            method,
            self.url(path),
            shown_headers,
            body.decode("latin-1"),
            status,
            header_list,
            content.decode("utf-8", "replace"),
            start,
            attempts,
        )
        self.recorder.add(exchange)
        return Response(status, requests.structures.CaseInsensitiveDict(header_list), content, exchange, header_list)

    def _trip(self, error: InfrastructureError) -> InfrastructureError:
        """The vendor cannot be reached or does not answer: open its circuit, so no other test waits for it."""
        trip(self.budget, error)
        return error

    def _tls_context(self) -> ssl.SSLContext:
        # Loading the CA store takes ~15 ms: once per client, not once per raw request.
        if self._raw_tls is None:
            ctx = ssl.create_default_context(cafile=self.verify if isinstance(self.verify, str) else None)
            if self.verify is False:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._raw_tls = ctx
        return self._raw_tls

    def _body_text(self, prepared: requests.PreparedRequest) -> str:
        body = prepared.body
        if body is None:
            return ""
        if isinstance(body, bytes):
            return body.decode("utf-8", "replace")
        return str(body)

    def _exchange(
        self,
        method: str,
        url: str,
        req_headers: list[tuple[str, str]],
        req_body: str,
        status: int | None,
        resp_headers: list[tuple[str, str]],
        resp_body: str,
        start: float,
        attempts: int = 1,
    ) -> Exchange:
        r = self.redactor
        req_ctype = next((v for k, v in req_headers if k.lower() == "content-type"), "")
        resp_ctype = next((v for k, v in resp_headers if k.lower() == "content-type"), "")
        shown_req_headers = r.headers(req_headers)
        shown_req_body = r.body(req_body, req_ctype)
        return Exchange(
            method=method,
            url=r.text(url),
            request_headers=shown_req_headers,
            request_body=shown_req_body,
            status=status,
            response_headers=r.headers(resp_headers),
            response_body=r.body(resp_body, resp_ctype),
            elapsed_ms=(time.perf_counter() - start) * 1000,
            attempts=attempts,
            curl=curl_line(method, r.text(url), shown_req_headers, shown_req_body),
        )

    def _record(
        self, prepared: requests.PreparedRequest, raw: requests.Response, start: float, attempts: int
    ) -> Response:
        header_list = (
            list(raw.raw.headers.items()) if raw.raw is not None and raw.raw.headers else list(raw.headers.items())
        )
        # Tokens are learned from every response, whatever its media type claims (vnd.x+json, text/plain, forms).
        self.redactor.learn(raw.text, raw.headers.get("Content-Type", ""), header_list)
        exchange = self._exchange(
            prepared.method or "",
            prepared.url or "",
            list(prepared.headers.items()),
            self._body_text(prepared),
            raw.status_code,
            header_list,
            raw.text,
            start,
            attempts,
        )
        self.recorder.add(exchange)
        return Response(raw.status_code, raw.headers, raw.content, exchange, header_list)

    def _record_error(self, prepared: requests.PreparedRequest, start: float, error: str) -> None:
        exchange = self._exchange(
            prepared.method or "",
            prepared.url or "",
            list(prepared.headers.items()),
            self._body_text(prepared),
            None,
            [],
            "",
            start,
        )
        exchange.error = error
        self.recorder.add(exchange)

    def close(self) -> None:
        self.session.close()


_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


class _RawConnectError(OSError):
    """A raw request's connection could not be opened (timeout, name resolution)."""


def trip(budget: Budget, error: InfrastructureError) -> None:
    """Open a vendor's circuit with the first cause, so its remaining tests end broken without being sent."""
    text = str(error).removeprefix("INFRASTRUCTURE: ")
    budget.stop(InfrastructureError(f"{text} (circuit open: the vendor's remaining tests are not sent)"))


def unreachable(exc: BaseException) -> bool:
    """The host refused or never answered (not a connection the server dropped once): the circuit opens."""
    if isinstance(exc, requests.exceptions.Timeout | requests.exceptions.SSLError):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, Urllib3Timeout | NewConnectionError)


def _backoff(policy: Retry, attempt: int) -> float:
    """urllib3's backoff for the n-th consecutive failure: none before the first retry, then doubling, capped."""
    if attempt <= 1:
        return 0.0
    return float(min(policy.backoff_max, policy.backoff_factor * 2 ** (attempt - 1)))


def _retry_after(policy: Retry, header_list: list[tuple[str, str]]) -> float | None:
    value = next((v for k, v in header_list if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return float(policy.parse_retry_after(value))
    except Exception:  # noqa: BLE001 - an unparseable Retry-After is ignored, as urllib3 does
        return None


def _content_type(headers: list[tuple[str, str]]) -> str:
    return next((v for k, v in headers if k.lower() == "content-type"), "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
