"""The protected resource: valid Bearer tokens, the malformed-Authorization matrix and JWT tampering."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from conformance import jwtutil, specs
from conformance.cookies import cookie_header, cookies_set
from conformance.session import VendorSession, bearer

MATRIX = specs.authorization_matrix()
FOREIGN_KEY = "another-issuer-signing-key-0123456789abcdef"


@pytest.mark.capability("bearer")
def test_valid_bearer_token_accepted(v: VendorSession) -> None:
    resp = v.probe(f"Bearer {v.token().value}")
    v.check("bearer_token_accepted", resp)


@pytest.mark.capability("bearer")
def test_cookie_set_by_the_api_is_not_a_credential(v: VendorSession) -> None:
    """Cookies the API sets (at issuance or on an accepted call) sent back alone, with no Authorization header."""
    tok = v.issue()
    accepted = v.probe(f"Bearer {tok.value}")
    cookies = cookies_set([tok.response.header_list, accepted.header_list])
    for value in cookies.values():
        v.redactor.add(value)
    import allure

    allure.dynamic.parameter("cookies set by the API", str(len(cookies)))
    resp = v.probe(headers={"Cookie": cookie_header(cookies)} if cookies else None)
    v.check("cookie_not_accepted_as_credential", resp)


def _token_for(v: VendorSession, row: dict[str, Any]) -> str:
    kind = row.get("token", "valid")
    if kind == "expired":
        tok = v.issue()
        v.advance_clock(v.lifetime + 1)
        return tok.value
    if kind == "revoked":
        tok = v.issue()
        spec = v.profile["signout"]
        v.require("signout_accepted", v.http.request(spec["method"], spec["path"], headers=bearer(tok.value)))
        return tok.value
    return v.token().value


def _foreign_jwt(token: str) -> str:
    claims = jwtutil.safe_claims(token) or {"sub": "someone", "iat": 0, "exp": 2**31}
    return jwt.encode({**claims, "iss": "https://issuer.example"}, FOREIGN_KEY, algorithm="HS256")


def _render(template: str, token: str) -> str:
    half = len(token) // 2
    return (
        template.replace("{token_truncated}", token[:-10])
        .replace("{token_head}", token[:half])
        .replace("{token_tail}", token[half:])
        .replace("{foreign_jwt}", _foreign_jwt(token))
        .replace("{long}", "A" * 9000)
        .replace("{token}", token)
    )


@pytest.mark.capability("bearer")
@pytest.mark.parametrize("row", MATRIX, ids=[r["id"] for r in MATRIX])
def test_authorization_header_variant(v: VendorSession, row: dict[str, Any]) -> None:
    needs = row.get("needs")
    if needs == "clock" and not v.movable_clock:
        pytest.skip(
            f"{v.vendor}: the {row['id']!r} row needs a movable clock (covered by the expiry scenario on real targets)"
        )
    if needs and needs != "clock" and not v.profile.has(needs):
        pytest.skip(f"{v.vendor}: the {row['id']!r} row needs the {needs!r} capability")
    import allure

    allure.dynamic.parameter("variant", row["id"])
    token = _token_for(v, row)
    if "headers" in row:
        resp = v.probe_raw([(b"Authorization", _render(h, token).encode()) for h in row["headers"]])
    elif row.get("header") is None:
        resp = v.probe()
    elif row.get("raw"):
        resp = v.probe_raw([(b"Authorization", _render(row["header"], token).encode("utf-8"))])
    else:
        resp = v.probe(_render(row["header"], token))
    for name in row["checks"]:
        if name == "no_secret_echo":
            v.check(name, resp, [token])
        else:
            v.check(name, resp)


JWT_ATTACKS = {
    "alg-none-lower": ("jwt_alg_none_rejected", lambda t: jwtutil.alg_none(t, "none")),
    "alg-none-capital": ("jwt_alg_none_rejected", lambda t: jwtutil.alg_none(t, "None")),
    "alg-none-upper": ("jwt_alg_none_rejected", lambda t: jwtutil.alg_none(t, "NONE")),
    "alg-none-mixed": ("jwt_alg_none_rejected", lambda t: jwtutil.alg_none(t, "nOnE")),
    "signature-stripped": ("jwt_signature_stripped_rejected", jwtutil.strip_signature),
    "signature-altered": ("jwt_signature_altered_rejected", jwtutil.alter_signature),
    "exp-extended": (
        "jwt_claims_edited_rejected",
        lambda t: jwtutil.edit_claims(t, exp=int(jwtutil.numeric_claim(jwtutil.payload(t), "exp") or 0) + 365 * 86400),
    ),
    "sub-edited": ("jwt_claims_edited_rejected", lambda t: jwtutil.edit_claims(t, sub="admin")),
    "resigned-guessed-key": ("jwt_weak_key_rejected", lambda t: jwtutil.resign(t, "secret", sub="admin")),
    "resigned-default-key": ("jwt_weak_key_rejected", lambda t: jwtutil.resign(t, "your-256-bit-secret")),
}


@pytest.mark.capability("jwt")
@pytest.mark.parametrize("attack", list(JWT_ATTACKS))
def test_tampered_jwt_rejected(v: VendorSession, attack: str) -> None:
    import allure

    allure.dynamic.parameter("attack", attack)
    check, forge = JWT_ATTACKS[attack]
    token = v.token().value
    if not jwtutil.looks_like_jwt(token) or jwtutil.well_formed_problem(token):
        pytest.skip(f"{v.vendor}: the issued token is not a well-formed JWT (token_is_jwt reports it)")
    forged = forge(token)
    v.redactor.add(forged)
    resp = v.probe(f"Bearer {forged}")
    v.check(check, resp)
    v.check("bad_input_no_server_error", resp)
    v.check("invalid_token_error_code", resp)
