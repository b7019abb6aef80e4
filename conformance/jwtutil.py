"""Reading JWTs without trusting them, and forging the tampered variants the attack scenarios send."""

from __future__ import annotations

import base64
import json
import math
import re
import warnings
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning


class MalformedJWT(ValueError):
    """A token shaped like a JWT whose header or payload cannot be read as the format requires."""


_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def looks_like_jwt(token: str) -> bool:
    """Three segments whose header is a JSON object with an alg (the payload may still be malformed)."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        head = decode_segment(parts[0])
    except ValueError:
        return False
    return isinstance(head, dict) and "alg" in head


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_segment(segment: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # Deeply nested JSON exhausts the parser's recursion: a malformed segment like any other.
        raise ValueError(f"not a base64url JSON segment: {type(exc).__name__}") from None


def header(token: str) -> dict[str, Any]:
    head = decode_segment(token.split(".")[0]) if looks_like_jwt(token) else None
    if not isinstance(head, dict):
        raise MalformedJWT("the header is not a JSON object")
    return head


def payload(token: str) -> dict[str, Any]:
    """The claims, unverified; MalformedJWT when the payload is not a base64url JSON object."""
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedJWT("not three dot-separated segments")
    try:
        claims = decode_segment(parts[1])
    except ValueError as exc:
        raise MalformedJWT(f"the payload is {exc}") from None
    if not isinstance(claims, dict):
        raise MalformedJWT(f"the payload is a JSON {type(claims).__name__}, not an object")
    return claims


def well_formed_problem(token: str) -> str | None:
    """Why `token` is not a compact JWS with a JSON-object payload and finite numeric iat/exp, or None."""
    if not _COMPACT.fullmatch(token):
        return "characters outside base64url and '.' (or not three segments)"
    try:
        claims = payload(token)
    except MalformedJWT as exc:
        return str(exc)
    bad = [name for name in ("iat", "exp") if numeric_claim(claims, name) is None]
    if bad:
        return f"iat and exp must be finite numbers (RFC 7519 NumericDate); not so: {bad}"
    return None


def numeric_claim(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2), or None when it is missing, not a number, infinite or NaN."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return value


def safe_claims(token: str) -> dict[str, Any]:
    """The claims where the payload is a JSON object, else {} (a malformed token is then treated as opaque)."""
    try:
        return payload(token)
    except MalformedJWT:
        return {}


def lifetime(token: str) -> int | None:
    """exp - iat in seconds, or None where either claim is missing or not a finite number."""
    claims = safe_claims(token)
    exp, iat = numeric_claim(claims, "exp"), numeric_claim(claims, "iat")
    return int(exp - iat) if exp is not None and iat is not None else None


def _encode(head: dict[str, Any], body: dict[str, Any]) -> str:
    return ".".join(
        [
            b64url(json.dumps(head, separators=(",", ":")).encode()),
            b64url(json.dumps(body, separators=(",", ":")).encode()),
        ]
    )


def alg_none(token: str, alg: str = "none") -> str:
    """The same claims with alg set to a spelling of "none" and no signature (RFC 8725 §2.1)."""
    head = {**header(token), "alg": alg}
    return _encode(head, payload(token)) + "."


def strip_signature(token: str) -> str:
    head, body, _sig = token.split(".")
    return f"{head}.{body}."


def alter_signature(token: str) -> str:
    head, body, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)) or b"\0")
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}.{b64url(bytes(raw))}"


def edit_claims(token: str, **changes: Any) -> str:
    """Claims edited, original signature kept: a verifier that checks signatures must refuse it."""
    head, _body, sig = token.split(".")
    body = {**payload(token), **changes}
    return f"{head}.{b64url(json.dumps(body, separators=(',', ':')).encode())}.{sig}"


GUESSED_KEYS = ("secret", "changeme", "your-256-bit-secret")


def resign(token: str, key: str = "secret", **changes: Any) -> str:
    """Claims (optionally edited) re-signed with HS256 and a guessed key."""
    body = {**payload(token), **changes}
    with warnings.catch_warnings():
        # Short keys are the point of this attack.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(body, key, algorithm="HS256", headers={"typ": "JWT"})
