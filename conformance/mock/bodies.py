"""Reading request bodies defensively (size, media type, encoding, fields) and the `Reject` every 4xx starts as."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request

from conformance.mock.faults import Policy

MAX_BODY = 1 << 20
MAX_FIELDS = 100
JSON = "application/json"
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class Reject(Exception):
    """An error response in the making; `cause` lets the shared error hooks (faults) tell errors apart.

    Causes: body, credentials, missing (no credentials), malformed (Authorization grammar), token
    (a presented token that does not authenticate), refresh, forbidden, not_found, sso.
    """

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        *,
        cause: str,
        body: Mapping[str, Any] | None = None,
        presented: bool | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.cause = cause
        self.body = body
        # Whether a Bearer token was attempted: only then does a 401 challenge name error="invalid_token".
        self.presented = cause == "token" if presented is None else presented


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read(request: Request) -> bytes:
    """The whole body, refusing (413) anything over 1 MiB before and while reading it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large()
        chunks.append(chunk)
    body = b"".join(chunks)
    # Starlette's own form parser reads the cached body, not the spent stream.
    request._body = body
    return body


def too_large() -> Reject:
    return Reject(413, "invalid_request", "The request body is larger than 1 MiB", cause="body")


def _bad(description: str, status: int = 400) -> Reject:
    return Reject(status, "invalid_request", description, cause="body")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("The body is not valid UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise _bad("The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _bad("The body must be a JSON object")
    try:
        # "\ud800" escapes parse to lone surrogates, which no later encode() would survive.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("The body holds invalid Unicode (a lone surrogate)") from None
    return data


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def json_body(request: Request) -> dict[str, Any]:
    """A JSON object body: 413 if too big, 415 if not sent as JSON, 400 if absent or unparsable."""
    body = await read(request)
    kind = media_type(request)
    if not body and kind in ("", JSON):
        raise _bad("A JSON body is required")
    if kind != JSON:
        raise Reject(415, "invalid_request", "The body must be sent as application/json", cause="body")
    return _json_object(body)


async def form_body(request: Request, policy: Policy) -> dict[str, Any]:
    """Form fields from an urlencoded or multipart body: 413 if too big, 415 otherwise, 400 if unparsable."""
    body = await read(request)
    kind = media_type(request)
    if kind == URLENCODED or (not kind and not body):
        return _urlencoded(body)
    if kind == MULTIPART and policy.multipart_form:
        return await _multipart(request)
    if kind == JSON and policy.json_as_form:
        return _json_object(body)
    raise Reject(415, "invalid_request", "Parameters must be sent as form data", cause="body")


def _urlencoded(body: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise _bad("The form body is not valid urlencoded UTF-8") from None
    return _unique(pairs)


async def _multipart(request: Request) -> dict[str, Any]:
    try:
        form = await request.form(max_files=MAX_FIELDS, max_fields=MAX_FIELDS)
    except Exception:
        # python-multipart and Starlette raise several types for broken bodies; all are the client's.
        raise _bad("The multipart body is malformed") from None
    pairs: list[tuple[str, Any]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            raw = await value.read()
            try:
                value = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _bad(f"Form field {name} is not UTF-8 text") from None
        pairs.append((name, value))
    await form.close()
    return _unique(pairs)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated field becomes a list, which `strings` refuses only if the operation reads that field.
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    return fields


def strings(
    data: Mapping[str, Any], names: tuple[str, ...], *, status: int = 400, min_length: int = 0
) -> tuple[str, ...]:
    """The named fields, each required to be a string of at least `min_length` characters."""
    values = []
    for name in names:
        value = data.get(name)
        if value is None:
            raise _bad(f"{name} is required", status)
        if not isinstance(value, str):
            raise _bad(f"{name} must be a string", status)
        if len(value) < min_length:
            raise _bad(f"{name} must not be empty", status)
        values.append(value)
    return tuple(values)
