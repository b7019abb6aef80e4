"""The /_mock/ control API: reset, clock, faults, request log, issued secrets and info (mocks only)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.mock import bodies, faults
from conformance.mock.bodies import Reject

if TYPE_CHECKING:
    from conformance.mock.app import Mock


def routes(mock: Mock) -> list[Route]:
    def endpoint(fn):  # type: ignore[no-untyped-def]
        async def call(request: Request) -> Response:
            try:
                return await fn(mock, request)
            except Reject as reject:
                body = {"error": reject.error, "error_description": reject.description}
                return JSONResponse(body, status_code=reject.status)

        return call

    return [
        Route("/reset", endpoint(reset), methods=["POST"]),
        Route("/clock", endpoint(clock), methods=["GET", "POST"]),
        Route("/faults", endpoint(faults_), methods=["GET", "PUT"]),
        Route("/log", endpoint(log), methods=["GET"]),
        Route("/issued", endpoint(issued), methods=["GET"]),
        Route("/info", endpoint(info), methods=["GET"]),
    ]


def _bad(description: str) -> Reject:
    return Reject(400, "invalid_request", description, cause="body")


async def _optional_json(request: Request) -> dict[str, Any]:
    body = await bodies.read(request)
    if not body.strip():
        return {}
    return await bodies.json_body(request)


async def reset(mock: Mock, request: Request) -> Response:
    """Forget tokens, keys, log and clock; faults go back to those set at start, or to none with {"faults": true}."""
    data = await _optional_json(request)
    clear = data.get("faults", False)
    if not isinstance(clear, bool):
        raise _bad("faults must be true or false")
    mock.reset(clear_faults=clear)
    return JSONResponse({"reset": True, "faults": list(mock.state.faults), "now": mock.state.clock.now()})


async def clock(mock: Mock, request: Request) -> Response:
    """Read the clock, or move it with {"advance": seconds} or {"set": epoch seconds}."""
    c = mock.state.clock
    if request.method == "POST":
        data = await bodies.json_body(request)
        if len(data) != 1 or not data.keys() <= {"advance", "set"}:
            raise _bad('send exactly one of {"advance": seconds} or {"set": epoch seconds}')
        ((op, value),) = data.items()
        if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > 1e11:
            raise _bad(f"{op} must be a finite number of seconds")
        if op == "set" and value < 0:
            raise _bad("set must be a non-negative epoch time")
        c.advance(value) if op == "advance" else c.set(value)
    return JSONResponse({"now": c.now(), "mode": c.mode})


async def faults_(mock: Mock, request: Request) -> Response:
    """Read the active faults and this vendor's catalogue, or replace the active set with {"faults": [...]}."""
    if request.method == "PUT":
        data = await bodies.json_body(request)
        names = data.get("faults")
        if not isinstance(names, list):
            raise _bad('send {"faults": [names]}')
        try:
            mock.set_faults(names)
        except faults.FaultError as exc:
            raise _bad(str(exc)) from None
    catalogue = [
        {
            "name": f.name,
            "description": f.description,
            "claims": list(faults.claims_broken(f, mock.vendor)),
            "kind": f.kind,
            "hook": f.hook,
        }
        for f in faults.CATALOGUE
        if faults.applies(f, mock.vendor)
    ]
    return JSONResponse({"faults": list(mock.state.faults), "catalogue": catalogue})


async def log(mock: Mock, request: Request) -> Response:
    """The request log (secrets redacted), optionally only entries after ?since=<seq>."""
    since = request.query_params.get("since", "0")
    if not since.isdigit():
        raise _bad("since must be a whole number")
    entries = [e for e in mock.state.log if e["seq"] > int(since)]
    return JSONResponse({"entries": entries, "internal_errors": mock.state.internal_errors})


async def issued(mock: Mock, request: Request) -> Response:
    """Every token and key string issued since the server started, for the suite's secret-leak self-test."""
    return JSONResponse({"issued": list(mock.state.issued)})


async def info(mock: Mock, request: Request) -> Response:
    s = mock.state
    return JSONResponse(
        {
            "vendor": mock.vendor,
            "title": mock.profile.title,
            "credentials": list(s.credentials),
            "lifetimes": dict(s.lifetimes),
            "faults": list(s.faults),
            "clock": {"mode": s.clock.mode, "now": s.clock.now()},
            "tls": mock.tls,
            "requests": s.requests,
            "internal_errors": s.internal_errors,
        }
    )
