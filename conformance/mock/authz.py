"""Reading the Authorization header (RFC 6750 §2.1, RFC 9110 §11.1) and writing Bearer challenges (§3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.mock.faults import Policy

MAX_AUTHORIZATION = 8192
# RFC 9110 token (the scheme), then 1*SP, then RFC 6750 b64token.
_SCHEME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CREDENTIALS = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+)( +)(.*)", re.DOTALL)
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_LENIENT = re.compile(r"bearer[ \t,:]+([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)


@dataclass(frozen=True)
class AuthProblem(Exception):
    """Why a request carries no usable Bearer token.

    `presented` tells whether a Bearer token was attempted: only then does the challenge carry
    error="invalid_token" (RFC 6750 §3.1: no error code when credentials are absent or use another scheme).
    `malformed` marks a header that breaks the grammar (as opposed to a missing one).
    """

    description: str
    presented: bool
    malformed: bool


def parse_authorization(values: list[str], policy: Policy) -> str:
    """The bearer token of a request's Authorization header(s), or AuthProblem."""
    if values and policy.lenient_authorization:
        found = _LENIENT.search(values[0])
        if found:
            return found.group(1)
    if not values:
        raise AuthProblem("No Authorization header", presented=False, malformed=False)
    if len(values) > 1:
        raise AuthProblem("More than one Authorization header", presented=True, malformed=True)
    value = values[0].strip(" ")
    if not value:
        raise AuthProblem("Empty Authorization header", presented=False, malformed=True)
    bearerish = value[:6].lower() == "bearer"
    if len(value) > MAX_AUTHORIZATION:
        raise AuthProblem("Authorization header too long", presented=bearerish, malformed=True)
    if not _PRINTABLE.fullmatch(value):
        raise AuthProblem(
            "Authorization header holds characters outside printable ASCII", presented=bearerish, malformed=True
        )
    match = _CREDENTIALS.fullmatch(value)
    if match is None:
        if _SCHEME.fullmatch(value) and value.lower() == "bearer":
            raise AuthProblem("No token after the Bearer scheme", presented=True, malformed=True)
        if policy.any_scheme and _B64TOKEN.fullmatch(value):
            return value
        raise AuthProblem("Authorization scheme must be Bearer", presented=False, malformed=False)
    scheme, spaces, token = match.groups()
    is_bearer = scheme == "Bearer" if policy.scheme_case_sensitive else scheme.lower() == "bearer"
    if not is_bearer and not policy.any_scheme:
        raise AuthProblem("Authorization scheme must be Bearer", presented=False, malformed=False)
    if policy.single_space_only and len(spaces) > 1:
        raise AuthProblem("Malformed Authorization header", presented=True, malformed=True)
    if not _B64TOKEN.fullmatch(token):
        raise AuthProblem("Malformed bearer token", presented=True, malformed=True)
    return token


def challenge(realm: str, error: str | None = None, description: str | None = None) -> str:
    """A Bearer challenge; error and description are plain fixed strings, never request data."""
    parts = [f'Bearer realm="{realm}"']
    if error:
        parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{_quoted(description)}"')
    return ", ".join(parts)


def _quoted(text: str) -> str:
    # RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
    return "".join(c for c in text if c in " !" or ("#" <= c <= "~" and c != "\\"))
