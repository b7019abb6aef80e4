"""Issuing and verifying the mocks' HS256 JWTs and Knowledge Stack API keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from conformance.mock.core import ApiKey, MockState
from conformance.mock.faults import Policy

ALGORITHM = "HS256"
API_KEY_PREFIX = "ks_live_"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class InvalidToken(Exception):
    """A presented token does not authenticate; the message is safe to show (it never holds the token)."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, and through which credential."""

    sub: str
    kind: str  # access | refresh | api_key | anonymous
    claims: dict[str, Any] | None = None
    key_id: str | None = None

    @property
    def jti(self) -> str | None:
        return (self.claims or {}).get("jti")


class Minter:
    """Signs and checks tokens with a secret of its own, so one vendor's tokens never work at another."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self._secret = secrets.token_bytes(32)
        # Malformed access tokens (a fault) are looked up by value, like opaque ones, and outlive resets like JWTs.
        self._malformed: dict[str, dict[str, Any]] = {}

    def issue(
        self,
        sub: str,
        typ: str,
        lifetime: int,
        *,
        iat: int | None = None,
        exp: int | None = None,
        opaque: bool = False,
        malformed: str = "",
    ) -> str:
        iat = self.state.clock.now() if iat is None else iat
        claims = {
            "sub": sub,
            "typ": typ,
            "iat": iat,
            "exp": iat + lifetime if exp is None else exp,
            "jti": secrets.token_hex(12),
        }
        if malformed:
            token = self._malformed_jwt(claims, malformed)
            self._malformed[token.strip()] = claims
        elif opaque:
            token = "at_" + secrets.token_urlsafe(32)
            self.state.opaque[token] = claims
        else:
            token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        self.state.issued.append(token)
        return token

    def _malformed_jwt(self, claims: dict[str, Any], variant: str) -> str:
        """A signed compact JWT whose payload breaks the format in the way `variant` (a fault's name) says."""
        text = json.dumps(claims, separators=(",", ":"))
        payloads = {
            "jwt-payload-not-json": "not json {" + text,
            "jwt-payload-list": f"[{text}]",
            "jwt-exp-infinite": text.replace(f'"exp":{claims["exp"]}', '"exp":1e999'),
            "jwt-exp-nan": text.replace(f'"exp":{claims["exp"]}', '"exp":NaN'),
            "jwt-payload-deep": text[:-1] + ',"x":' + "[" * 2000 + "]" * 2000 + "}",
            "token-trailing-newline": text,
        }
        head = _b64(json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":")).encode())
        signing_input = f"{head}.{_b64(payloads[variant].encode())}"
        signature = _b64(hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest())
        return f"{signing_input}.{signature}" + ("\n" if variant == "token-trailing-newline" else "")

    def claims_of(self, token: str) -> dict[str, Any]:
        """The claims of a token this mock just issued (read back, not checked)."""
        known = self.state.opaque.get(token) or self._malformed.get(token.strip())
        return known or jwt.decode(token, options={"verify_signature": False})

    def decode(self, token: str, policy: Policy) -> dict[str, Any]:
        """The claims of a JWT whose signature (and nothing else yet) checks out."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The token is not a valid JWT") from None
        alg = header.get("alg")
        try:
            if policy.accept_alg_none and isinstance(alg, str) and alg.lower() == "none":
                claims = jwt.decode(token, options={"verify_signature": False})
            elif not policy.check_signature:
                if alg != ALGORITHM:
                    raise InvalidToken("The token's algorithm is not accepted")
                claims = jwt.decode(token, options={"verify_signature": False})
            else:
                # Expiry is judged against the mock clock below, never PyJWT's real-time check.
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=[ALGORITHM],
                    options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
                )
        except jwt.InvalidAlgorithmError:
            raise InvalidToken("The token's algorithm is not accepted") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("The token's signature is invalid") from None
        except jwt.PyJWTError:
            raise InvalidToken("The token is not a valid JWT") from None
        if not _well_formed(claims):
            raise InvalidToken("The token lacks required claims")
        return claims

    def verify(self, token: str, policy: Policy, *, typ: str = "access", check_expiry: bool | None = None) -> Principal:
        """The principal behind a JWT of type `typ`, judged by signature, type, revocation and the mock clock."""
        claims = self.state.opaque.get(token) or self._malformed.get(token) or self.decode(token, policy)
        allowed = {typ} | ({"refresh"} if typ == "access" and policy.refresh_as_bearer else set())
        if claims["typ"] not in allowed:
            raise InvalidToken(f"The token is not {'an access' if typ == 'access' else 'a refresh'} token")
        if claims["jti"] in self.state.revoked:
            raise InvalidToken("The token has been revoked")
        if (policy.check_expiry if check_expiry is None else check_expiry) and self.state.clock.now() >= claims["exp"]:
            raise InvalidToken("The token expired" if typ == "access" else "The refresh token expired")
        return Principal(claims["sub"], claims["typ"], claims)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _well_formed(claims: Any) -> bool:
    if not isinstance(claims, dict):
        return False
    ints = all(type(claims.get(k)) is int for k in ("iat", "exp"))
    strings = all(isinstance(claims.get(k), str) for k in ("sub", "typ", "jti"))
    return ints and strings


def verify_api_key(state: MockState, secret: str, policy: Policy) -> Principal:
    key = state.key_by_secret(secret)
    if key is None:
        raise InvalidToken("Unknown API key")
    if key.deleted and not policy.deleted_keys_work:
        raise InvalidToken("The API key has been deleted")
    if policy.key_lifetime is not None and state.clock.now() >= key.created + policy.key_lifetime:
        raise InvalidToken("The API key expired")
    return Principal(key.owner, "api_key", key_id=key.id)


def new_api_key(state: MockState, name: str, owner: str) -> ApiKey:
    now = state.clock.now()
    key = ApiKey(
        id="key_" + _ulid(now), name=name, secret=API_KEY_PREFIX + secrets.token_urlsafe(32), owner=owner, created=now
    )
    state.api_keys[key.id] = key
    state.issued.append(key.secret)
    return key


def _ulid(now: int) -> str:
    # ULID layout (48-bit milliseconds, 80 random bits), lower-cased like the doc's "key_01j...".
    millis = now * 1000 + int(time.time() * 1000) % 1000
    value = (millis << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
