"""The outermost ASGI layer of a mock: request log with redaction, infrastructure faults, no unasked-for 5xx."""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.mock import bodies
from conformance.mock.core import MockState

if TYPE_CHECKING:
    from conformance.mock.app import Mock

CONTROL_PREFIX = "/_mock"
_LOG_BODY_LIMIT = 16 * 1024


class MockApp:
    """Outermost ASGI layer: request log, infrastructure faults, and the guarantee of no unasked-for 5xx."""

    def __init__(self, app: ASGIApp, mock: Mock) -> None:
        self.app = app
        self.mock = mock

    @property
    def state(self) -> MockState:
        return self.mock.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        # Starlette's router answers 404/405 through the exception handlers only inside an "app".
        scope["app"] = self
        path = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            await self._guarded(scope, receive, send, None)
            return
        state = self.state
        policy = self.mock.policy
        state.requests += 1
        n = state.requests
        state.served += 1
        run_n = state.served
        entry: dict[str, Any] = {"time": state.clock.now(), "method": scope["method"], "path": path}
        if scope.get("query_string"):
            entry["query"] = scope["query_string"].decode("latin-1")
        if policy.delay:
            await asyncio.sleep(policy.delay)
        if policy.drop_every and n % policy.drop_every == 0:
            # Logged first: the client sees the drop at once and may read the log before we are done.
            state.record(_redacted({**entry, "fault": "drop-connection"}, self.mock.secret_values()))
            await _drop(send)
            return
        try:
            if policy.probe_missing and path == self.mock.profile["probe"]["path"]:
                entry.update(fault="probe-missing", response={"status": 404})
                await _plain_error(send, 404, "not_found", "No such endpoint")
            elif policy.gateway_503_every and run_n % policy.gateway_503_every == 0:
                entry.update(fault="gateway-503", response={"status": 503})
                await _gateway_page(send)
            elif policy.truncate_every and run_n % policy.truncate_every == 0:
                entry["fault"] = "truncated-body"
                await self._guarded(scope, receive, _truncating(send), entry)
            elif policy.broken_gzip_every and run_n % policy.broken_gzip_every == 0 and _accepts_gzip(scope):
                entry["fault"] = "broken-gzip"
                await self._guarded(scope, receive, _broken_gzip(send), entry)
            elif policy.unavailable_every and n % policy.unavailable_every == 0:
                entry.update(fault="intermittent-503", response={"status": 503})
                await _plain_error(send, 503, "temporarily_unavailable", "Service unavailable, retry", "0")
            elif policy.rate_limit_every and n % policy.rate_limit_every == 0:
                entry.update(fault="rate-limit-429", response={"status": 429})
                await _plain_error(send, 429, "rate_limited", "Too many requests", "1")
            elif _declared_length(scope) > bodies.MAX_BODY:
                # Operations that take no body never read it; an oversize one is still refused.
                entry["response"] = {"status": 413}
                await _plain_error(send, 413, "invalid_request", "The request body is larger than 1 MiB")
            else:
                await self._guarded(scope, receive, send, entry)
        finally:
            state.record(_redacted(entry, self.mock.secret_values()))

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, entry: dict[str, Any] | None) -> None:
        started = False
        request_body = bytearray()
        response: dict[str, Any] = {}
        response_body = bytearray()

        async def receive_() -> Message:
            message = await receive()
            if entry is not None and message["type"] == "http.request" and len(request_body) < _LOG_BODY_LIMIT:
                request_body.extend(message.get("body", b"")[: _LOG_BODY_LIMIT - len(request_body)])
            return message

        async def send_(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                response["status"] = message["status"]
                response["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body" and len(response_body) < _LOG_BODY_LIMIT:
                response_body.extend(message.get("body", b"")[: _LOG_BODY_LIMIT - len(response_body)])
            await send(message)

        try:
            await self.app(scope, receive_, send_)
        except ClientDisconnect:
            # The client left mid-body (or uvicorn rejected its framing): there is no one to answer.
            if entry is not None:
                entry["client_disconnected"] = True
        except Exception as exc:
            # A mock bug must not look like a vendor 5xx: answer 400 and count it for the self-tests.
            self.state.internal_errors += 1
            if entry is not None:
                entry["internal_error"] = f"{type(exc).__name__}: {exc}"[:300]
            if not started:
                response.update(status=400)
                await _plain_error(send, 400, "invalid_request", "The request could not be processed")
        finally:
            if entry is not None:
                entry["request"] = _request_view(scope, bytes(request_body))
                entry["response"] = _response_view(response, bytes(response_body))


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length" and value.isdigit():
            return int(value)
    return 0


async def _plain_error(send: Send, status: int, error: str, description: str, retry_after: str | None = None) -> None:
    body = json.dumps({"error": error, "error_description": description}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", retry_after.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- robust ---
_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


async def _gateway_page(send: Send) -> None:
    """What a reverse proxy answers when the service behind it is down: HTML, no Retry-After."""
    headers = [(b"content-type", b"text/html"), (b"content-length", str(len(_GATEWAY_PAGE)).encode())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": _GATEWAY_PAGE})


def _accepts_gzip(scope: Scope) -> bool:
    return any(k.lower() == b"accept-encoding" and b"gzip" in v.lower() for k, v in scope["headers"])


def _truncating(send: Send) -> Send:
    """A send that declares the whole body, delivers half of it and closes the connection."""
    body = bytearray()

    async def send_(message: Message) -> None:
        if message["type"] == "http.response.start":
            await send(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                await send({"type": "http.response.body", "body": bytes(body[: len(body) // 2]), "more_body": True})
                await _drop(send)

    return send_


def _broken_gzip(send: Send) -> Send:
    """A send that labels the response gzip-encoded and delivers bytes that are not gzip."""
    start: dict[str, Any] = {}
    garbage = b"\x1f\x8b\x08\x00not-really-gzip" * 4

    async def send_(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length",)]
            headers += [(b"content-encoding", b"gzip"), (b"content-length", str(len(garbage)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": garbage})

    return send_


async def _drop(send: Send) -> None:
    """Close the connection without a byte of response."""
    # uvicorn hands the app its per-request cycle's bound `send`; the cycle holds the transport.
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("drop-connection needs the uvicorn server of MockServer")
    transport.abort()
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.001)


_SECRET_FIELD = re.compile(r"password|secret|key|token|authorization|credential", re.IGNORECASE)
_SECRET_VALUE = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?|ks_live_[A-Za-z0-9_-]+")
_SCHEME_WORD = re.compile(r"[A-Za-z]{1,20}")
REDACTED = "[redacted]"


def _redacted(value: Any, secrets: list[str]) -> Any:
    """The log entry with every credential, token and key replaced, by field name and by value."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and _SECRET_FIELD.search(k) and k != "authorization" and isinstance(v, str) and v:
                out[k] = REDACTED
            elif k == "authorization" and isinstance(v, str):
                scheme, _, rest = v.partition(" ")
                out[k] = f"{scheme} {REDACTED}" if rest and _SCHEME_WORD.fullmatch(scheme) else REDACTED
            else:
                out[k] = _redacted(v, secrets)
        return out
    if isinstance(value, list):
        return [_redacted(v, secrets) for v in value]
    if isinstance(value, str):
        value = value.encode("utf-8", "replace").decode("utf-8")
        value = _SECRET_VALUE.sub(REDACTED, value)
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    return value


def _request_view(scope: Scope, body: bytes) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for k, v in scope["headers"]:
        name = k.decode("latin-1").lower()
        if name in ("authorization", "content-type", "content-length", "accept"):
            text = v.decode("latin-1")
            headers[name] = f"{headers[name]}, {text}" if name in headers else text
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    return {"headers": headers, "body": _body_view(ctype, body)}


def _response_view(response: dict[str, Any], body: bytes) -> dict[str, Any]:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.get("headers", [])}
    view: dict[str, Any] = {"status": response.get("status")}
    if "content-type" in headers:
        view["content_type"] = headers["content-type"]
    if "www-authenticate" in headers:
        view["www_authenticate"] = headers["www-authenticate"]
    view["body"] = _body_view(view.get("content_type", "").split(";")[0].strip().lower(), body)
    return view


def _body_view(ctype: str, body: bytes) -> Any:
    if not body:
        return None
    try:
        if ctype == "application/json":
            return json.loads(body)
        if ctype == "application/x-www-form-urlencoded":
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (ValueError, RecursionError):
        pass
    return f"<{len(body)} bytes of {ctype or 'unknown type'}>"
